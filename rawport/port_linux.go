package rawport

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/mdlayher/packet"
	"golang.org/x/sys/unix"

	"github.com/goaoe/goaoe/initiator/wire"
)

// ethHeaderLen is the Ethernet header: destination, source, EtherType.
const ethHeaderLen = 14

// Port is one Ethernet interface opened for AoE. It implements
// initiator.Port. Its methods are safe for concurrent use.
type Port struct {
	name  string
	index int
	mac   wire.MAC
	conn  *packet.Conn
	raw   syscall.RawConn // conn's descriptor, for the calls packet does not wrap

	mtu    atomic.Int64 // last MTU read from the kernel
	closed atomic.Bool

	sent, sendDropped, sendCalls         atomic.Uint64
	recvCalls, recvEmpty                 atomic.Uint64
	received, droppedOwn, droppedNotOurs atomic.Uint64
	droppedTruncated, linkDowns          atomic.Uint64

	kernelStatsMu sync.Mutex // guards kernelDropped: reading the kernel's counter resets it
	kernelDropped uint64

	rx, tx mmsg // batched receive and send
}

// Open opens the Ethernet interface called name for AoE. It needs
// CAP_NET_RAW. It refuses interfaces that are not Ethernet (see Ethernet:
// the loopback, interfaces without a 6-byte MAC).
// An interface that is down can be opened; sending on it fails until it is up.
func Open(name string) (*Port, error) {
	ifi, err := net.InterfaceByName(name)
	if err != nil {
		return nil, &OpError{Op: "open port", Iface: name, Err: err,
			Hint: `list the interfaces with "ip link"`}
	}
	if err := Ethernet(ifi); err != nil {
		return nil, err
	}

	conn, err := packet.Listen(ifi, packet.Raw, EtherType, nil)
	if err != nil {
		return nil, &OpError{Op: "open raw socket", Iface: name, Err: err, Hint: hint(err, name)}
	}
	raw, err := conn.SyscallConn()
	if err != nil {
		conn.Close()
		return nil, &OpError{Op: "open raw socket", Iface: name, Err: err}
	}
	p := &Port{name: name, index: ifi.Index, conn: conn, raw: raw}
	copy(p.mac[:], ifi.HardwareAddr)
	p.mtu.Store(int64(ifi.MTU))

	// A larger buffer is an optimization; a Port works without it, so a
	// failure is ignored.
	_ = raw.Control(func(fd uintptr) {
		// FORCE goes beyond net.core.rmem_max and wmem_max; it needs
		// CAP_NET_ADMIN. The plain options are capped at those.
		if unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, ReadBufferSize) != nil {
			_ = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUF, ReadBufferSize)
		}
		if unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_SNDBUFFORCE, WriteBufferSize) != nil {
			_ = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_SNDBUF, WriteBufferSize)
		}
	})
	return p, nil
}

// hint says what the user can do about err on interface name.
func hint(err error, name string) string {
	var errno unix.Errno
	if !errors.As(err, &errno) {
		return ""
	}
	switch errno {
	case unix.EPERM, unix.EACCES:
		return "run as root or grant CAP_NET_RAW"
	case unix.ENETDOWN:
		return "bring it up: ip link set " + name + " up"
	case unix.ENODEV, unix.ENXIO:
		return "the interface is gone"
	case unix.EMSGSIZE:
		return "the frame is larger than the interface MTU"
	}
	return ""
}

// Interfaces returns the names of the interfaces discovery broadcasts on by
// default: Ethernet (see Ethernet) and up. Unlike Usable it does not ask for
// a carrier.
func Interfaces() ([]string, error) {
	ifis, err := net.Interfaces()
	if err != nil {
		return nil, &OpError{Op: "list interfaces", Err: err}
	}
	var names []string
	for _, ifi := range ifis {
		if ifi.Flags&net.FlagUp != 0 && Ethernet(&ifi) == nil {
			names = append(names, ifi.Name)
		}
	}
	return names, nil
}

// Name returns the interface name given to Open.
func (p *Port) Name() string { return p.name }

// MAC returns the interface's MAC as read at Open.
func (p *Port) MAC() wire.MAC { return p.mac }

// MTU returns the interface MTU. It asks the kernel on every call (one
// ioctl), so an MTU changed after Open is seen; if the kernel cannot answer
// (the port is closed, the interface renamed or gone) it returns the last
// value it read.
func (p *Port) MTU() int {
	_ = p.raw.Control(func(fd uintptr) {
		ifr, err := unix.NewIfreq(p.name)
		if err != nil {
			return
		}
		if unix.IoctlIfreq(int(fd), unix.SIOCGIFMTU, ifr) == nil {
			p.mtu.Store(int64(ifr.Uint32()))
		}
	})
	return int(p.mtu.Load())
}

