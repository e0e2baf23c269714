package initiator

import (
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/goaoe/goaoe/initiator/wire"
)

// ataOverhead is what a frame carries besides sectors: the Ethernet, AoE
// and ATA headers. (MTU-36)/512 sectors fit a frame, as Linux and vblade
// compute it.
const ataOverhead = wire.HeaderLen + wire.ATAHeaderLen

// Target is one AoE target (shelf.slot) and everything in flight to it.
// Its methods are safe for concurrent use; ReadAt, WriteAt and Flush block
// until the target answered or the request failed.
type Target struct {
	ini  *Initiator
	addr Addr

	mu       sync.Mutex // guards everything below
	config   TargetConfig
	paths    []*path
	queue    frameQueue        // frames waiting for room in a window
	inflight map[uint32]*frame // by tag
	// macInflight counts frames in flight per target MAC: a target port
	// has one queue whichever of our ports the frames come from (see
	// macCeilingLocked).
	macInflight map[wire.MAC]int
	ident       *Identity
	learned     Learned
	maxSectors  int       // per frame, the least any path allows
	progress    time.Time // last reply, or when the target became busy
	busy        int       // requests in progress
	dead        error     // set when the deadline passed; cleared by a config answer
	counters    TargetCounters
	// ghosts are writes that were sent more than once and are answered,
	// whose older copies may still reach the target; held are write
	// frames that overlap one and wait for it to expire.
	ghosts []ghost
	held   []*frame
	// sending lists the paths with frames in their outbox.
	sending []*path
	// retired remembers the sends that timed out, by tag, until
	// retiredFor has passed.
	retired   map[uint32]retiredSend
	framePool sync.Pool
	// completed are started requests that finished while the lock was
	// held; unlock calls their then once it is released, so that a
	// completion may block (write its reply to a socket) or call the
	// Target without holding up the receive loop or the sweeper.
	completed []*request
}

// unlock releases t.mu and then calls the completions of the requests that
// finished meanwhile, in the order they finished. Every unlock of a
// section that can finish a request (one that pumps, sweeps, fails or
// handles replies) goes through it; read-only ones use t.mu.Unlock.
func (t *Target) unlock() {
	if len(t.completed) == 0 {
		t.mu.Unlock()
		return
	}
	done := t.completed
	t.completed = nil
	t.mu.Unlock()
	for i, req := range done {
		req.then(req.err)
		done[i] = nil
	}
}

// TargetCounters are the frames a target's replies were dropped for.
type TargetCounters struct {
	// Unmatched replies carry no tag in flight or recently retired:
	// duplicates or strays.
	Unmatched uint64
	// Late replies answer a send that had already timed out and been
	// sent again: the timeout was spurious.
	Late uint64
	// Foreign replies carry a tag in flight but come from another path
	// than the frame went out on: spoofed or misrouted.
	Foreign uint64
	// Malformed replies are too short or of the wrong length.
	Malformed uint64
	// EchoedStatus counts flush replies whose status field held the
	// command byte (a target that does not fill it in): taken as done.
	EchoedStatus uint64
	// HeldWrites counts write frames held back because an older write to
	// the same sectors was retransmitted and a copy may still be on its way.
	HeldWrites uint64
}

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

func newTarget(ini *Initiator, addr Addr) *Target {
	return &Target{ini: ini, addr: addr, inflight: make(map[uint32]*frame), macInflight: make(map[wire.MAC]int), maxSectors: 2}
}

// Addr is the target's shelf and slot.
func (t *Target) Addr() Addr { return t.addr }

// Config is the target's last Query Config answer.
func (t *Target) Config() TargetConfig {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.config
}

// Identity is the target's IDENTIFY answer, nil before Identify.
func (t *Target) Identity() *Identity {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.ident
}

// Size is the capacity in bytes, 0 before Identify.
func (t *Target) Size() int64 {
	if id := t.Identity(); id != nil {
		return id.Size()
	}
	return 0
}

// MaxSectors is how many sectors one frame carries to this target.
func (t *Target) MaxSectors() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.maxSectors
}

// request is one caller's operation, split into frames.
type request struct {
	pending int // frames not finished; guarded by the target's lock
	err     error
	// probeUntil, if set, makes this a probe: its frames are sent a few
	// times until then, and silence fails it with ErrNoAnswer without
	// counting against the path or the target's deadline.
	probeUntil time.Time
	probeTry   time.Duration
	reply      []byte // a control command's answer
	// Exactly one of done and then is set: a waiting caller's channel,
	// or a started request's completion, called by Target.unlock.
	done chan struct{}
	then func(error)
	// A read started by StartReadFrames keeps the receive buffers: its
	// data is chunks[i], frame i's, and kept are the buffers to release.
	chunks [][]byte
	kept   []*rxBuf
}

