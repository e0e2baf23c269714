package multipath

import "time"

// Window is a path's congestion window: how many frames may be in flight
// on it.
//
// The target's buffer count is a promise: it queues that many requests,
// whatever else happens. So a loss with no more than that in flight was the
// link's doing, not the target's, and the window stays where it is: the
// Linux driver falls to one frame on every loss and crawls on a lossy link
// for it, while the target sat idle with room to spare.
//
// Many targets queue more than they promise (vblade's socket buffer holds
// dozens of small read requests), and a window of just the buffer count
// leaves such a target idle for part of every round trip. So past the
// buffer count the window probes, one frame more per full window of
// replies, up to Overcommit times the buffer count. A loss up there may
// mean the target dropped a request for lack of room: the window halves
// (not below the buffer count) and its ceiling comes down to three
// quarters of where the loss happened. The ceiling creeps up again after a
// long loss-free stretch, and each loss up there doubles that stretch, so a
// target that really holds only its buffer count costs a timeout now and
// then, ever more rarely.
//
// The frames of one round trip lost together are one congestion event:
// OnLoss cuts the window at most once per round trip, and Undo takes the
// cut back when a late reply shows the loss was not one.
//
// Time is passed in; a Window reads no clock and takes no lock.
type Window struct {
	windowState
	lastCut   time.Time   // when the window was last cut for a loss
	beforeCut windowState // the window as it was before that cut
}

// windowState is what a cut changes and an Undo restores.
type windowState struct {
	size     int // frames allowed in flight
	promised int // the target's buffer count
	ceiling  int // the most size may grow to; between promised and Overcommit*promised
	ssthresh int // below it, slow start: one frame more per reply
	acked    int // replies counted toward the next additive step
	clean    int // replies since the last loss above promised
	regrow   int // clean replies that raise the ceiling by one
}

// Window tuning.
const (
	// Overcommit bounds the probing past the buffer count.
	Overcommit = 4
	// regrowAfter is the first loss-free stretch, in windows of replies,
	// after which a lowered ceiling rises by one frame.
	regrowAfter = 64
	// maxRegrow bounds the stretch however often probes fail.
	maxRegrow = 1 << 20
)

// NewWindow is the window of a new path to a target with the given
// buffer count. It starts with the whole buffer count: the target says it
// queues that many, and a short veth or switch hop does not need probing.
// A buffer count of 0 is taken as 1.
func NewWindow(bufferCount int) Window {
	var w Window
	w.SetBufferCount(bufferCount)
	w.size = w.promised
	return w
}

// Size is how many frames may be in flight.
func (w *Window) Size() int { return w.size }

// Promised is the target's buffer count, at least 1.
func (w *Window) Promised() int { return w.promised }

// Ceiling is the most Size may grow to as things stand.
func (w *Window) Ceiling() int { return w.ceiling }

// SetBufferCount takes the buffer count of a (new) config answer. The same
// count again changes nothing: what was learned of the target stays.
func (w *Window) SetBufferCount(n int) {
	n = max(n, 1)
	if n == w.promised {
		return
	}
	w.promised, w.ceiling, w.ssthresh = n, n*Overcommit, n
	w.regrow = regrowAfter * n
	w.size = min(w.size, w.ceiling)
}

// Restart starts again from a small window, a quarter of the buffer
// count, growing in slow start: for a path back in use, whose link may
// still be poor.
func (w *Window) Restart() { w.size = max(w.promised/4, 1) }

// OnReply counts one reply.
func (w *Window) OnReply() {
	if w.ceiling < w.promised*Overcommit {
		w.clean++
		if w.clean >= w.regrow {
			w.clean = 0
			w.ceiling++
		}
	}
	if w.size >= w.ceiling {
		return
	}
	if w.size < w.ssthresh {
		w.size++
		return
	}
	w.acked++
	if w.acked >= w.size {
		w.acked = 0
		w.size++
	}
}

// OnLoss counts a frame lost at now on a path whose smoothed round trip
// is srtt. Only the first loss of a round trip cuts the window: the
// frames of one round trip lost together are one event, not many.
func (w *Window) OnLoss(now time.Time, srtt time.Duration) {
	if !w.lastCut.IsZero() && now.Sub(w.lastCut) < srtt {
		return
	}
	w.lastCut = now
	w.beforeCut = w.windowState
	w.cut()
}

// Undo restores the window as it was before the last cut, if that cut may
// have been caused by the send at sent, which a late reply showed was not
// lost: a send made after the cut did not cause it.
func (w *Window) Undo(sent time.Time) {
	if w.lastCut.IsZero() || sent.After(w.lastCut) {
		return
	}
	w.windowState = w.beforeCut
	w.lastCut = time.Time{}
}

// cut is one loss event.
func (w *windowState) cut() {
	w.acked = 0
	if w.size <= w.promised {
		return // within what the target promised: the link lost it
	}
	w.ceiling = max(w.promised, w.size*3/4)
	w.size = max(w.promised, w.size/2)
	w.ssthresh = w.size
	w.clean = 0
	w.regrow = min(w.regrow*2, maxRegrow)
}
