package multipath

import "github.com/goaoe/goaoe/initiator/wire"

// Port is one local Ethernet interface as the engine sees it: the engine's
// only way to the network, and what decides which paths to a target
// exist. It is batch-shaped so a faster implementation (recvmmsg, ring
// buffers) can replace a simple one without touching the engine; tests
// use an in-memory one.
type Port interface {
	// Name is the interface name, e.g. "eth0".
	Name() string
	// MAC is the interface's own address, used as the source of requests.
	MAC() wire.MAC
	// MTU is the largest Ethernet payload the interface carries.
	MTU() int
	// Send transmits whole Ethernet frames. It must not keep the slices
	// after it returns, and must not block for long: a full queue drops
	// frames, as a NIC would, and retransmits recover them.
	Send(frames [][]byte) error
	// Receive blocks until at least one frame arrives, copies up to
	// len(bufs) frames into bufs and their lengths into sizes, and returns
	// how many. After Close it returns an error.
	Receive(bufs [][]byte, sizes []int) (int, error)
	// Close stops the port; a blocked Receive returns.
	Close() error
}

// PartsSender is a Port that can also send each frame from two parts, its
// headers and its data, without joining them first (rawport's Port does,
// with two iovecs a frame). The engine then sends a write's data from the
// caller's buffer as it is: on a virtual machine, copying it into the
// frame first costs about as much as the rest of sending it.
type PartsSender interface {
	// SendParts is Send of the frames heads[i] followed by datas[i]
	// (which may be empty). It keeps none of the slices.
	SendParts(heads, datas [][]byte) error
}
