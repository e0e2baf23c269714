package initiator

// Timers and deadlines: one sweep per target, run by the Initiator's
// sweeper goroutine, resends overdue frames under new tags (elsewhere if
// it can), fails a frame unanswered for the deadline, and fails
// everything of a target silent for the deadline. There is no timer per
// frame.
//
//	sweeper ─▶ sweep ─overdue─▶ requeueLocked ─▶ t.queue (front) ─▶ pumpLocked
//	                 └─past the deadline─▶ frameExpiredLocked / failAllLocked

import (
	"fmt"
	"time"
)

// sweep resends overdue frames and fails everything if the target has been
// silent past the deadline.
func (t *Target) sweep(now time.Time) (next time.Duration) {
	t.mu.Lock()
	defer t.mu.Unlock()
	// No frame sent from now on can be overdue before the shortest
	// timeout of any path: that bounds the sleep when nothing is overdue.
	next = t.ini.opts.MaxRTO
	for _, p := range t.paths {
		if p.health.Up() {
			next = min(next, p.rtt.RTO(0, t.ini.opts.MinRTO, t.ini.opts.MaxRTO))
		}
	}
	if t.busy == 0 {
		return next
	}
	for _, f := range t.inflight {
		if now.Before(f.deadline) {
			next = min(next, f.deadline.Sub(now))
			continue
		}
		p := f.path
		t.untrackLocked(f)
		if until := f.req.probeUntil; !until.IsZero() {
			t.probeTimeoutLocked(f, now)
			continue
		}
		p.counters.Timeouts++
		p.health.OnLoss()
		p.win.OnLoss(now, p.rtt.SRTT())
		if now.Sub(f.firstSent) >= t.ini.opts.Deadline {
			t.frameExpiredLocked(f, now)
			continue
		}
		t.requeueLocked(f)
		if p.health.ShouldEject(t.otherPathUpLocked(p)) {
			t.pathDownLocked(p, fmt.Sprintf("%d frames in a row lost", p.health.LostInRow()))
		}
	}
	t.probeLocked(now)
	t.releaseHeldLocked(now)
	t.pruneRetiredLocked(now)
	if now.Sub(t.progress) >= t.ini.opts.Deadline {
		t.ini.opts.Logf("%s: no answer for %v: target is dead, failing its I/O", t.addr, now.Sub(t.progress).Round(time.Second))
		t.failAllLocked(ErrDead)
		return t.ini.opts.MaxRTO
	}
	t.pumpLocked(now)
	next = min(next, t.progress.Add(t.ini.opts.Deadline).Sub(now))
	if len(t.held) > 0 || t.anyPathDownLocked() {
		// Held writes and probes are timed by the tick.
		next = 0
	}
	return next
}

// failAllLocked fails every queued and in-flight frame with err and keeps
// failing new I/O until a config answer shows the target alive.
func (t *Target) failAllLocked(err error) {
	t.dead = err
	for _, f := range t.inflight {
		t.untrackLocked(f)
		t.queue.pushBack(f)
	}
	for _, f := range t.held {
		t.queue.pushBack(f)
	}
	clear(t.held)
	t.held = t.held[:0]
	for f := t.queue.popFront(); f != nil; f = t.queue.popFront() {
		f.req.fail(&IOError{Target: t.addr, Op: f.op, LBA: f.lba, Sectors: f.count, Err: err})
		t.finishLocked(f)
	}
}

// requeueLocked puts a frame that was in flight back at the head of the
// queue, to be sent again under a new tag, elsewhere if it can be. Its old
// tag is remembered for a while: a late reply to it says the timeout was
// spurious.
func (t *Target) requeueLocked(f *frame) {
	if t.retired == nil {
		t.retired = make(map[uint32]retiredSend)
	}
	t.retired[f.tag] = retiredSend{path: f.path, sent: f.sent, sample: f.sample, probe: !f.req.probeUntil.IsZero()}
	if f.write {
		f.copies = append(f.copies, copySend{path: f.path, sent: f.sent})
	}
	f.retries++
	f.avoid = f.path
	t.queue.pushFront(f)
}

// untrackLocked takes a frame out of flight.
func (t *Target) untrackLocked(f *frame) {
	delete(t.inflight, f.tag)
	f.path.inflight--
}
