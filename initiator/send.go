package initiator

// Sending: the pump takes queued frames while some path's window has room,
// puts each on the path the balancer picks under a fresh tag, and sends
// every path's outbox in one system call at the end. transmitLocked is
// only called from pumpLocked, whose deferred sendOutboxesLocked sends
// what it queued: no frame is left in an outbox.
//
//	t.queue ─pumpLocked─▶ pickPathLocked (multipath.Pick) ─transmitLocked─▶ p.outbox
//	        ─sendOutboxesLocked─▶ Port.Send / SendParts (a failure: refitLocked)

import (
	"time"

	"github.com/goaoe/goaoe/initiator/wire"
)

// sendBatch bounds how many frames a pump waits to send together while
// enough are in flight for replies to pump again soon: one frame per reply
// would cost a system call per frame, dear on a virtual machine, while a
// window with a quarter of it to spare keeps the target just as busy.
const sendBatch = 8

// holdForBatchLocked reports whether sending now would send fewer than a
// batch (a quarter of the windows, at most sendBatch) while at least that
// many are still in flight.
func (t *Target) holdForBatchLocked() bool {
	if t.queue.len() == 0 || len(t.inflight) == 0 {
		return false
	}
	free, size := 0, 0
	for _, p := range t.paths {
		if p.health.Up() {
			free += max(p.win.Size()-p.inflight, 0)
			size += p.win.Size()
		}
	}
	batch := min(sendBatch, size/4)
	return free < batch && len(t.inflight) >= batch && t.queue.len() >= batch
}

// pumpLocked sends queued frames while some path's window has room, all
// that go on one path in one Send.
func (t *Target) pumpLocked(now time.Time) {
	defer t.sendOutboxesLocked()
	if t.holdForBatchLocked() {
		return
	}
	for {
		f := t.queue.front()
		if f == nil {
			return
		}
		if f.req.err != nil {
			// The request already failed: the rest of it is moot.
			t.queue.popFront()
			t.finishLocked(f)
			continue
		}
		if f.write && t.blockedLocked(f, now) {
			t.queue.popFront()
			t.held = append(t.held, f)
			t.counters.HeldWrites++
			continue
		}
		p := t.pickPathLocked(f.avoid, f.count)
		if p == nil {
			if per := t.largestFrameLocked(); per > 0 && per < f.count {
				// Cut for an MTU that no path has any more.
				t.queue.popFront()
				t.recutLocked(f, per, now)
				continue
			}
			return
		}
		t.queue.popFront()
		t.transmitLocked(f, p, now)
	}
}

// transmitLocked puts f on the wire on path p under a fresh tag.
func (t *Target) transmitLocked(f *frame, p *path, now time.Time) {
	f.tag = t.ini.newTag()
	f.path = p
	f.sent = now
	if f.firstSent.IsZero() {
		f.firstSent = now
	}
	f.deadline = now.Add(p.rtt.RTO(f.retries, t.ini.opts.MinRTO, t.ini.opts.MaxRTO))
	if until := f.req.probeUntil; !until.IsZero() {
		// A probe tries a few times in its window, whatever the path's
		// timeout, and is over when the window is.
		if try := now.Add(f.req.probeTry); try.Before(f.deadline) {
			f.deadline = try
		}
		if until.Before(f.deadline) {
			f.deadline = until
		}
	}
	mac := p.port.MAC()
	copy(f.buf[0:6], p.mac[:])
	copy(f.buf[6:12], mac[:])
	wire.PutTag(f.buf, f.tag)
	t.inflight[f.tag] = f
	p.inflight++
	p.counters.Sent++
	if f.retries > 0 {
		p.counters.Retransmitted++
	}
	switch {
	case p.parts != nil:
		p.outbox = append(p.outbox, f.buf[:f.n])
		p.outdata = append(p.outdata, f.data)
	default:
		copy(f.buf[f.n:], f.data)
		p.outbox = append(p.outbox, f.buf[:f.n+len(f.data)])
	}
	if len(p.outbox) == 1 {
		t.sending = append(t.sending, p)
	}
}

// sendOutboxesLocked sends what transmitLocked put in the paths' outboxes. The
// frames' buffers cannot be reused meanwhile: they are in flight, and
// only this lock's holder finishes frames.
func (t *Target) sendOutboxesLocked() {
	refit := false
	for _, p := range t.sending {
		var err error
		if p.parts != nil {
			err = p.parts.SendParts(p.outbox, p.outdata)
			clear(p.outdata)
			p.outdata = p.outdata[:0]
		} else {
			err = p.port.Send(p.outbox)
		}
		if err != nil {
			// The frames stay in flight: their timers send them
			// again, on another path if there is one.
			p.counters.SendErrors++
			refit = t.refitLocked(p) || refit
		}
		clear(p.outbox)
		p.outbox = p.outbox[:0]
	}
	clear(t.sending)
	t.sending = t.sending[:0]
	if refit {
		t.pumpLocked(time.Now())
	}
}