// Send transmits whole Ethernet frames; the destination is each frame's
// first 6 bytes. It never waits: a frame that finds the queue full is
// dropped and counted in Stats. Any other failure stops the batch and is
// returned; the frames before it were sent.
func (p *Port) Send(frames [][]byte) error { return p.send(frames, nil) }

// SendParts sends frames made of two parts each, heads[i] then datas[i],
// without joining them first: the data goes from where it is straight into
// the kernel, which saves a copy of every byte written.
func (p *Port) SendParts(heads, datas [][]byte) error {
	if len(datas) != len(heads) {
		return &OpError{Op: "send", Iface: p.name, Err: fmt.Errorf("%d heads but %d data parts", len(heads), len(datas))}
	}
	return p.send(heads, datas)
}

func (p *Port) send(frames, datas [][]byte) error {
	if p.closed.Load() {
		return &OpError{Op: "send", Iface: p.name, Err: net.ErrClosed}
	}
	p.tx.mu.Lock()
	defer p.tx.mu.Unlock()
	var failed error
	for done := 0; done < len(frames) && failed == nil; {
		n := min(len(frames)-done, maxBatch)
		var d [][]byte
		if datas != nil {
			d = datas[done:]
		}
		p.tx.prepare(frames[done:], d, n, false)
		err := p.raw.Write(func(fd uintptr) bool {
			// The socket is bound to the interface and the EtherType,
			// and a raw frame carries its own header: no address needed.
			sent, err := p.tx.sendmmsg(int(fd), n)
			p.sendCalls.Add(1)
			switch err {
			case nil:
				p.sent.Add(uint64(sent))
				done += sent
			case unix.EAGAIN, unix.ENOBUFS, unix.EINTR:
				// The queue is full: drop the frame, as a NIC would;
				// its retransmit timer will send it again.
				p.sendDropped.Add(1)
				done++
			default:
				size := len(frames[done])
				if datas != nil {
					size += len(datas[done])
				}
				failed = fmt.Errorf("frame %d of %d (%d bytes): %w", done+1, len(frames), size, err)
			}
			return true // never wait for the socket to become writable
		})
		if err != nil {
			if p.closed.Load() {
				err = net.ErrClosed
			}
			return &OpError{Op: "send", Iface: p.name, Err: err}
		}
	}
	if failed != nil {
		return &OpError{Op: "send", Iface: p.name, Err: failed, Hint: hint(failed, p.name)}
	}
	return nil
}

// Receive blocks until a frame for us arrives and copies it into bufs[0],
// its length into sizes[0]. It returns 1 frame per call for now; the batch
// shape is for recvmmsg later.
//
// It returns an error only when the port cannot receive again: after Close
// (errors.Is(err, net.ErrClosed)) or when the interface was deleted
// (errors.Is(err, ErrInterfaceGone)). An interface going down is reported,
// not acted on: it is counted in Stats.LinkDowns, and Receive goes on
// waiting as on any link where nothing arrives, so frames are returned
// again once it is up. Whether to keep using a port whose link went down
// is for the caller to decide (multipath's Watcher removes it at once and
// opens a new one when the link is back; see the package doc).
func (p *Port) Receive(bufs [][]byte, sizes []int) (int, error) {
	want := min(len(bufs), len(sizes), maxBatch)
	if want == 0 {
		return 0, &OpError{Op: "receive", Iface: p.name, Err: errors.New("no buffer given")}
	}
	p.rx.mu.Lock()
	defer p.rx.mu.Unlock()
	for {
		p.rx.prepare(bufs, nil, want, true)
		var (
			got  int
			rerr error
		)
		err := p.raw.Read(func(fd uintptr) bool {
			got, rerr = p.rx.recvmmsg(int(fd), want)
			p.recvCalls.Add(1)
			if rerr == unix.EAGAIN {
				p.recvEmpty.Add(1)
				return false
			}
			return true
		})
		switch {
		case p.closed.Load():
			return 0, &OpError{Op: "receive", Iface: p.name, Err: net.ErrClosed}
		case errors.Is(err, os.ErrDeadlineExceeded):
			// Set by lookWhileDown while the link is down.
			if err := p.lookWhileDown(); err != nil {
				return 0, err
			}
			continue
		case err != nil:
			return 0, &OpError{Op: "receive", Iface: p.name, Err: err}
		case rerr == unix.ENETDOWN:
			// The kernel says so once, when the interface goes down
			// (or is deleted, which takes it down first): counted,
			// and not the end of the port.
			p.linkDowns.Add(1)
			if err := p.lookWhileDown(); err != nil {
				return 0, err
			}
			continue
		case rerr == unix.EINTR:
			continue
		case rerr != nil:
			return 0, &OpError{Op: "receive", Iface: p.name, Err: rerr, Hint: hint(rerr, p.name)}
		}
		// Keep the frames that are ours, moved down over those that
		// are not (rare: copying then costs little).
		kept := 0
		for i := 0; i < got; i++ {
			n := int(p.rx.hdrs[i].Len)
			if !p.accept(bufs[i], n, p.rx.addrs[i].Pkttype) {
				continue
			}
			if kept != i {
				copy(bufs[kept], bufs[i][:n])
			}
			sizes[kept] = n
			kept++
		}
		if kept > 0 {
			p.received.Add(uint64(kept))
			return kept, nil
		}
	}
}

