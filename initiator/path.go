package initiator

import (
	"time"

	"github.com/goaoe/goaoe/initiator/wire"
)

// path is one way to a target: a local port and one of the target's MACs.
// It has its own window and RTT, because two NICs (or two target ports)
// need not be alike.
type path struct {
	port       Port
	mac        wire.MAC
	maxSectors int
	win        window
	rtt        rttEstimator
	loss       lossRate
	inflight   int
	lastCut    time.Time // when the window was last cut for a loss
	beforeCut  window    // the window as it was before that cut
	counters   PathCounters
	outbox     [][]byte // frames to send at the end of a pump
	// With a port that sends frames in parts, outbox holds their heads
	// and outdata their data.
	parts   PartsSender
	outdata [][]byte

	// A path that lost ejectAfter frames in a row is down: it carries no
	// data, only a config query every probeInterval, until it answers.
	down          bool
	timeoutsInRow int
	lastProbe     time.Time
}

// Path health tuning.
const (
	// ejectAfter lost frames in a row take a path out. Random loss of
	// even 10% makes eight in a row a one-in-10^8 event; a dead link makes
	// it within a few RTOs.
	ejectAfter = 8
	// probeInterval spaces the config queries that test a down path, so
	// a repaired link carries traffic again within a second or so.
	probeInterval = 500 * time.Millisecond
)

// lossRate is a moving share of a path's sends that timed out, over
// roughly the last lossSpan outcomes.
type lossRate float64

const (
	lossSpan = 32
	// lossWeight: a path losing 10% of its frames scores about half of a
	// clean one as fast; one losing half, a fifth.
	lossWeight = 8
)

func (l *lossRate) add(lost float64) { *l += (lossRate(lost) - *l) / lossSpan }

// forget takes back a timeout that a late reply showed was no loss.
func (l *lossRate) forget() { *l = max(*l-1.0/lossSpan, 0) }

// PathCounters count a path's frames.
type PathCounters struct {
	Sent          uint64 // frames put on the wire, retransmits included
	Retransmitted uint64
	Replies       uint64 // replies accepted
	Timeouts      uint64 // frames whose timer ran out
	SendErrors    uint64
}

// lossLocked cuts the window once per round trip however many frames of
// that round trip were lost: they are one congestion event, not many.
func (p *path) lossLocked(now time.Time) {
	if !p.lastCut.IsZero() && now.Sub(p.lastCut) < p.rtt.srtt {
		return
	}
	p.lastCut = now
	p.beforeCut = p.win
	p.win.onLoss()
}

// undoCutLocked restores the window if the last cut was caused by a send
// at or after sent that turned out not to be lost.
func (p *path) undoCutLocked(sent time.Time) {
	if p.lastCut.IsZero() || sent.After(p.lastCut) {
		return
	}
	p.win = p.beforeCut
	p.lastCut = time.Time{}
}

// otherPathUpLocked reports whether a path other than p could carry
// frames: taking out the last path would only stall I/O.
func (t *Target) otherPathUpLocked(p *path) bool {
	for _, q := range t.paths {
		if q != p && !q.down {
			return true
		}
	}
	return false
}

// pickPathLocked chooses the path for the next frame of count sectors: of
// those whose frames are that large, the one with the most free room in its
// window, scaled by how fast it answers, so a slow path takes a share in
// proportion to what it can carry. avoid is skipped when another path has
// room, so a retransmit tries a different way.
func (t *Target) pickPathLocked(avoid *path, count int) *path {
	// A path not measured yet is taken to be as fast as the fastest: it
	// must carry frames to be measured at all.
	var fastest time.Duration
	for _, p := range t.paths {
		if p.rtt.sampled && p.rtt.srtt > 0 && (fastest == 0 || p.rtt.srtt < fastest) {
			fastest = p.rtt.srtt
		}
	}
	var best *path
	var bestScore float64
	for _, p := range t.paths {
		if p.down || p.inflight >= p.win.size || p.maxSectors < count {
			continue
		}
		// A path's room is its window, within what its target port
		// may hold: when the port's cap binds, the window says nothing
		// of how loaded the path is.
		capacity := t.macCeilingLocked(p.mac)
		size := min(p.win.size, capacity)
		free := size - p.inflight
		if free <= 0 || t.macInflight[p.mac] >= capacity {
			continue
		}
		score := float64(free) / float64(size)
		switch {
		case p.rtt.sampled && p.rtt.srtt > 0:
			score /= p.rtt.srtt.Seconds()
		case fastest > 0:
			score /= fastest.Seconds()
		}
		// A lossy path keeps its window (see window), so it is the
		// picking that spares it: each loss costs a frame a timeout.
		score /= 1 + lossWeight*float64(p.loss)
		if p == avoid {
			score /= 1e9
		}
		if best == nil || score > bestScore {
			best, bestScore = p, score
		}
	}
	return best
}

