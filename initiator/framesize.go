package initiator

import (
	"errors"
	"time"

	"github.com/goaoe/goaoe/initiator/wire"
)

// A path's frame size can shrink under frames already cut for it: an
// interface's MTU lowered during a write makes every send of those frames
// fail (EMSGSIZE), however often they are retried. The engine then learns
// the new size from the port, and frames no path can carry any more are
// cut again to fit. Whatever else keeps a frame from ever being answered
// (a target that silently drops one range) ends at the frame's own
// deadline, so no request waits forever while other I/O flows.

// ErrFrameDeadline: one frame of the request was not answered within the
// deadline although the target answered others.
var ErrFrameDeadline = errors.New("no answer to this request within the deadline (the target answers others)")

// sectorsFor is how many sectors one frame carries on a link of the given
// MTU to a target with cfg: what the MTU holds, within what the target
// takes, never less than one.
func sectorsFor(cfg TargetConfig, mtu int) int {
	return max(min(cfg.MaxSectors, (mtu-36)/wire.SectorSize, 255), 1)
}

// refitLocked is called when a send on p failed: it asks the port for its
// MTU and, if p's frames no longer fit, shrinks them and takes the frames
// in flight that are too large back to the queue (no loss counted: the
// link did not lose them, it refused them). It reports whether any were.
func (t *Target) refitLocked(p *path) bool {
	per := sectorsFor(t.config, p.port.MTU())
	if per >= p.maxSectors {
		return false
	}
	t.ini.opts.Logf("%s: path %s -> %s now carries %d sectors a frame (MTU %d)", t.addr, p.port.Name(), p.mac, per, p.port.MTU())
	p.maxSectors = per
	t.fitFramesLocked()
	requeued := false
	for _, f := range t.inflight {
		if f.path == p && f.count > per {
			t.untrackLocked(f)
			t.requeueLocked(f)
			requeued = true
		}
	}
	return requeued
}

// largestFrameLocked is the most sectors a frame may carry on any path in
// use, 0 if none is.
func (t *Target) largestFrameLocked() int {
	n := 0
	for _, p := range t.paths {
		if p.health.Up() {
			n = max(n, p.maxSectors)
		}
	}
	return n
}

// recutLocked replaces a queued data frame that no path can carry by
// frames of at most per sectors, at the head of the queue in its place. A
// write that was sent before leaves a ghost for its old copies, as an
// answered retransmit does.
func (t *Target) recutLocked(f *frame, per int, now time.Time) {
	req := f.req
	dst := f.dst
	if !f.write && dst == nil {
		// A read that keeps its receive buffers: this one gets a
		// buffer of its own, which its pieces fill.
		dst = make([]byte, f.count*wire.SectorSize)
		req.chunks[f.chunk] = dst
	}
	data := f.data
	if !f.write {
		data = dst
	}
	if f.write && !f.firstSent.IsZero() {
		t.ghostLocked(f)
	}
	pieces := make([]*frame, 0, (f.count+per-1)/per)
	for s := 0; s < f.count; s += per {
		n := min(per, f.count-s)
		piece := t.dataFrame(req, f.op, t.ident.LBA48, f.lba+uint64(s), n, data[s*wire.SectorSize:(s+n)*wire.SectorSize], per)
		piece.retries = f.retries
		pieces = append(pieces, piece)
	}
	req.pending += len(pieces) - 1
	for i := len(pieces) - 1; i >= 0; i-- {
		t.queue.pushFront(pieces[i])
	}
	*f = frame{buf: f.buf}
	t.framePool.Put(f)
}

// frameExpiredLocked fails the request of a frame that has gone
// unanswered for the deadline (it is out of flight already). A write's
// copies may still land: later writes to its sectors wait them out.
func (t *Target) frameExpiredLocked(f *frame, now time.Time) {
	t.ini.opts.Logf("%s: %s of %d sectors at LBA %d unanswered for %v: failing it", t.addr, f.op, f.count, f.lba, now.Sub(f.firstSent).Round(time.Second))
	if f.write {
		t.ghostLocked(f)
	}
	f.req.fail(&IOError{Target: t.addr, Op: f.op, LBA: f.lba, Sectors: f.count, Err: ErrFrameDeadline})
	t.finishLocked(f)
}

// fitFramesLocked sets the frame size new requests are cut to: the least
// any path carries, so that every path can take every frame. With no path
// left it stays as it was, for the paths to come.
func (t *Target) fitFramesLocked() {
	if len(t.paths) == 0 {
		return
	}
	t.maxSectors = t.paths[0].maxSectors
	for _, p := range t.paths[1:] {
		t.maxSectors = min(t.maxSectors, p.maxSectors)
	}
}