// downPoll is how often Receive looks at an interface that is down: the
// kernel tells a packet socket when its interface goes down, but not when
// a down interface is deleted.
const downPoll = time.Second

// lookWhileDown is how Receive, waiting on an interface that went down,
// finds out what it must report: ErrInterfaceGone once the interface is
// deleted, which the kernel does not tell a socket whose interface was
// down already, so it looks every downPoll until the interface is up
// again. It decides nothing about the link: without it a Receive on a
// deleted interface would wait forever for a caller without link events
// (aoe-discover, a Port used alone); a multipath Watcher closes the port
// first.
func (p *Port) lookWhileDown() error {
	var flags uint32
	var ierr error
	if err := p.raw.Control(func(fd uintptr) {
		ifr, err := unix.NewIfreq("")
		if err != nil {
			ierr = err
			return
		}
		// By index: the name may have been given to another interface.
		ifr.SetUint32(uint32(p.index))
		if ierr = unix.IoctlIfreq(int(fd), unix.SIOCGIFNAME, ifr); ierr != nil {
			return
		}
		if ierr = unix.IoctlIfreq(int(fd), unix.SIOCGIFFLAGS, ifr); ierr == nil {
			flags = uint32(ifr.Uint16())
		}
	}); err != nil {
		return &OpError{Op: "receive", Iface: p.name, Err: err}
	}
	switch {
	case ierr == unix.ENODEV || ierr == unix.ENXIO:
		return &OpError{Op: "receive", Iface: p.name, Err: ErrInterfaceGone,
			Hint: "it was deleted; open it again once it is back"}
	case ierr == nil && flags&unix.IFF_UP != 0:
		return p.conn.SetReadDeadline(time.Time{})
	default:
		return p.conn.SetReadDeadline(time.Now().Add(downPoll))
	}
}

// accept reports whether a frame of length n, read into buf from the
// sender from, is for the engine, and counts the reason when it is not.
func (p *Port) accept(buf []byte, n int, pkttype uint8) bool {
	switch pkttype {
	case unix.PACKET_OUTGOING:
		// Not delivered to a socket bound to one EtherType (the kernel
		// loops outgoing frames only to ETH_P_ALL taps); kept in case the
		// binding ever changes.
		p.droppedOwn.Add(1)
		return false
	case unix.PACKET_OTHERHOST:
		p.droppedNotOurs.Add(1)
		return false
	}
	if n > len(buf) {
		p.droppedTruncated.Add(1)
		return false
	}
	// Our own source MAC arriving from the wire: a switching loop, or a
	// hairpin on a bridge.
	if n >= ethHeaderLen && bytes.Equal(buf[6:12], p.mac[:]) {
		p.droppedOwn.Add(1)
		return false
	}
	return true
}

// Stats returns the counters since Open.
func (p *Port) Stats() Stats {
	p.kernelStatsMu.Lock()
	if !p.closed.Load() {
		if ks, err := p.conn.Stats(); err == nil {
			p.kernelDropped += uint64(ks.Drops)
		}
	}
	kd := p.kernelDropped
	p.kernelStatsMu.Unlock()
	return Stats{
		Sent:             p.sent.Load(),
		SendDropped:      p.sendDropped.Load(),
		SendCalls:        p.sendCalls.Load(),
		ReceiveCalls:     p.recvCalls.Load(),
		ReceiveEmpty:     p.recvEmpty.Load(),
		Received:         p.received.Load(),
		DroppedOwn:       p.droppedOwn.Load(),
		DroppedNotOurs:   p.droppedNotOurs.Load(),
		DroppedTruncated: p.droppedTruncated.Load(),
		LinkDowns:        p.linkDowns.Load(),
		KernelDropped:    kd,
	}
}

// Close closes the socket; a blocked Receive returns. Closing twice is not
// an error.
func (p *Port) Close() error {
	if p.closed.Swap(true) {
		return nil
	}
	if err := p.conn.Close(); err != nil {
		return &OpError{Op: "close", Iface: p.name, Err: err}
	}
	return nil
}
