package rawport

import (
	"errors"
	"net"
	"os"
)

// EtherType is the AoE EtherType, the only one a Port receives.
const EtherType = 0x88A2

// ReadBufferSize is the socket receive buffer a Port asks for. A target
// answers a window of requests in a burst; the kernel default (about 200 KiB)
// holds only a few dozen jumbo frames.
const ReadBufferSize = 4 << 20

// WriteBufferSize is the socket send buffer a Port asks for. A frame sent
// is charged to the socket until the NIC driver frees it, which on a
// virtual NIC can be after the target has answered it; a full buffer makes
// the send fail and costs that frame a retransmit timeout. The kernel
// default holds about 16 jumbo frames, one target's window.
const WriteBufferSize = 4 << 20

// ErrNotEthernet is the cause when an interface cannot carry AoE: the
// loopback, or an interface without a 6-byte hardware address (tun, wireguard,
// ppp).
var ErrNotEthernet = errors.New("not an Ethernet interface")

// ErrInterfaceGone is the cause when Receive reports that the interface was
// deleted under a Port: the Port cannot receive again.
var ErrInterfaceGone = errors.New("the interface is gone")

// OpError is the error a Port returns: which operation failed on which
// interface, the cause, and what the user can do about it.
type OpError struct {
	Op    string // "open port", "open raw socket", "send", "receive", "list interfaces"
	Iface string // interface name; empty for operations on no interface
	Err   error  // the cause
	Hint  string // what to do; may be empty
}

func (e *OpError) Error() string {
	s := e.Op
	if e.Iface != "" {
		s += " on " + e.Iface
	}
	s += ": " + causeText(e.Err)
	if e.Hint != "" {
		s += " (" + e.Hint + ")"
	}
	return s
}

func (e *OpError) Unwrap() error { return e.Err }

// causeText is err's message without the layers that only repeat the
// operation (net.OpError, os.SyscallError), which OpError already names.
func causeText(err error) string {
	for {
		switch e := err.(type) {
		case *net.OpError:
			err = e.Err
		case *os.SyscallError:
			err = e.Err
		case nil:
			return "<nil>"
		default:
			return err.Error()
		}
	}
}

// Stats counts what a Port did since Open. Frames dropped on receive are not
// errors: they were never meant for the engine.
type Stats struct {
	Sent        uint64 // frames handed to the kernel
	SendDropped uint64 // frames dropped because the socket or device queue was full
	// SendCalls counts sendmmsg calls: Sent/SendCalls is how well sends
	// are batched, and each call is a system call's worth of CPU.
	SendCalls uint64
	// ReceiveCalls counts recvmmsg calls, ReceiveEmpty those that found
	// nothing (each is followed by a wait for the socket to wake us).
	ReceiveCalls, ReceiveEmpty uint64

	Received         uint64 // frames returned by Receive
	DroppedOwn       uint64 // frames this host sent (outgoing, or our own source MAC)
	DroppedNotOurs   uint64 // frames for another host (interface in promiscuous mode)
	DroppedTruncated uint64 // frames larger than the buffer given to Receive

	// LinkDowns counts the times the kernel told Receive that the
	// interface went down. It is a report: the Port goes on, and what is
	// done about the link is its user's (multipath's Watcher) to decide.
	LinkDowns uint64

	// KernelDropped counts frames the kernel dropped because the socket
	// receive buffer was full: the engine reads too slowly for the burst.
	KernelDropped uint64
}