// fail records the first error; the request still waits for its frames in
// flight, whose replies must not land in a buffer the caller reuses.
func (r *request) fail(err error) {
	if r.err == nil {
		r.err = err
	}
}

// frame is one ATA command on the wire, with its retransmit state.
type frame struct {
	req   *request
	op    string
	lba   uint64
	count int    // sectors
	dst   []byte // where a read's sectors go (the caller's buffer)
	chunk int    // or, if req.chunks is set: keep the receive buffer as req.chunks[chunk]
	buf   []byte // the encoded frame; MACs and tag are set per send
	n     int    // encoded length, data not included
	// data is a write's sectors, the caller's own: sent after buf[:n]
	// in parts, or copied in behind it at each send for a port that
	// takes whole frames only.
	data  []byte
	write bool
	// cmd is the AoE command: ATA, or a control command; ataCmd is the
	// ATA command byte.
	cmd    wire.Command
	ataCmd uint8
	// sample says whether the reply's round trip may update the RTT
	// estimate: not for flush and identify, whose service time is not the
	// path's.
	sample bool

	tag      uint32
	path     *path
	avoid    *path // the path a retransmit should not use, if it can help it
	sent     time.Time
	deadline time.Time
	retries  int
}

// Identify asks the target for its IDENTIFY DEVICE data and keeps it: the
// capacity, LBA48 support and flush command decide how I/O is sent.
func (t *Target) Identify() (*Identity, error) {
	data := make([]byte, wire.SectorSize)
	a := wire.ATA{CmdStatus: wire.ATAIdentify, SectorCount: 1, LBA: 0xA0 << 24}
	req := t.newRequest()
	f := t.newFrame(req, "identify", &a, nil)
	f.count, f.dst = 1, data
	if err := t.run(req, []*frame{f}); err != nil {
		return nil, err
	}
	id := parseIdentity(data)
	t.mu.Lock()
	t.ident = id
	t.mu.Unlock()
	return id, nil
}

// ReadAt reads whole sectors at off. It implements io.ReaderAt.
func (t *Target) ReadAt(p []byte, off int64) (int, error) {
	if err := t.wait(t.prepare("read", p, len(p), off)); err != nil {
		return 0, err
	}
	return len(p), nil
}

// WriteAt writes whole sectors at off and returns once the target
// acknowledged every one. It implements io.WriterAt.
func (t *Target) WriteAt(p []byte, off int64) (int, error) {
	if err := t.wait(t.prepare("write", p, len(p), off)); err != nil {
		return 0, err
	}
	return len(p), nil
}

// StartRead is ReadAt without the wait: it queues the frames and returns;
// nothing is sent before the next Kick, so that many requests share one
// send. then is called exactly once, with ReadAt's error, when every frame
// is answered (p is filled then) or the request failed; it runs after the
// target's lock is released, in the goroutine that finished the request
// (the receive loop, the sweeper, or the caller of Start or Kick), so it
// should be brief: a reply written at once is fine, a long wait holds up
// that goroutine.
func (t *Target) StartRead(p []byte, off int64, then func(error)) {
	req, frames, err := t.prepare("read", p, len(p), off)
	t.start(req, frames, err, then)
}

// StartReadFrames is StartRead without the copy: the n bytes at off stay
// in the frames they arrived in. then gets them in order as slices of
// those frames (none if err is set), and must call release once it is
// done with them, error or not; until then the buffers are the reader's.
// then runs as StartRead's.
func (t *Target) StartReadFrames(off int64, n int, then func(data [][]byte, release func(), err error)) {
	req, frames, err := t.prepare("read", nil, n, off)
	if req == nil {
		t.start(nil, nil, err, func(err error) { then(nil, func() {}, err) })
		return
	}
	t.start(req, frames, nil, func(err error) {
		data, kept := req.chunks, req.kept
		if err != nil {
			data = nil
		}
		then(data, func() {
			for _, b := range kept {
				b.release()
			}
		}, err)
	})
}

// StartWrite is WriteAt without the wait, as StartRead. p is sent from
// where it is, so it must stay as it is until then is called; then(nil)
// means the target acknowledged every sector.
func (t *Target) StartWrite(p []byte, off int64, then func(error)) {
	req, frames, err := t.prepare("write", p, len(p), off)
	t.start(req, frames, err, then)
}

// Kick sends what StartRead and StartWrite queued, as far as the windows
// allow.
func (t *Target) Kick() {
	t.mu.Lock()
	defer t.unlock()
	t.pumpLocked(time.Now())
}

