package initiator

// Write ordering: AoE has no sequence numbers, so an old copy of a
// retransmitted write that lands after a newer write to the same sectors
// would silently undo it. An answered retransmitted write leaves a ghost
// for as long as any of its copies could still land; later writes that
// overlap it are held until it expires.
//
//	handleReplyLocked (write, retries > 0) ─ghostLocked─▶ t.ghosts
//	pumpLocked ─blockedLocked?─▶ t.held ─(sweep) releaseHeldLocked─▶ t.queue

import (
	"time"
)

// ghost is the sectors of an answered write that was sent more than once.
// AoE has no sequence numbers: a delayed older copy arriving after a newer
// write to the same sectors would silently undo it. Until the ghost
// expires, overlapping writes wait.
type ghost struct {
	lba   uint64
	count int
	until time.Time
}

func (g *ghost) overlaps(f *frame) bool {
	return f.lba < g.lba+uint64(g.count) && g.lba < f.lba+uint64(f.count)
}

// copyLifetimeLocked bounds how long a copy of a frame can still be on its
// way over path p: four retransmit timeouts, which the RTT estimate already
// puts far beyond what the path's replies take, but never more than
// MaxRTO.
func (t *Target) copyLifetimeLocked(p *path) time.Duration {
	return min(4*p.rtt.RTO(0, t.ini.opts.MinRTO, t.ini.opts.MaxRTO), t.ini.opts.MaxRTO)
}

// ghostLocked holds back later writes to a write frame's sectors until
// none of its copies can still land: each copy by the lifetime of the path
// it took, since a retransmit avoids the path that timed out and the older
// copy may sit on a slower one than the copy that was answered.
func (t *Target) ghostLocked(f *frame) {
	until := f.sent.Add(t.copyLifetimeLocked(f.path))
	for _, c := range f.copies {
		if u := c.sent.Add(t.copyLifetimeLocked(c.path)); u.After(until) {
			until = u
		}
	}
	t.ghosts = append(t.ghosts, ghost{lba: f.lba, count: f.count, until: until})
}

// blockedLocked reports whether a write frame overlaps a live ghost,
// forgetting the ghosts that have expired.
func (t *Target) blockedLocked(f *frame, now time.Time) bool {
	if len(t.ghosts) == 0 {
		return false
	}
	live := t.ghosts[:0]
	blocked := false
	for _, g := range t.ghosts {
		if now.Before(g.until) {
			live = append(live, g)
			blocked = blocked || g.overlaps(f)
		}
	}
	t.ghosts = live
	return blocked
}

// releaseHeldLocked puts held frames whose ghosts expired back at the head
// of the queue, in their order.
func (t *Target) releaseHeldLocked(now time.Time) {
	kept := t.held[:0]
	var ready []*frame
	for _, f := range t.held {
		if t.blockedLocked(f, now) {
			kept = append(kept, f)
		} else {
			ready = append(ready, f)
		}
	}
	clear(t.held[len(kept):])
	t.held = kept
	for i := len(ready) - 1; i >= 0; i-- {
		t.queue.pushFront(ready[i])
	}
}
