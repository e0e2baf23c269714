package nbdtest

import (
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"sync"
	"testing"

	"github.com/goaoe/goaoe/nbd/server"
)

// replySize is a reply header's length, taken from the encoder so that it
// cannot drift from the server's.
var replySize = func() int {
	b, _ := server.Reply{}.MarshalBinary()
	return len(b)
}()

// Peer plays the kernel's side of one connection: it sends requests with
// random handles, reads replies on its own goroutine and checks the rule
// the kernel enforces by killing the device: every reply answers exactly
// one outstanding request.
type Peer struct {
	t    testing.TB
	conn net.Conn

	sendMu sync.Mutex // the kernel's tx_lock: one request at a time on the wire

	mu        sync.Mutex
	rng       *rand.Rand
	pending   map[uint64]*Call
	replied   []uint64 // handles in the order their replies came
	violation error    // the first reply that answered nothing

	done    chan struct{} // closed when the reply reader stops
	readErr error         // why it stopped; read after done
}

// Call is one request and, once it is answered, its answer.
type Call struct {
	// Req is the request as sent, with the handle Start gave it.
	Req  server.Request
	done chan struct{}
	// Errno is the reply's error; read it only once the call is answered.
	Errno uint32
	data  []byte
}

// NewPeer starts reading replies from conn.
func NewPeer(t testing.TB, conn net.Conn) *Peer {
	p := &Peer{
		t:       t,
		conn:    conn,
		rng:     rand.New(rand.NewPCG(rand.Uint64(), 1)),
		pending: make(map[uint64]*Call),
		done:    make(chan struct{}),
	}
	go p.readReplies()
	return p
}

// Start sends req (with a fresh random handle) and its payload.
func (p *Peer) Start(req server.Request, payload []byte) *Call {
	c := &Call{Req: req, done: make(chan struct{})}
	p.mu.Lock()
	for {
		c.Req.Handle = p.rng.Uint64()
		if _, taken := p.pending[c.Req.Handle]; !taken {
			break
		}
	}
	p.pending[c.Req.Handle] = c
	p.mu.Unlock()

	b, _ := c.Req.MarshalBinary()
	p.Send(append(b, payload...))
	return c
}

// Send writes raw bytes, as one request would be.
func (p *Peer) Send(b []byte) {
	p.sendMu.Lock()
	defer p.sendMu.Unlock()
	if _, err := p.conn.Write(b); err != nil {
		p.t.Errorf("peer: send: %v", err)
	}
}

// Disc sends NBD_CMD_DISC, which has no reply.
func (p *Peer) Disc() {
	b, _ := server.Request{Command: server.CmdDisc}.MarshalBinary()
	p.Send(b)
}

// Wait returns the answer to c, or an error if the connection ended first.
func (p *Peer) Wait(c *Call) (errno uint32, data []byte, err error) {
	select {
	case <-c.done:
		return c.Errno, c.data, nil
	case <-p.done:
		select {
		case <-c.done:
			return c.Errno, c.data, nil
		default:
			return 0, nil, fmt.Errorf("no reply to %v at %d: connection ended (%v)", c.Req.Command, c.Req.Offset, p.readErr)
		}
	}
}

// Do is Start then Wait.
func (p *Peer) Do(req server.Request, payload []byte) (uint32, []byte, error) {
	return p.Wait(p.Start(req, payload))
}

// Await waits for ch, failing the test if the connection ends first.
func (p *Peer) Await(ch <-chan struct{}) {
	p.t.Helper()
	select {
	case <-ch:
	case <-p.done:
		p.t.Fatalf("connection ended while waiting: %v (violation: %v)", p.readErr, p.violation)
	}
}

// IsDone reports whether c has been answered.
func (p *Peer) IsDone(c *Call) bool {
	select {
	case <-c.done:
		return true
	default:
		return false
	}
}

// Done is closed when the peer stops reading replies: the connection
// ended, or a reply broke the rule.
func (p *Peer) Done() <-chan struct{} { return p.done }

// Close shuts the connection, as the kernel's CLEAR_SOCK does.
func (p *Peer) Close() error { return p.conn.Close() }

func (p *Peer) readReplies() {
	defer close(p.done)
	hdr := make([]byte, replySize)
	for {
		if _, err := io.ReadFull(p.conn, hdr); err != nil {
			p.readErr = err
			return
		}
		var r server.Reply
		if err := r.UnmarshalBinary(hdr); err != nil {
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
		c.Errno = r.Error
		if r.Error == 0 && c.Req.Command == server.CmdRead {
			c.data = make([]byte, c.Req.Length)
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
func (p *Peer) setViolation(err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.violation == nil {
		p.violation = err
	}
	p.conn.Close()
}

// Finish closes the connection and checks that no reply was stray and no
// request was left without one.
func (p *Peer) Finish() {
	p.t.Helper()
	p.conn.Close()
	<-p.done
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.violation != nil {
		p.t.Errorf("peer: %v", p.violation)
	}
	for h, c := range p.pending {
		p.t.Errorf("peer: %v at %d (handle %#x) never answered", c.Req.Command, c.Req.Offset, h)
	}
}

// RepliedOrder returns the handles in the order they were answered.
func (p *Peer) RepliedOrder() []uint64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]uint64(nil), p.replied...)
}