// Flush asks the target to put what it acknowledged on stable storage, with
// the flush command Learn found to work (before Learn, the one IDENTIFY
// claims). With none there is nothing to send: Learn's caller has said
// so, and the disk is attached write-through.
func (t *Target) Flush() error {
	t.mu.Lock()
	id, cmd := t.ident, t.flushCommandLocked()
	t.mu.Unlock()
	switch {
	case id == nil:
		return &IOError{Target: t.addr, Op: "flush", Err: ErrNotIdentified}
	case cmd == 0:
		return nil
	}
	return t.flushWith(cmd, 0)
}

// flushWith sends one flush command; a non-zero window makes it a probe.
func (t *Target) flushWith(cmd uint8, window time.Duration) error {
	a := wire.ATA{CmdStatus: cmd}
	if cmd == wire.ATAFlushCacheExt {
		a.Flags = wire.ATAFlagLBA48
	}
	req := t.newRequest()
	req.probeFor(window)
	return t.run(req, []*frame{t.newFrame(req, "flush", &a, nil)})
}

// prepare checks a read or write of the n bytes at off and splits it into
// frames. A nil p on a read keeps the receive buffers instead (the data
// goes to req.chunks). A request with nothing to do, or refused, comes
// back nil, with the error if refused.
func (t *Target) prepare(op string, p []byte, n int, off int64) (*request, []*frame, error) {
	write, keep := op == "write", p == nil
	t.mu.Lock()
	id, per, refused := t.ident, t.maxSectors, t.learned.WritesRefused
	t.mu.Unlock()
	lba, sectors := uint64(off)/wire.SectorSize, n/wire.SectorSize
	var err error
	switch {
	case id == nil:
		err = ErrNotIdentified
	case off < 0 || off%wire.SectorSize != 0 || n%wire.SectorSize != 0:
		err = ErrUnaligned
	case lba+uint64(sectors) > id.Sectors:
		err = ErrRange
	case n == 0:
		return nil, nil, nil
	case write && refused:
		err = ErrWritesRefused
	}
	if err != nil {
		return nil, nil, &IOError{Target: t.addr, Op: op, LBA: lba, Sectors: sectors, Err: err}
	}
	req := t.newRequest()
	frames := make([]*frame, 0, (sectors+per-1)/per)
	if keep {
		req.chunks = make([][]byte, 0, cap(frames))
	}
	for s := 0; s < sectors; s += per {
		n := min(per, sectors-s)
		var chunk []byte
		if !keep {
			chunk = p[s*wire.SectorSize : (s+n)*wire.SectorSize]
		}
		a := wire.ATA{SectorCount: uint8(n), LBA: lba + uint64(s)}
		switch {
		case id.LBA48 && write:
			a.Flags, a.CmdStatus = wire.ATAFlagLBA48|wire.ATAFlagWrite, wire.ATAWriteExt
		case id.LBA48:
			a.Flags, a.CmdStatus = wire.ATAFlagLBA48, wire.ATAReadExt
		case write:
			a.Flags, a.CmdStatus = wire.ATAFlagWrite, wire.ATAWrite28
		default:
			a.CmdStatus = wire.ATARead28
		}
		if !id.LBA48 {
			// LBA28 keeps the top four address bits in the device
			// register, whose high nibble says "LBA mode" (0xE0).
			a.LBA = a.LBA&0x0fffffff | 0xE0<<24
		}
		var data []byte
		if write {
			data = chunk
		}
		f := t.newFrame(req, op, &a, data)
		f.lba, f.count, f.sample, f.write = lba+uint64(s), n, true, write
		switch {
		case keep:
			f.chunk = len(req.chunks)
			req.chunks = append(req.chunks, nil)
		case !write:
			f.dst = chunk
		}
		frames = append(frames, f)
	}
	return req, frames, nil
}

// wait runs a prepared request and waits for it.
func (t *Target) wait(req *request, frames []*frame, err error) error {
	if req == nil {
		return err
	}
	return t.run(req, frames)
}

// start queues a prepared request to finish with then, or calls then at
// once if there is nothing to send.
func (t *Target) start(req *request, frames []*frame, err error, then func(error)) {
	if req == nil {
		then(err)
		return
	}
	t.mu.Lock()
	defer t.unlock()
	req.done, req.then = nil, then
	t.submitLocked(req, frames)
}

func (t *Target) newRequest() *request { return &request{done: make(chan struct{})} }