// macCeilingLocked is how many frames a target port may have queued from
// us. Through one path, that path's ceiling: it probes past the buffer
// count. Through several, the buffer count: a slow link's share of the
// extra would sit queued on that link, holding up whole requests, and a
// drop could not be told from a link's loss.
func (t *Target) macCeilingLocked(mac wire.MAC) int {
	n, ceiling, promised := 0, 1, 1
	for _, p := range t.paths {
		if p.mac == mac && !p.down {
			n++
			ceiling, promised = max(ceiling, p.win.ceiling), max(promised, p.win.promised)
		}
	}
	if n > 1 {
		return promised
	}
	return ceiling
}

// pathDownLocked takes a path out of use and sends its frames elsewhere
// now, rather than one timeout at a time.
func (t *Target) pathDownLocked(p *path, why string) {
	p.down = true
	t.ini.opts.Logf("%s: path %s -> %s down: %s; probing it", t.addr, p.port.Name(), p.mac, why)
	for _, f := range t.inflight {
		if f.path == p {
			t.untrackLocked(f)
			t.requeueLocked(f)
		}
	}
}

func (t *Target) pathUpLocked(p *path, why string) {
	p.down, p.timeoutsInRow = false, 0
	// Start again from a small window: the link may still be poor.
	p.win.size = max(p.win.promised/4, 1)
	t.ini.opts.Logf("%s: path %s -> %s up: %s", t.addr, p.port.Name(), p.mac, why)
}

func (t *Target) anyPathDown() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.anyPathDownLocked()
}

func (t *Target) anyPathDownLocked() bool {
	for _, p := range t.paths {
		if p.down {
			return true
		}
	}
	return false
}

func (t *Target) probe(now time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.probeLocked(now)
}

// probeLocked sends a config query down every path that is down.
func (t *Target) probeLocked(now time.Time) {
	for _, p := range t.paths {
		if p.down && now.Sub(p.lastProbe) >= probeInterval {
			p.lastProbe = now
			_ = t.ini.queryOn(p.port, p.mac, t.addr)
		}
	}
}

// PathStatus is a snapshot of one path, for aoe-stat.
type PathStatus struct {
	Port string
	MAC  wire.MAC
	// Up is false while the path is out of use for losing frames.
	Up       bool
	Window   int
	Inflight int
	SRTT     time.Duration
	PathCounters
}

// TargetStatus is a snapshot of a target, for aoe-stat.
type TargetStatus struct {
	Addr       Addr
	Config     TargetConfig
	Identity   *Identity
	Learned    Learned
	MaxSectors int
	// Dead is why the target is down, "" while it is up.
	Dead  string
	Paths []PathStatus
	TargetCounters
}

// Status takes a snapshot.
func (t *Target) Status() TargetStatus {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := TargetStatus{Addr: t.addr, Config: t.config, Identity: t.ident, Learned: t.learned, MaxSectors: t.maxSectors, TargetCounters: t.counters}
	if t.dead != nil {
		s.Dead = t.dead.Error()
	}
	for _, p := range t.paths {
		s.Paths = append(s.Paths, PathStatus{Port: p.port.Name(), MAC: p.mac, Up: !p.down, Window: p.win.size, Inflight: p.inflight, SRTT: p.rtt.srtt, PathCounters: p.counters})
	}
	return s
}

// frameQueue is a FIFO of frames that also takes retransmits at the front.
type frameQueue struct {
	items []*frame
	head  int
}

func (q *frameQueue) len() int { return len(q.items) - q.head }

func (q *frameQueue) front() *frame {
	if q.len() == 0 {
		return nil
	}
	return q.items[q.head]
}

func (q *frameQueue) popFront() *frame {
	if q.len() == 0 {
		return nil
	}
	f := q.items[q.head]
	q.items[q.head] = nil
	q.head++
	if q.head == len(q.items) {
		q.items, q.head = q.items[:0], 0
	}
	return f
}

func (q *frameQueue) pushBack(f *frame) { q.items = append(q.items, f) }

func (q *frameQueue) pushFront(f *frame) {
	if q.head > 0 {
		q.head--
		q.items[q.head] = f
		return
	}
	q.items = append(q.items, nil)
	copy(q.items[1:], q.items)
	q.items[0] = f
}
