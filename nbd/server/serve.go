package server

// The flow of requests on one connection:
//
//	socket ─► readRequests   one goroutine: decodes a header, reads a WRITE's
//	             │           payload in full, refuses what is malformed
//	             │ jobs      unbuffered: at most Workers+1 requests in memory
//	             ▼
//	          work × Workers calls the Backend and builds exactly one reply
//	             │ send      one mutex: a header and its data are one Write
//	             ▼
//	          socket
//
// Every request but DISC becomes exactly one job and every job ends in
// exactly one send; nothing else writes to the socket. A Backend that is
// also a Starter takes plain READs and WRITEs past the workers (started.go).

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"
)

// Backend is what a device serves; the AoE engine implements it.
//
// Its methods are called concurrently, up to Options.Workers at a time per
// connection. ReadAt and WriteAt follow io.ReaderAt and io.WriterAt.
// WriteAt must return only once the target holds the data, because its
// return is what the kernel is told. Flush must make durable every write
// that returned before Flush was called, whichever connection served it.
type Backend interface {
	ReadAt(p []byte, off int64) (int, error)
	WriteAt(p []byte, off int64) (int, error)
	Flush() error
}

// readBufferSize lets one read(2) bring in many request headers at once.
const readBufferSize = 64 << 10

// aLongTimeAgo is a read deadline that has already passed: setting it
// wakes a reader blocked in Read.
var aLongTimeAgo = time.Unix(1, 0)

// buffers is shared by all connections so that they reuse each other's
// buffers.
var buffers bufferPool

// Serve answers the requests of one NBD connection (the transmission phase;
// the kernel never negotiates) until the peer sends DISC, then waits for
// the requests in flight to be answered, flushes the Backend if a write was
// acknowledged since the last flush, and returns nil. It is our end of the
// socket that nbd.Attach hands the kernel, and tests drive it directly.
//
// Serve returns an error wrapping ErrProtocol if the peer breaks the
// framing (bad magic, truncated header or payload), io.EOF if the peer
// closes between requests without DISC, or the error of a failed reply
// write. Requests already read are still served before it returns.
//
// Cancelling ctx stops reading new requests, serves those already read and
// returns ctx.Err(). It interrupts a blocked read only if conn has a
// SetReadDeadline method (net.Conn does). To detach a kernel device
// cleanly, have the kernel send DISC instead (nbd.Disconnect, or cancel
// nbd.Attach's context).
//
// Serve never closes conn.
func Serve(ctx context.Context, conn io.ReadWriter, b Backend, opts Options) error {
	opts, err := opts.WithDefaults()
	if err != nil {
		return err
	}
	s := &server{
		conn:    conn,
		backend: b,
		opts:    opts,
		jobs:    make(chan job),
	}
	stop := context.AfterFunc(ctx, s.interrupt)
	defer stop()

	s.workers.Add(opts.Workers)
	for range opts.Workers {
		go s.work()
	}
	if st, ok := b.(Starter); ok {
		fr, _ := b.(FrameReader)
		s.st = starting{
			starter: st,
			frames:  fr,
			slots:   make(chan struct{}, opts.Workers),
			wake:    make(chan struct{}, 1),
			stop:    make(chan struct{}),
			stopped: make(chan struct{}),
		}
		go s.replyWriter()
	}
	readErr := s.readRequests()
	close(s.jobs)
	s.workers.Wait()
	if s.st.starter != nil {
		s.st.inflight.Wait()
		close(s.st.stop)
		<-s.st.stopped
	}
	return s.result(ctx, readErr)
}

type server struct {
	conn    io.ReadWriter
	backend Backend
	opts    Options

	jobs    chan job
	workers sync.WaitGroup
	st      starting // the started path, if the Backend is a Starter

	sendMu  sync.Mutex
	sendErr error // first failed reply write; after it nothing more is sent

	// disconnecting is set when DISC arrives. From then on the peer may
	// close the socket under our last replies, and that is not an error.
	disconnecting atomic.Bool

	// written counts completed writes; flushed is the value written had
	// when the last successful Flush began. written > flushed means some
	// acknowledged write may still sit in a volatile cache.
	written atomic.Uint64
	flushed atomic.Uint64
}

// job is one request on its way from the reader to a worker.
type job struct {
	req     Request
	payload *[]byte // WRITE data, read in full by the reader; from buffers
	refused error   // non-nil: answer with this, never call the Backend
}