// newFrame encodes an ATA request. data, if any, is referred to, not
// copied: it must stay as it is until the request is over.
func (t *Target) newFrame(req *request, op string, a *wire.ATA, data []byte) *frame {
	n := ataOverhead + len(data)
	f, _ := t.framePool.Get().(*frame)
	if f == nil || cap(f.buf) < n {
		f = &frame{buf: make([]byte, max(n, ataOverhead+t.MaxSectors()*wire.SectorSize))}
	}
	*f = frame{req: req, op: op, cmd: wire.CommandATA, ataCmd: a.CmdStatus, buf: f.buf[:cap(f.buf)], n: ataOverhead, data: data}
	h := wire.Header{Version: wire.Version, Shelf: t.addr.Shelf, Slot: t.addr.Slot, Command: wire.CommandATA}
	_ = h.Marshal(f.buf)
	a.MarshalHeader(f.buf[wire.HeaderLen:])
	return f
}

// run queues a request's frames, sends them and waits for all of them to
// finish.
func (t *Target) run(req *request, frames []*frame) error {
	t.mu.Lock()
	// One clock read per request: on a virtual machine it can cost more
	// than sending a frame.
	if t.submitLocked(req, frames) {
		t.pumpLocked(time.Now())
	}
	t.unlock()
	<-req.done
	return req.err
}

// submitLocked queues a request's frames, or fails it at once if the
// target is dead; it reports whether anything was queued.
func (t *Target) submitLocked(req *request, frames []*frame) bool {
	if t.dead != nil {
		f := frames[0]
		req.pending = len(frames)
		req.fail(&IOError{Target: t.addr, Op: f.op, LBA: f.lba, Sectors: len(frames) * f.count, Err: t.dead})
		t.busy++ // finishLocked counts it out again
		t.ini.startRequest()
		for _, f := range frames {
			t.finishLocked(f)
		}
		return false
	}
	if t.busy == 0 {
		// The deadline counts from when there was something to answer.
		t.progress = time.Now()
	}
	t.busy++
	t.ini.startRequest()
	req.pending = len(frames)
	for _, f := range frames {
		t.queue.pushBack(f)
	}
	return true
}

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
		if !p.down {
			free += max(p.win.size-p.inflight, 0)
			size += p.win.size
		}
	}
	batch := min(sendBatch, size/4)
	return free < batch && len(t.inflight) >= batch && t.queue.len() >= batch
}

// finishLocked retires a frame that will not be sent again.
func (t *Target) finishLocked(f *frame) {
	req := f.req
	f.req, f.dst, f.path, f.avoid = nil, nil, nil, nil
	t.framePool.Put(f)
	req.pending--
	if req.pending == 0 {
		t.busy--
		t.ini.endRequest()
		if req.then != nil {
			t.completed = append(t.completed, req)
		} else {
			close(req.done)
		}
	}
}

// pumpLocked sends queued frames while some path's window has room, all
// that go on one path in one Send.
func (t *Target) pumpLocked(now time.Time) {
	defer t.flushLocked()
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
		p := t.pickPathLocked(f.avoid)
		if p == nil {
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
	f.deadline = now.Add(p.rtt.rto(f.retries, t.ini.opts.MinRTO, t.ini.opts.MaxRTO))
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
	t.macInflight[p.mac]++
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

// flushLocked sends what transmitLocked put in the paths' outboxes. The
// frames' buffers cannot be reused meanwhile: they are in flight, and
// only this lock's holder finishes frames.
func (t *Target) flushLocked() {
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
		}
		clear(p.outbox)
		p.outbox = p.outbox[:0]
	}
	clear(t.sending)
	t.sending = t.sending[:0]
}

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
	p.timeoutsInRow = 0
	if p.down {
		t.pathUpLocked(p, "it answered")
	}
	// Every send has its own tag, so this reply answers exactly the send
	// made at f.sent: no ambiguity, and no need for Karn's rule.
	if f.sample {
		p.rtt.sample(now.Sub(f.sent), now)
	}
	p.win.onReply()
	p.loss.add(0)
	t.progress = now
	if err != nil {
		f.req.fail(&IOError{Target: t.addr, Op: f.op, LBA: f.lba, Sectors: f.count, Err: err})
	} else if f.write && f.retries > 0 {
		// Older copies were all sent before the last one.
		t.ghosts = append(t.ghosts, ghost{lba: f.lba, count: f.count, until: f.sent.Add(t.copyLifetimeLocked(p))})
	}
	t.finishLocked(f)
	return kept
}

