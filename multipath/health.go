package multipath

import "time"

// Health is how a path is doing: the share of its frames lost lately (the
// balancer spares a lossy path), how many it lost in a row, and whether
// it is out of use. A path that lost EjectAfter frames in a row is taken
// out, unless it is the last one up (that would only stall I/O); a path
// that is out carries no data, only a config query every ProbeInterval,
// until it answers. Those probes are timed by a QuerySchedule, the same
// type that times every other config query (see Queries): while the path
// is out it awaits an answer, at ProbeInterval.
//
// Time is passed in; a Health reads no clock and takes no lock.
type Health struct {
	loss      lossRate
	lostInRow int
	down      bool
	probes    QuerySchedule // awaiting an answer while down
}

// Path health tuning.
const (
	// EjectAfter lost frames in a row take a path out. Random loss of
	// even 10% makes eight in a row a one-in-10^8 event; a dead link makes
	// it within a few RTOs.
	EjectAfter = 8
	// ProbeInterval spaces the config queries that test a path that is
	// out, so a repaired link carries traffic again within a second or so.
	ProbeInterval = 500 * time.Millisecond
)

// OnReply counts a frame answered.
func (h *Health) OnReply() {
	h.lostInRow = 0
	h.loss.add(0)
}

// OnLoss counts a frame whose timer ran out.
func (h *Health) OnLoss() {
	h.lostInRow++
	h.loss.add(1)
}

// OnLate counts a late reply: the frame it answers was counted lost, and
// was not.
func (h *Health) OnLate() {
	h.lostInRow = 0
	h.loss.forget()
}

// LossRate is the share of recent frames lost, between 0 and 1.
func (h *Health) LossRate() float64 { return float64(h.loss) }

// LostInRow is how many frames were lost since the last answer.
func (h *Health) LostInRow() int { return h.lostInRow }

// Up reports whether the path is in use.
func (h *Health) Up() bool { return !h.down }

// ShouldEject reports whether the path is to be taken out now: it is up
// and lost EjectAfter frames in a row, and othersUp says another path to
// the target is up.
func (h *Health) ShouldEject(othersUp bool) bool {
	return !h.down && h.lostInRow >= EjectAfter && othersUp
}

// Eject takes the path out of use: it is probed from now on, at once
// unless a probe went out within ProbeInterval (the path was out a moment
// ago).
func (h *Health) Eject() {
	h.down = true
	h.probes.Retry = ProbeInterval
	h.probes.SetAwaiting(true)
}

// Readmit puts the path back in use: it answered.
func (h *Health) Readmit() {
	h.down, h.lostInRow = false, 0
	h.probes.SetAwaiting(false)
}

// ProbeDue reports whether a path that is out is to be probed at now, and
// if so counts the probe as sent.
func (h *Health) ProbeDue(now time.Time) bool {
	return h.down && h.probes.Due(now)
}

// lossRate is a moving share of a path's sends that timed out, over
// roughly the last lossSpan outcomes.
type lossRate float64

const lossSpan = 32

func (l *lossRate) add(lost float64) { *l += (lossRate(lost) - *l) / lossSpan }

// forget takes back a timeout that a late reply showed was no loss.
func (l *lossRate) forget() { *l = max(*l-1.0/lossSpan, 0) }
