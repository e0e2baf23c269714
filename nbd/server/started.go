package server

// The started path: for a Backend that is also a Starter, READ and WRITE
// (without FUA) skip the workers.
//
//	socket ─► readRequests ─Start─► Backend ··· then ─► finished ─► replyWriter ─► socket
//	              └─ Kick before it could block (a batch of requests, one send)
//
// On a virtual machine each goroutine hand-off and each system call is
// dear; this way a request costs one of each per direction, and replies
// that finish together leave in one write.

import (
	"fmt"
	"io"
	"net"
	"sync"
)

// Starter is a Backend that can also start reads and writes without
// waiting for them. The AoE engine's Target is one.
//
// StartRead and StartWrite must call then exactly once, with what ReadAt
// or WriteAt would have returned as error, when the request is over; then
// never blocks, and may be called from any goroutine, before Start returns
// too. Nothing need be sent before Kick: Serve calls it before it could
// wait for the peer, so requests that arrive together go out together.
// The buffer is the Starter's until then is called.
type Starter interface {
	StartRead(p []byte, off int64, then func(error))
	StartWrite(p []byte, off int64, then func(error))
	Kick()
}

// FrameReader is a Starter that can also read without copying: the data
// arrives as slices of the Starter's own buffers (the AoE engine's receive
// buffers), which go to the socket as they are and are given back with
// release once written. then is called as StartRead's; release must be
// called once whatever err is.
type FrameReader interface {
	StartReadFrames(off int64, n int, then func(data [][]byte, release func(), err error))
}

// startedReq is one request on the started path.
type startedReq struct {
	req Request
	buf *[]byte // READ: reply header room, then the data; WRITE: the payload
	err error
	// A READ through a FrameReader has its data here instead of in buf.
	data    [][]byte
	release func()
}

// starting is the server's state for the started path.
type starting struct {
	starter  Starter
	frames   FrameReader   // the starter, if it is one
	slots    chan struct{} // one per started request not yet answered
	inflight sync.WaitGroup
	unkicked bool // set by the reader: something was started since the last Kick

	mu       sync.Mutex
	finished []*startedReq
	// answering is set while finish answers a request itself, in alone.
	answering bool
	alone     replyBatch
	wake      chan struct{} // cap 1: finished is not empty
	stop      chan struct{} // closed once every started request was answered
	stopped   chan struct{}
}

// canStart reports whether j goes the started path: a plain READ or WRITE
// with data. FUA writes need a Flush after them, and they are rare.
func (s *server) canStart(j job) bool {
	c := j.req.Command
	return s.st.starter != nil && j.refused == nil && j.req.Length > 0 &&
		(c == CmdRead || c == CmdWrite && j.req.Flags&FlagFUA == 0)
}

// kick sends what was started, if anything; only the reader calls it.
func (s *server) kick() {
	if s.st.unkicked {
		s.st.unkicked = false
		s.st.starter.Kick()
	}
}

// start hands j to the Starter. Only the reader calls it.
func (s *server) start(j job) {
	select {
	case s.st.slots <- struct{}{}:
	default:
		// Full: what is waiting for the wire must go before we wait.
		s.kick()
		s.st.slots <- struct{}{}
	}
	s.st.inflight.Add(1)
	s.st.unkicked = true
	r := &startedReq{req: j.req}
	then := func(err error) { r.err = err; s.finish(r) }
	off, n := int64(j.req.Offset), int(j.req.Length)
	switch {
	case j.req.Command == CmdWrite:
		r.buf = j.payload
		s.st.starter.StartWrite(*r.buf, off, then)
	case s.st.frames != nil:
		s.st.frames.StartReadFrames(off, n, func(data [][]byte, release func(), err error) {
			r.data, r.release = data, release
			then(err)
		})
	default:
		r.buf = buffers.get(replySize + n)
		s.st.starter.StartRead((*r.buf)[replySize:], off, then)
	}
}