// copyLifetimeLocked bounds how long a copy of a frame can still be on its
// way over path p: four retransmit timeouts, which the RTT estimate already
// puts far beyond what the path's replies take, but never more than
// MaxRTO.
func (t *Target) copyLifetimeLocked(p *path) time.Duration {
	return min(4*p.rtt.rto(0, t.ini.opts.MinRTO, t.ini.opts.MaxRTO), t.ini.opts.MaxRTO)
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

// sweep resends overdue frames and fails everything if the target has been
// silent past the deadline.
func (t *Target) sweep(now time.Time) (next time.Duration) {
	t.mu.Lock()
	defer t.unlock()
	// No frame sent from now on can be overdue before the shortest
	// timeout of any path: that bounds the sleep when nothing is overdue.
	next = t.ini.opts.MaxRTO
	for _, p := range t.paths {
		if !p.down {
			next = min(next, p.rtt.rto(0, t.ini.opts.MinRTO, t.ini.opts.MaxRTO))
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
		p.timeoutsInRow++
		p.loss.add(1)
		p.lossLocked(now)
		t.requeueLocked(f)
		if !p.down && p.timeoutsInRow >= ejectAfter && t.otherPathUpLocked(p) {
			t.pathDownLocked(p, fmt.Sprintf("%d frames in a row lost", p.timeoutsInRow))
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

// learnPath adds or refreshes the path (port, mac) from a config answer.
func (t *Target) learnPath(port Port, mac wire.MAC, cfg TargetConfig) {
	t.mu.Lock()
	defer t.unlock()
	t.config = cfg
	limit := min(cfg.MaxSectors, (port.MTU()-36)/wire.SectorSize, 255)
	var p *path
	for _, q := range t.paths {
		if q.port == port && q.mac == mac {
			p = q
		}
	}
	if p == nil {
		p = &path{port: port, mac: mac, win: newWindow(cfg.BufferCount)}
		p.parts, _ = port.(PartsSender)
		t.paths = append(t.paths, p)
		// Only targets in use are worth a line: every target on the
		// segment answers everyone's broadcasts.
		if t.ident != nil {
			t.ini.opts.Logf("%s: new path %s -> %s (buffer count %d, %d sectors per frame)", t.addr, port.Name(), mac, cfg.BufferCount, limit)
		}
	}
	p.win.setBufferCount(int(cfg.BufferCount))
	p.maxSectors = max(limit, 1)
	if p.down {
		t.pathUpLocked(p, "it answered a config query")
	}
	t.maxSectors = p.maxSectors
	for _, q := range t.paths {
		t.maxSectors = min(t.maxSectors, q.maxSectors)
	}
	if t.dead == ErrDead {
		t.ini.opts.Logf("%s: answers again: target is back", t.addr)
		t.dead = nil
	}
	t.pumpLocked(time.Now())
}

// dropPort forgets the paths on a port that went away and sends their
// frames again elsewhere now rather than when their timers fire.
func (t *Target) dropPort(port Port) {
	t.mu.Lock()
	defer t.unlock()
	kept := t.paths[:0]
	for _, p := range t.paths {
		if p.port != port {
			kept = append(kept, p)
			continue
		}
		t.ini.opts.Logf("%s: path %s -> %s gone", t.addr, port.Name(), p.mac)
		for _, f := range t.inflight {
			if f.path == p {
				t.untrackLocked(f)
				t.requeueLocked(f)
			}
		}
	}
	clear(t.paths[len(kept):])
	t.paths = kept
	t.pumpLocked(time.Now())
}

// untrackLocked takes a frame out of flight.
func (t *Target) untrackLocked(f *frame) {
	delete(t.inflight, f.tag)
	f.path.inflight--
	t.macInflight[f.path.mac]--
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
	f.retries++
	f.avoid = f.path
	t.queue.pushFront(f)
}

// control sends one control command (Reserve/Release or MAC mask list)
// and returns the body of the answer. Like ATA, it is retransmitted until
// answered or the target is dead; a non-zero window makes it a probe.
func (t *Target) control(op string, cmd wire.Command, body wire.Body, window time.Duration) ([]byte, error) {
	n := wire.HeaderLen + body.Len()
	req := t.newRequest()
	req.probeFor(window)
	f := &frame{req: req, op: op, cmd: cmd, buf: make([]byte, n), n: n}
	h := wire.Header{Version: wire.Version, Shelf: t.addr.Shelf, Slot: t.addr.Slot, Command: cmd}
	_ = h.Marshal(f.buf)
	if err := body.Marshal(f.buf[wire.HeaderLen:]); err != nil {
		return nil, err
	}
	err := t.run(req, []*frame{f})
	return req.reply, err
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
		p.rtt.sample(now.Sub(r.sent), now)
	}
	p.timeoutsInRow = 0
	p.loss.forget()
	p.undoCutLocked(r.sent)
	if p.down && slices.Contains(t.paths, p) {
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
