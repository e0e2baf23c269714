package rawport

import (
	"sync"
	"unsafe"

	"golang.org/x/sys/unix"
)

// maxBatch is the most frames one recvmmsg or sendmmsg call moves. A
// target answers a window of frames in a burst; taking them in one call
// saves a system call per frame, which on a virtual machine without a fast
// path for them is most of the cost of a frame.
const maxBatch = 64

// mmsg is the scratch space of one batched call: message headers, one
// buffer each, and (for receiving) the sender's link-layer address, which
// carries the packet type.
type mmsg struct {
	mu    sync.Mutex
	hdrs  [maxBatch]unix.Mmsghdr
	iovs  [maxBatch]unix.Iovec
	addrs [maxBatch]unix.RawSockaddrLinklayer
}

// prepare points the first n headers at bufs; with names, each also gets
// an address to fill in.
func (m *mmsg) prepare(bufs [][]byte, n int, names bool) {
	for i := 0; i < n; i++ {
		m.iovs[i] = unix.Iovec{}
		if len(bufs[i]) > 0 {
			m.iovs[i].Base = &bufs[i][0]
		}
		m.iovs[i].SetLen(len(bufs[i]))
		h := &m.hdrs[i]
		*h = unix.Mmsghdr{}
		h.Hdr.Iov = &m.iovs[i]
		h.Hdr.SetIovlen(1)
		if names {
			h.Hdr.Name = (*byte)(unsafe.Pointer(&m.addrs[i]))
			h.Hdr.Namelen = unix.SizeofSockaddrLinklayer
		}
	}
}

// recvmmsg takes up to n waiting frames without blocking. MSG_TRUNC makes
// each length the frame's real one, so a frame cut short is seen.
func (m *mmsg) recvmmsg(fd, n int) (int, error) {
	got, _, errno := unix.Syscall6(unix.SYS_RECVMMSG, uintptr(fd), uintptr(unsafe.Pointer(&m.hdrs[0])),
		uintptr(n), unix.MSG_DONTWAIT|unix.MSG_TRUNC, 0, 0)
	if errno != 0 {
		return 0, errno
	}
	return int(got), nil
}

// sendmmsg sends the first n prepared frames without blocking and returns
// how many went.
func (m *mmsg) sendmmsg(fd, n int) (int, error) {
	got, _, errno := unix.Syscall6(unix.SYS_SENDMMSG, uintptr(fd), uintptr(unsafe.Pointer(&m.hdrs[0])),
		uintptr(n), unix.MSG_DONTWAIT, 0, 0)
	if errno != 0 {
		return 0, errno
	}
	return int(got), nil
}
