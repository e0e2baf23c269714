package initiator

// Submission: a caller's read, write, flush or control command becomes a
// request, cut into frames that fit every path, queued, and waited for
// (ReadAt, WriteAt, Flush) or finished through a completion (Start*).
//
//	ReadAt/WriteAt ─prepare─▶ frames ─submitLocked─▶ t.queue ─pumpLocked─▶ send.go
//	reply.go / timers.go ─finishLocked─▶ last frame? ─▶ caller wakes, or then() after Unlock

import (
	"time"

	"github.com/goaoe/goaoe/initiator/wire"
)

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
	// or a started request's completion, called once the lock is released (targetLock).
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
	op    Op
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
	// firstSent starts the frame's own deadline: a frame unanswered for
	// Options.Deadline fails its request even while the target answers
	// others (the kernel driver's aoe_deadsecs).
	firstSent time.Time
	// copies are the earlier sends of a retransmitted frame: an old copy
	// of a write may still reach the target over any of their paths.
	copies []copySend
}

// copySend is one send of a frame: the path it took and when.
type copySend struct {
	path *path
	sent time.Time
}

// Identify asks the target for its IDENTIFY DEVICE data and keeps it: the
// capacity, LBA48 support and flush command decide how I/O is sent.
func (t *Target) Identify() (*Identity, error) {
	data := make([]byte, wire.SectorSize)
	a := wire.ATA{CmdStatus: wire.ATAIdentify, SectorCount: 1, LBA: 0xA0 << 24}
	req := t.newRequest()
	f := t.newFrame(req, OpIdentify, &a, nil, 1)
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
	if err := t.wait(t.prepare(OpRead, p, len(p), off)); err != nil {
		return 0, err
	}
	return len(p), nil
}

// WriteAt writes whole sectors at off and returns once the target
// acknowledged every one. It implements io.WriterAt.
func (t *Target) WriteAt(p []byte, off int64) (int, error) {
	if err := t.wait(t.prepare(OpWrite, p, len(p), off)); err != nil {
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
	req, frames, err := t.prepare(OpRead, p, len(p), off)
	t.start(req, frames, err, then)
}

// StartReadFrames is StartRead without the copy: the n bytes at off stay
// in the frames they arrived in. then gets them in order as slices of
// those frames (none if err is set), and must call release once it is
// done with them, error or not; until then the buffers are the reader's.
// then runs as StartRead's.
func (t *Target) StartReadFrames(off int64, n int, then func(data [][]byte, release func(), err error)) {
	req, frames, err := t.prepare(OpRead, nil, n, off)
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
	req, frames, err := t.prepare(OpWrite, p, len(p), off)
	t.start(req, frames, err, then)
}

// Kick sends what StartRead and StartWrite queued, as far as the windows
// allow.
func (t *Target) Kick() {
	t.mu.Lock()
	defer t.mu.Unlock()
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
		return &IOError{Target: t.addr, Op: OpFlush, Err: ErrNotIdentified}
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
	return t.run(req, []*frame{t.newFrame(req, OpFlush, &a, nil, 0)})
}

// prepare checks a read or write of the n bytes at off and splits it into
// frames. A nil p on a read keeps the receive buffers instead (the data
// goes to req.chunks). A request with nothing to do, or refused, comes
// back nil, with the error if refused.
func (t *Target) prepare(op Op, p []byte, n int, off int64) (*request, []*frame, error) {
	write, keep := op == OpWrite, p == nil
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
		f := t.dataFrame(req, op, id.LBA48, lba+uint64(s), n, chunk, per)
		if keep {
			f.chunk = len(req.chunks)
			req.chunks = append(req.chunks, nil)
		}
		frames = append(frames, f)
	}
	return req, frames, nil
}

// dataFrame makes the frame that reads or writes n sectors at lba: a
// write sends data, a read lands in data (nil: the request keeps the
// receive buffer). per is the frame size its buffer is made for.
func (t *Target) dataFrame(req *request, op Op, lba48 bool, lba uint64, n int, data []byte, per int) *frame {
	write := op == OpWrite
	a := wire.ATA{SectorCount: uint8(n), LBA: lba}
	switch {
	case lba48 && write:
		a.Flags, a.CmdStatus = wire.ATAFlagLBA48|wire.ATAFlagWrite, wire.ATAWriteExt
	case lba48:
		a.Flags, a.CmdStatus = wire.ATAFlagLBA48, wire.ATAReadExt
	case write:
		a.Flags, a.CmdStatus = wire.ATAFlagWrite, wire.ATAWrite28
	default:
		a.CmdStatus = wire.ATARead28
	}
	if !lba48 {
		// LBA28 keeps the top four address bits in the device
		// register, whose high nibble says "LBA mode" (0xE0).
		a.LBA = a.LBA&0x0fffffff | 0xE0<<24
	}
	var sent []byte
	if write {
		sent = data
	}
	f := t.newFrame(req, op, &a, sent, per)
	f.lba, f.count, f.sample, f.write = lba, n, true, write
	if !write {
		f.dst = data
	}
	return f
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
	defer t.mu.Unlock()
	req.done, req.then = nil, then
	t.submitLocked(req, frames)
}

func (t *Target) newRequest() *request { return &request{done: make(chan struct{})} }

// newFrame encodes an ATA request. data, if any, is referred to, not
// copied: it must stay as it is until the request is over. A new frame's
// buffer holds per sectors, so that the pool's frames fit any request.
func (t *Target) newFrame(req *request, op Op, a *wire.ATA, data []byte, per int) *frame {
	n := ataOverhead + len(data)
	f, _ := t.framePool.Get().(*frame)
	if f == nil || cap(f.buf) < n {
		f = &frame{buf: make([]byte, max(n, ataOverhead+per*wire.SectorSize))}
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
	t.mu.Unlock()
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
			t.mu.completeLocked(req)
		} else {
			close(req.done)
		}
	}
}

// control sends one control command (Reserve/Release or MAC mask list)
// and returns the body of the answer. Like ATA, it is retransmitted until
// answered or the target is dead; a non-zero window makes it a probe.
func (t *Target) control(op Op, cmd wire.Command, body wire.Body, window time.Duration) ([]byte, error) {
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
