package initiator

// window is a path's congestion window: how many frames may be in flight on
// it.
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
// replies, up to overcommit times the buffer count. A loss up there may
// mean the target dropped a request for lack of room: the window halves
// (not below the buffer count) and its ceiling comes down to three
// quarters of where the loss happened. The ceiling creeps up again after a
// long loss-free stretch, and each loss up there doubles that stretch, so a
// target that really holds only its buffer count costs a timeout now and
// then, ever more rarely.
type window struct {
	size     int // frames allowed in flight
	promised int // the target's buffer count
	ceiling  int // the most size may grow to; between promised and overcommit*promised
	ssthresh int // below it, slow start: one frame more per reply
	acked    int // replies counted toward the next additive step
	clean    int // replies since the last loss above promised
	regrow   int // clean replies that raise the ceiling by one
}

const (
	// overcommit bounds the probing past the buffer count.
	overcommit = 4
	// regrowAfter is the first loss-free stretch, in windows of replies,
	// after which a lowered ceiling rises by one frame.
	regrowAfter = 64
	// maxRegrow bounds the stretch however often probes fail.
	maxRegrow = 1 << 20
)

func newWindow(bufferCount int) window {
	var w window
	w.setBufferCount(bufferCount)
	// Start with the whole buffer count: the target says it queues that
	// many, and a short veth or switch hop does not need probing.
	w.size = w.promised
	return w
}

// setBufferCount takes the buffer count of a (new) config answer. The same
// count again changes nothing: what was learned of the target stays.
func (w *window) setBufferCount(n int) {
	n = max(n, 1)
	if n == w.promised {
		return
	}
	w.promised, w.ceiling, w.ssthresh = n, n*overcommit, n
	w.regrow = regrowAfter * n
	w.size = min(w.size, w.ceiling)
}

func (w *window) onReply() {
	if w.ceiling < w.promised*overcommit {
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

// onLoss takes one loss event (the caller counts at most one per round
// trip).
func (w *window) onLoss() {
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
