package memnet

import (
	"errors"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/goaoe/goaoe/initiator/wire"
)

// Impairment is what the switch does to frames; zero passes them intact.
type Impairment struct {
	Loss      float64 // probability a frame is dropped
	Duplicate float64 // probability a frame is delivered twice
	Reorder   float64 // probability a frame is held back behind later ones
	Delay     time.Duration
	Jitter    time.Duration // extra delay, uniform in [0, Jitter)
}

// Network is one Ethernet segment: a switch that delivers by destination
// MAC and floods broadcasts.
type Network struct {
	mu    sync.Mutex
	rng   *rand.Rand
	imp   Impairment
	ports []*Port
}

// New makes a segment whose impairments draw from a seeded generator, so a
// failing run can be repeated.
func New(seed uint64) *Network {
	return &Network{rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))}
}

// SetImpairment changes what happens to frames from now on.
func (n *Network) SetImpairment(imp Impairment) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.imp = imp
}

// inboxLen is how many frames a port holds before it drops, like a NIC ring.
const inboxLen = 4096

// NewPort attaches a port to the segment.
func (n *Network) NewPort(name string, mac wire.MAC, mtu int) *Port {
	p := &Port{net: n, name: name, mac: mac, inbox: make(chan []byte, inboxLen), closed: make(chan struct{}), up: true}
	p.mtu.Store(int64(mtu))
	n.mu.Lock()
	n.ports = append(n.ports, p)
	n.mu.Unlock()
	return p
}

// deliver carries one frame from src across the switch.
func (n *Network) deliver(src *Port, frame []byte) {
	n.mu.Lock()
	if !src.up || len(frame) < wire.EthernetHeaderLen {
		n.mu.Unlock()
		return
	}
	var dst wire.MAC
	copy(dst[:], frame[:6])
	var to []*Port
	var toDelay []time.Duration
	for _, p := range n.ports {
		if p != src && p.up && (dst == wire.BroadcastMAC || dst == p.mac) {
			to = append(to, p)
			toDelay = append(toDelay, p.delay)
		}
	}
	// Both ends' extra delays apply, so a slow port is slow both ways.
	now := time.Now()
	extra := src.delay
	wait, ok := src.serialize(&src.nextOut, now, len(frame))
	if !ok {
		n.mu.Unlock()
		return
	}
	extra += wait
	for i, p := range to {
		in, ok := p.serialize(&p.nextIn, now.Add(extra), len(frame))
		if !ok {
			toDelay[i] = -1
			continue
		}
		toDelay[i] += in
	}
	imp := n.imp
	copies := 1
	if n.rng.Float64() < imp.Loss {
		copies = 0
	} else if n.rng.Float64() < imp.Duplicate {
		copies = 2
	}
	delays := make([]time.Duration, copies)
	for i := range delays {
		d := imp.Delay + extra
		if imp.Jitter > 0 {
			d += time.Duration(n.rng.Int64N(int64(imp.Jitter)))
		}
		if n.rng.Float64() < imp.Reorder {
			d += imp.Delay + imp.Jitter + time.Millisecond
		}
		delays[i] = d
	}
	n.mu.Unlock()
	for i, p := range to {
		if toDelay[i] < 0 {
			continue // the receiving port's queue was full
		}
		for _, d := range delays {
			d += toDelay[i]
			b := append([]byte(nil), frame...)
			if d == 0 {
				p.push(b)
				continue
			}
			time.AfterFunc(d, func() { p.push(b) })
		}
	}
}

// Port is one interface on the segment. It implements initiator.Port.
type Port struct {
	net    *Network
	name   string
	mac    wire.MAC
	mtu    atomic.Int64 // SetMTU changes it under a running engine
	inbox  chan []byte
	closed chan struct{}
	once   sync.Once
	up     bool          // guarded by net.mu
	delay  time.Duration // guarded by net.mu
	// rate limits the port like a token bucket on a real link: frames in
	// each direction queue behind one another; what would wait longer
	// than maxQueueDelay is dropped. Guarded by net.mu.
	rate            float64 // bytes per second, 0 = unlimited
	nextIn, nextOut time.Time
}

// maxQueueDelay bounds a rate-limited port's queue, as tbf's latency does.
const maxQueueDelay = 50 * time.Millisecond

// SetRate limits the port to bytesPerSec in each direction (0 = no limit).
func (p *Port) SetRate(bytesPerSec float64) {
	p.net.mu.Lock()
	defer p.net.mu.Unlock()
	p.rate = bytesPerSec
}

// serialize books a frame of n bytes onto a rate-limited direction whose
// queue frees at *next, and returns the extra delay, or false to drop it.
func (p *Port) serialize(next *time.Time, now time.Time, n int) (time.Duration, bool) {
	if p.rate == 0 {
		return 0, true
	}
	start := now
	if next.After(now) {
		start = *next
	}
	if start.Sub(now) > maxQueueDelay {
		return 0, false
	}
	*next = start.Add(time.Duration(float64(n) / p.rate * float64(time.Second)))
	return next.Sub(now), true
}

// SetDelay adds a fixed delay to every frame this port sends or receives:
// a slower path than its neighbours.
func (p *Port) SetDelay(d time.Duration) {
	p.net.mu.Lock()
	defer p.net.mu.Unlock()
	p.delay = d
}

func (p *Port) Name() string  { return p.name }
func (p *Port) MAC() wire.MAC { return p.mac }
func (p *Port) MTU() int      { return int(p.mtu.Load()) }

// SetMTU changes the port's MTU, as "ip link set DEV mtu N" does: frames
// larger than it are refused from then on.
func (p *Port) SetMTU(mtu int) { p.mtu.Store(int64(mtu)) }

// SetUp plugs the port in or out: a port that is down sends and receives
// nothing.
func (p *Port) SetUp(up bool) {
	p.net.mu.Lock()
	defer p.net.mu.Unlock()
	p.up = up
}

// Send implements initiator.Port.
func (p *Port) Send(frames [][]byte) error {
	select {
	case <-p.closed:
		return ErrClosed
	default:
	}
	for _, f := range frames {
		if len(f) > p.MTU()+wire.EthernetHeaderLen {
			return errors.New("memnet: frame larger than the MTU")
		}
		p.net.deliver(p, f)
	}
	return nil
}

// ErrClosed is what a closed port's Send and Receive return.
var ErrClosed = errors.New("memnet: port closed")

// Receive implements initiator.Port.
func (p *Port) Receive(bufs [][]byte, sizes []int) (int, error) {
	select {
	case f := <-p.inbox:
		sizes[0] = copy(bufs[0], f)
	case <-p.closed:
		return 0, ErrClosed
	}
	n := 1
	for n < len(bufs) {
		select {
		case f := <-p.inbox:
			sizes[n] = copy(bufs[n], f)
			n++
		default:
			return n, nil
		}
	}
	return n, nil
}

// Close implements initiator.Port.
func (p *Port) Close() error {
	p.once.Do(func() { close(p.closed) })
	return nil
}

// push queues a frame for Receive, dropping it if the ring is full.
func (p *Port) push(f []byte) {
	select {
	case p.inbox <- f:
	default:
	}
}
