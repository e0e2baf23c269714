package initiator

// Reply matching: a reply finishes the frame in flight under its tag, if
// it came back the way the frame went; a reply to a tag that timed out and
// was sent again says the timeout was spurious; anything else is counted
// and dropped.
//
//	Port.Receive ─▶ Initiator.dispatch ─▶ handleReplyLocked ─▶ finishLocked
//	                                   └▶ lateReplyLocked (retired tag)

import (
	"slices"
	"time"

	"github.com/goaoe/goaoe/initiator/wire"
)

// handleReplyLocked matches a reply (ATA or control), which arrived in
// buf, to its frame and finishes it; it reports whether a read kept buf
// for its data. The caller pumps the target afterwards, once for a whole
// batch of replies, so that what they make room for leaves in one Send.
func (t *Target) handleReplyLocked(port Port, h *wire.Header, body []byte, now time.Time, buf *rxBuf) (kept bool) {
	f := t.inflight[h.Tag]
	if f == nil || f.cmd != h.Command {
		t.lateReplyLocked(port, h, now)
		return false
	}
	p := f.path
	if p.port != port || p.mac != h.Src {
		t.counters.Foreign++
		return false
	}
	var err error
	if h.Failed() {
		err = h.Error
	} else if f.cmd != wire.CommandATA {
		f.req.reply = append([]byte(nil), body...)
	} else {
		var a wire.ATA
		if a.Unmarshal(body) != nil {
			t.counters.Malformed++
			return false
		}
		switch need := f.count * wire.SectorSize; {
		case a.CmdStatus&wire.ATAStatusBad != 0 && isStatusEcho(f.ataCmd, &a):
			t.counters.EchoedStatus++
		case a.CmdStatus&wire.ATAStatusBad != 0:
			ae := &ATAError{Status: a.CmdStatus, Err: a.ErrFeature}
			err = ae
			if f.write && ae.aborted() {
				err = t.writesRefusedLocked(ae)
			}
		case (f.dst != nil || f.req.chunks != nil) && len(a.Data) < need:
			// Dropped, not failed: the retransmit may fare better,
			// and a spoofer must not be able to fail our I/O.
			t.counters.Malformed++
			return false
		case f.req.chunks != nil:
			f.req.chunks[f.chunk] = a.Data[:need]
			f.req.kept = append(f.req.kept, buf)
			kept = true
		case f.dst != nil:
			copy(f.dst, a.Data[:need])
		}
	}
	t.untrackLocked(f)
	p.counters.Replies++
	p.health.OnReply()
	if !p.health.Up() {
		t.pathUpLocked(p, "it answered")
	}
	// Every send has its own tag, so this reply answers exactly the send
	// made at f.sent: no ambiguity, and no need for Karn's rule.
	if f.sample {
		p.rtt.Sample(now.Sub(f.sent), now)
	}
	p.win.OnReply()
	t.progress = now
	if err != nil {
		f.req.fail(&IOError{Target: t.addr, Op: f.op, LBA: f.lba, Sectors: f.count, Err: err})
	} else if f.write && f.retries > 0 {
		t.ghostLocked(f)
	}
	t.finishLocked(f)
	return kept
}

// retiredSend is a send that timed out and was sent again under a new tag.
type retiredSend struct {
	path   *path
	sent   time.Time
	sample bool
	probe  bool // its timeout cost the path nothing, so a late reply undoes nothing
}

// retiredFor is how long a timed-out send's tag is remembered.
const retiredFor = 10 * time.Second

// lateReplyLocked handles a reply whose tag is not in flight. If it
// answers a send that timed out, that timeout was spurious: the path is
// alive, its RTT estimate learns the long round trip (so the RTO stops
// firing early), and the window cut the timeout caused is undone.
func (t *Target) lateReplyLocked(port Port, h *wire.Header, now time.Time) {
	r, ok := t.retired[h.Tag]
	if !ok || r.path.port != port || r.path.mac != h.Src {
		t.counters.Unmatched++
		return
	}
	delete(t.retired, h.Tag)
	t.counters.Late++
	if r.probe {
		return
	}
	p := r.path
	if r.sample {
		p.rtt.Sample(now.Sub(r.sent), now)
	}
	p.health.OnLate()
	p.win.Undo(r.sent)
	if !p.health.Up() && slices.Contains(t.paths, p) {
		t.pathUpLocked(p, "a late reply arrived")
	}
}

// pruneRetiredLocked forgets timed-out sends too old to be answered.
func (t *Target) pruneRetiredLocked(now time.Time) {
	for tag, r := range t.retired {
		if now.Sub(r.sent) > retiredFor {
			delete(t.retired, tag)
		}
	}
}
