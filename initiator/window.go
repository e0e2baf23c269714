package initiator

// window is a path's congestion window: how many frames may be in flight on
// it. It opens in slow start (one more frame per reply) up to the slow-start
// threshold, then by one frame per full window of replies, never above the
// target's buffer count (more would only be dropped by the target), and
// halves on a loss. Unlike the Linux driver it does not fall to one frame on
// every loss: on a lossy but fast link that would leave the path idle.
type window struct {
	size     int // frames allowed in flight
	limit    int // the target's buffer count
	ssthresh int
	acked    int // replies counted toward the next additive step
}

func newWindow(limit int) window {
	if limit < 1 {
		limit = 1
	}
	// Start with the whole buffer count: the target says it queues that
	// many, and a short veth or switch hop does not need probing.
	return window{size: limit, limit: limit, ssthresh: limit}
}

func (w *window) setLimit(limit int) {
	if limit < 1 {
		limit = 1
	}
	w.limit = limit
	if w.size > limit {
		w.size = limit
	}
	if w.ssthresh > limit {
		w.ssthresh = limit
	}
}

func (w *window) onReply() {
	if w.size >= w.limit {
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

func (w *window) onLoss() {
	w.ssthresh = max(w.size/2, 1)
	w.size = w.ssthresh
	w.acked = 0
}
