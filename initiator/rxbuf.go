package initiator

import (
	"sync"

	"github.com/goaoe/goaoe/initiator/wire"
)

// A read started with StartReadFrames keeps the receive buffers its data
// arrived in, rather than copying the data out: on a virtual machine a
// copy costs about as much as everything else a jumbo frame needs. The
// receive loop then takes a fresh buffer, and the reader gives the kept
// one back when it is done with the data.

// rxSlack is room past the MTU and Ethernet header (a VLAN tag, say), so
// that no frame the interface delivers is cut short.
const rxSlack = 64

// rxBuf is one receive buffer.
type rxBuf struct {
	b    []byte
	pool *rxPool // where it goes back
}

// rxPool recycles the receive buffers of one size.
type rxPool struct {
	size int
	pool sync.Pool // of *rxBuf
}

func (p *rxPool) get() *rxBuf {
	if b, ok := p.pool.Get().(*rxBuf); ok {
		return b
	}
	return &rxBuf{b: make([]byte, p.size), pool: p}
}

// release gives a kept buffer back.
func (b *rxBuf) release() { b.pool.pool.Put(b) }

// rxBufs is a receive loop's batch of buffers, sized to the port's MTU.
type rxBufs struct {
	pool *rxPool
	held []*rxBuf
	bufs [][]byte // held[i].b, as Port.Receive takes them
}

// fit sizes the buffers for mtu, anew only if it changed: frames already
// kept stay valid, and go back to their old pool, which is then dropped.
func (r *rxBufs) fit(mtu int) {
	size := max(mtu, 1500) + wire.EthernetHeaderLen + rxSlack
	if r.pool != nil && r.pool.size == size {
		return
	}
	r.pool = &rxPool{size: size}
	r.held = make([]*rxBuf, receiveBatch)
	r.bufs = make([][]byte, receiveBatch)
	for i := range r.held {
		r.replace(i)
	}
}

// replace puts a fresh buffer in slot i, whose buffer was kept.
func (r *rxBufs) replace(i int) {
	r.held[i] = r.pool.get()
	r.bufs[i] = r.held[i].b
}