// readRequests is the only reader of the socket. It returns nil on DISC.
// Whatever it started is kicked before it could wait for the peer, and
// before it returns.
func (s *server) readRequests() error {
	r := bufio.NewReaderSize(s.conn, readBufferSize)
	var hdr [requestSize]byte
	defer s.kick()
	for {
		if r.Buffered() < requestSize {
			s.kick()
		}
		if n, err := io.ReadFull(r, hdr[:]); err != nil {
			return headerError(n, err)
		}
		var req Request
		if err := req.UnmarshalBinary(hdr[:]); err != nil {
			return err
		}
		if req.Command == CmdDisc {
			s.disconnecting.Store(true)
			return nil
		}
		j := job{req: req, refused: s.check(req)}
		if req.Command == CmdWrite {
			if r.Buffered() < int(req.Length) {
				s.kick()
			}
			if err := s.readPayload(r, &j); err != nil {
				return err
			}
		}
		if s.canStart(j) {
			s.start(j)
			continue
		}
		s.kick() // a worker may have to wait for what was started
		s.jobs <- j
	}
}

func headerError(n int, err error) error {
	switch {
	case errors.Is(err, io.EOF):
		return fmt.Errorf("nbd: peer closed the connection: %w", err)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return fmt.Errorf("%w: truncated request header (%d of %d bytes): %w",
			ErrProtocol, n, requestSize, err)
	}
	return fmt.Errorf("nbd: read request: %w", err)
}

// readPayload takes a WRITE's data off the stream. A refused WRITE's
// payload is still on the wire and must be consumed, or its bytes would be
// parsed as the next headers. It is drained through a small scratch buffer
// (io.Discard's), never allocated, so even a refused 4 GiB length costs no
// memory; we trust the peer to send the length it announced, and a peer
// that lies is caught by the next header's magic.
func (s *server) readPayload(r io.Reader, j *job) error {
	n := int64(j.req.Length)
	if j.refused != nil {
		if got, err := io.CopyN(io.Discard, r, n); err != nil {
			return payloadError(got, n, err)
		}
		return nil
	}
	if n == 0 {
		return nil
	}
	j.payload = buffers.get(int(n))
	if got, err := io.ReadFull(r, *j.payload); err != nil {
		buffers.put(j.payload)
		return payloadError(int64(got), n, err)
	}
	return nil
}

func payloadError(got, want int64, err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("%w: truncated write payload (%d of %d bytes): %w",
			ErrProtocol, got, want, io.ErrUnexpectedEOF)
	}
	return fmt.Errorf("nbd: read write payload: %w", err)
}

// check decides whether a request may reach the Backend. The errnos follow
// doc/proto.md: EPERM for a write to a read-only export, EINVAL for the
// rest. Requests are checked in full before any buffer is allocated.
func (s *server) check(r Request) error {
	// FUA is meaningful on WRITE and harmless elsewhere; any other flag
	// asks for semantics we do not implement.
	if r.Flags&^FlagFUA != 0 {
		return ErrUnsupported
	}
	switch r.Command {
	case CmdFlush:
		return nil // offset and length carry nothing
	case CmdRead:
	case CmdWrite:
		if s.opts.ReadOnly {
			return ErrReadOnly
		}
	default:
		// TRIM and WRITE_ZEROES are not advertised; the kernel never sends
		// them, and an unknown command has no payload we could skip.
		return ErrUnsupported
	}
	size, bs, off, n := uint64(s.opts.Size), uint64(s.opts.BlockSize), r.Offset, uint64(r.Length)
	if s.opts.LiveSize != nil {
		size = uint64(s.opts.LiveSize.Load())
	}
	switch {
	case n > MaxRequestLength:
		return ErrTooLong
	case off%bs != 0 || n%bs != 0:
		return ErrUnaligned
	case off > size || n > size-off: // written so that it cannot overflow
		return ErrOutOfRange
	}
	return nil
}

// work serves jobs until the reader stops.
func (s *server) work() {
	defer s.workers.Done()
	hdr := make([]byte, 0, replySize) // reused for every reply without data
	for j := range s.jobs {
		s.serve(j, hdr)
	}
}

// serve answers one job with exactly one reply.
func (s *server) serve(j job, hdr []byte) {
	if j.payload != nil {
		defer buffers.put(j.payload)
	}
	if j.refused != nil {
		s.replyError(j.req, j.refused, hdr)
		return
	}
	var err error
	switch j.req.Command {
	case CmdRead:
		err = s.read(j.req)
	case CmdWrite:
		err = s.write(j)
	case CmdFlush:
		err = s.flush()
	}
	if err != nil {
		s.replyError(j.req, err, hdr)
		return
	}
	if j.req.Command != CmdRead { // read sent its reply along with the data
		s.replyOK(j.req, hdr)
	}
}

