package nbd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"sync"
	"sync/atomic"
	"testing"
)

// testPeer plays the kernel's side of one connection: it sends requests
// with random handles, reads replies on its own goroutine and checks the
// rule the kernel enforces by killing the device: every reply answers
// exactly one outstanding request.
type testPeer struct {
	t    testing.TB
	conn net.Conn

	sendMu sync.Mutex // the kernel's tx_lock: one request at a time on the wire

	mu        sync.Mutex
	rng       *rand.Rand
	pending   map[uint64]*call
	replied   []uint64 // handles in the order their replies came
	violation error    // the first reply that answered nothing

	done    chan struct{} // closed when the reply reader stops
	readErr error         // why it stopped; read after done
}

// call is one request and, once done is closed, its answer.
type call struct {
	req   Request
	done  chan struct{}
	errno uint32
	data  []byte
}

func newTestPeer(t testing.TB, conn net.Conn) *testPeer {
	p := &testPeer{
		t:       t,
		conn:    conn,
		rng:     rand.New(rand.NewPCG(rand.Uint64(), 1)),
		pending: make(map[uint64]*call),
		done:    make(chan struct{}),
	}
	go p.readReplies()
	return p
}

// start sends req (with a fresh random handle) and its payload.
func (p *testPeer) start(req Request, payload []byte) *call {
	c := &call{req: req, done: make(chan struct{})}
	p.mu.Lock()
	for {
		c.req.Handle = p.rng.Uint64()
		if _, taken := p.pending[c.req.Handle]; !taken {
			break
		}
	}
	p.pending[c.req.Handle] = c
	p.mu.Unlock()

	b, _ := c.req.AppendBinary(make([]byte, 0, requestSize+len(payload)))
	p.send(append(b, payload...))
	return c
}

// send writes raw bytes, as one request would be.
func (p *testPeer) send(b []byte) {
	p.sendMu.Lock()
	defer p.sendMu.Unlock()
	if _, err := p.conn.Write(b); err != nil {
		p.t.Errorf("peer: send: %v", err)
	}
}

// disc sends NBD_CMD_DISC, which has no reply.
func (p *testPeer) disc() {
	b, _ := Request{Command: CmdDisc}.MarshalBinary()
	p.send(b)
}

// wait returns the answer to c, or an error if the connection ended first.
func (p *testPeer) wait(c *call) (errno uint32, data []byte, err error) {
	select {
	case <-c.done:
		return c.errno, c.data, nil
	case <-p.done:
		select {
		case <-c.done:
			return c.errno, c.data, nil
		default:
			return 0, nil, fmt.Errorf("no reply to %v at %d: connection ended (%v)", c.req.Command, c.req.Offset, p.readErr)
		}
	}
}

// do is start then wait.
func (p *testPeer) do(req Request, payload []byte) (uint32, []byte, error) {
	return p.wait(p.start(req, payload))
}

// await waits for ch, failing the test if the connection ends first.
func (p *testPeer) await(ch <-chan struct{}) {
	p.t.Helper()
	select {
	case <-ch:
	case <-p.done:
		p.t.Fatalf("connection ended while waiting: %v (violation: %v)", p.readErr, p.violation)
	}
}

func (p *testPeer) isDone(c *call) bool {
	select {
	case <-c.done:
		return true
	default:
		return false
	}
}

func (p *testPeer) readReplies() {
	defer close(p.done)
	var hdr [replySize]byte
	for {
		if _, err := io.ReadFull(p.conn, hdr[:]); err != nil {
			p.readErr = err
			return
		}
		var r Reply
		if err := r.UnmarshalBinary(hdr[:]); err != nil {
			p.setViolation(err)
			return
		}
		p.mu.Lock()
		c, ok := p.pending[r.Handle]
		delete(p.pending, r.Handle)
		p.replied = append(p.replied, r.Handle)
		p.mu.Unlock()
		if !ok {
			// The kernel would shut the device down here, and so do we:
			// we cannot even tell whether data follows.
			p.setViolation(fmt.Errorf("reply for handle %#x, which has no request outstanding", r.Handle))
			return
		}
		c.errno = r.Error
		if r.Error == 0 && c.req.Command == CmdRead {
			c.data = make([]byte, c.req.Length)
			if _, err := io.ReadFull(p.conn, c.data); err != nil {
				p.setViolation(fmt.Errorf("read data of %#x: %w", r.Handle, err))
				return
			}
		}
		close(c.done)
	}
}

// setViolation records the first violation and, as the kernel would,
// shuts the connection so that nothing waits on it any more.
func (p *testPeer) setViolation(err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.violation == nil {
		p.violation = err
	}
	p.conn.Close()
}

// finish closes the connection and checks that no reply was stray and no
// request was left without one.
func (p *testPeer) finish() {
	p.t.Helper()
	p.conn.Close()
	<-p.done
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.violation != nil {
		p.t.Errorf("peer: %v", p.violation)
	}
	for h, c := range p.pending {
		p.t.Errorf("peer: %v at %d (handle %#x) never answered", c.req.Command, c.req.Offset, h)
	}
}

// repliedOrder returns the handles in the order they were answered.
func (p *testPeer) repliedOrder() []uint64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]uint64(nil), p.replied...)
}

// memBackend is an in-memory disk with hooks that let a test slow down or
// fail chosen requests.
type memBackend struct {
	mu   sync.Mutex
	data []byte

	reads, writes, flushes atomic.Int64

	// Hooks run before the operation; a non-nil error fails it. They may
	// block.
	onRead  func(off int64, n int) error
	onWrite func(off int64, n int) error
	onFlush func() error
}

func newMemBackend(size int64) *memBackend {
	return &memBackend{data: make([]byte, size)}
}

func (m *memBackend) ReadAt(p []byte, off int64) (int, error) {
	m.reads.Add(1)
	if m.onRead != nil {
		if err := m.onRead(off, len(p)); err != nil {
			return 0, err
		}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if off < 0 || off+int64(len(p)) > int64(len(m.data)) {
		return 0, errors.New("memBackend: out of range")
	}
	return copy(p, m.data[off:]), nil
}

func (m *memBackend) WriteAt(p []byte, off int64) (int, error) {
	m.writes.Add(1)
	if m.onWrite != nil {
		if err := m.onWrite(off, len(p)); err != nil {
			return 0, err
		}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if off < 0 || off+int64(len(p)) > int64(len(m.data)) {
		return 0, errors.New("memBackend: out of range")
	}
	return copy(m.data[off:], p), nil
}

func (m *memBackend) Flush() error {
	m.flushes.Add(1)
	if m.onFlush != nil {
		return m.onFlush()
	}
	return nil
}

func (m *memBackend) snapshot(off int64, n int) []byte {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]byte(nil), m.data[off:off+int64(n)]...)
}

// serveConn runs Serve on one end of conns and returns a peer on the other
// end and Serve's result.
func serveConn(t testing.TB, server, client net.Conn, b Backend, opts Options) (*testPeer, <-chan error) {
	return serveConnCtx(t, context.Background(), server, client, b, opts)
}

func serveConnCtx(t testing.TB, ctx context.Context, server, client net.Conn, b Backend, opts Options) (*testPeer, <-chan error) {
	t.Helper()
	result := make(chan error, 1)
	go func() {
		err := Serve(ctx, server, b, opts)
		server.Close() // as Attach does, so that a peer still sending is not left hanging
		result <- err
	}()
	t.Cleanup(func() { server.Close(); client.Close() })
	return newTestPeer(t, client), result
}