// finish answers a finished request: at once, from the goroutine that
// finished it, when it is the only one started (one request at a time, a
// hand-off to the reply writer would cost a thread wakeup, dear on a
// virtual machine, for nothing to batch); otherwise through the reply
// writer, which batches. It blocks only as long as that one write.
func (s *server) finish(r *startedReq) {
	s.st.mu.Lock()
	if !s.st.answering && len(s.st.finished) == 0 && len(s.st.slots) == 1 {
		s.st.answering = true
		s.st.mu.Unlock()
		w := &s.st.alone
		w.batch = append(w.batch, r)
		s.answer(w)
		s.st.mu.Lock()
		s.st.answering = false
		s.st.mu.Unlock()
		return
	}
	s.st.finished = append(s.st.finished, r)
	s.st.mu.Unlock()
	select {
	case s.st.wake <- struct{}{}:
	default:
	}
}

// replyWriter answers finished requests, all that finished together in
// one write, until stop is closed.
func (s *server) replyWriter() {
	defer close(s.st.stopped)
	var w replyBatch
	for {
		select {
		case <-s.st.wake:
		case <-s.st.stop:
			return // every started request was answered before stop
		}
		s.st.mu.Lock()
		w.batch, s.st.finished = s.st.finished, w.batch[:0]
		s.st.mu.Unlock()
		if len(w.batch) > 0 {
			s.answer(&w)
		}
	}
}

// replyBatch is the reusable room for answering a batch of requests.
type replyBatch struct {
	batch []*startedReq
	hdrs  []byte
	out   net.Buffers
}

// answer writes the replies of w.batch in one write and gives back what
// they held.
func (s *server) answer(w *replyBatch) {
	w.hdrs = w.hdrs[:0]
	if need := replySize * len(w.batch); cap(w.hdrs) < need {
		w.hdrs = make([]byte, 0, need)
	}
	w.out = w.out[:0]
	for _, r := range w.batch {
		if r.err == nil && r.release != nil && !lengthIs(r.data, int(r.req.Length)) {
			// Never a short reply: it would put the stream out of step.
			r.err = fmt.Errorf("nbd: backend returned the wrong amount of data for %d bytes: %w", r.req.Length, io.ErrUnexpectedEOF)
		}
		rep := Reply{Handle: r.req.Handle}
		switch {
		case r.err != nil:
			s.report(r.req, r.err)
			rep.Error = uint32(errnoOf(r.err))
		case r.req.Command == CmdWrite:
			// Counted before the reply leaves: flush-on-disconnect
			// must see every acknowledged write.
			s.written.Add(1)
		case r.release == nil:
			// A READ into our buffer: the header goes in its headroom.
			_, _ = rep.AppendBinary((*r.buf)[:0])
			w.out = append(w.out, *r.buf)
			continue
		}
		at := len(w.hdrs)
		w.hdrs, _ = rep.AppendBinary(w.hdrs)
		w.out = append(w.out, w.hdrs[at:])
		if r.err == nil && r.release != nil {
			w.out = append(w.out, r.data...)
		}
	}
	send := w.out // WriteTo consumes its slice; out keeps its capacity
	s.sendBuffers(&send)
	clear(w.out)
	for i, r := range w.batch {
		if r.release != nil {
			r.release()
		} else {
			buffers.put(r.buf)
		}
		w.batch[i] = nil
		<-s.st.slots
		s.st.inflight.Done()
	}
	w.batch = w.batch[:0]
}

func lengthIs(data [][]byte, n int) bool {
	for _, d := range data {
		n -= len(d)
	}
	return n == 0
}

// sendBuffers writes whole replies in one go, as send does one.
func (s *server) sendBuffers(b *net.Buffers) {
	s.sendMu.Lock()
	defer s.sendMu.Unlock()
	if s.sendErr != nil {
		return
	}
	if _, err := b.WriteTo(s.conn); err != nil {
		s.sendErr = err
	}
}