// read fetches the data and, on success, sends the reply itself: the header
// goes into the headroom in front of the data so that both leave in a
// single Write.
func (s *server) read(req Request) error {
	n := int(req.Length)
	buf := buffers.get(replySize + n)
	defer buffers.put(buf)
	b := *buf
	if err := readFull(s.backend, b[replySize:], int64(req.Offset)); err != nil {
		return err
	}
	_, _ = Reply{Handle: req.Handle}.AppendBinary(b[:0])
	s.send(b)
	return nil
}

// readFull holds the Backend to io.ReaderAt: a full read may come with
// io.EOF at the end of the device, anything short is a failure.
func readFull(b Backend, p []byte, off int64) error {
	if len(p) == 0 {
		return nil
	}
	n, err := b.ReadAt(p, off)
	switch {
	case n == len(p) && (err == nil || err == io.EOF):
		return nil
	case err == nil:
		return fmt.Errorf("nbd: short read: %d of %d bytes: %w", n, len(p), io.ErrUnexpectedEOF)
	}
	return err
}

// write stores the payload and, for FUA, flushes before it is acknowledged.
func (s *server) write(j job) error {
	if j.payload != nil {
		p := *j.payload
		n, err := s.backend.WriteAt(p, int64(j.req.Offset))
		if err == nil && n < len(p) {
			err = fmt.Errorf("nbd: short write: %d of %d bytes: %w", n, len(p), io.ErrShortWrite)
		}
		if err != nil {
			return err
		}
		s.written.Add(1)
	}
	if j.req.Flags&FlagFUA != 0 {
		return s.flush()
	}
	return nil
}

// flush asks the Backend to make completed writes durable. On a read-only
// device nothing of ours can be dirty, and a read-only target may refuse
// the command, so it is answered at once.
func (s *server) flush() error {
	if s.opts.ReadOnly {
		return nil
	}
	w := s.written.Load() // every write counted here is covered by the Flush below
	if err := s.backend.Flush(); err != nil {
		return err
	}
	for {
		f := s.flushed.Load()
		if f >= w || s.flushed.CompareAndSwap(f, w) {
			return nil
		}
	}
}

func (s *server) replyOK(req Request, hdr []byte) {
	b, _ := Reply{Handle: req.Handle}.AppendBinary(hdr[:0])
	s.send(b)
}

func (s *server) replyError(req Request, err error, hdr []byte) {
	s.report(req, err)
	b, _ := Reply{Error: uint32(errnoOf(err)), Handle: req.Handle}.AppendBinary(hdr[:0])
	s.send(b)
}

// report tells OnError, if set, of a failed request.
func (s *server) report(req Request, err error) {
	if s.opts.OnError != nil {
		s.opts.OnError(req.Command.String(), int64(req.Offset), int(req.Length), err)
	}
}

// send writes one whole reply. After a failed write nothing more is sent:
// a partial reply has already desynchronised the stream, and the peer is
// most likely gone. The reader is left to run into the peer's EOF rather
// than interrupted, because a DISC may still be waiting in the socket
// (nbd-client -d shuts the socket right after sending it), and a DISC
// turns this failure into a normal end.
func (s *server) send(b []byte) {
	s.sendMu.Lock()
	defer s.sendMu.Unlock()
	if s.sendErr != nil {
		return
	}
	if _, err := s.conn.Write(b); err != nil {
		s.sendErr = err
	}
}

// interrupt wakes the reader, when ctx is cancelled, if the connection
// supports deadlines.
func (s *server) interrupt() {
	if d, ok := s.conn.(interface{ SetReadDeadline(time.Time) error }); ok {
		_ = d.SetReadDeadline(aLongTimeAgo)
	}
}

// result is Serve's return value, once every job has been answered.
func (s *server) result(ctx context.Context, readErr error) error {
	if s.disconnecting.Load() {
		// The peer's own flush (if any) came before DISC. Flush again if a
		// write was acknowledged after it, so that a detach never leaves
		// acknowledged data in the target's volatile cache. Failed replies
		// are ignored here: nbd-client -d shuts the socket right after DISC.
		if s.written.Load() > s.flushed.Load() {
			if err := s.flush(); err != nil {
				return fmt.Errorf("nbd: flush on disconnect: %w", err)
			}
		}
		return nil
	}
	s.sendMu.Lock()
	sendErr := s.sendErr
	s.sendMu.Unlock()
	switch {
	case sendErr != nil:
		return fmt.Errorf("nbd: send reply: %w", sendErr)
	case ctx.Err() != nil:
		return ctx.Err()
	}
	return readErr
}
