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
	iovs  [2 * maxBatch]unix.Iovec // two per message: a frame's head and data
	addrs [maxBatch]unix.RawSockaddrLinklayer
}

// prepare points the first n headers at bufs, followed by datas[i] if
// datas is not nil (a frame sent from two parts); with names, each also
// gets an address to fill in.
func (m *mmsg) prepare(bufs, datas [][]byte, n int, names bool) {
	for i := 0; i < n; i++ {
		iov := m.iovs[2*i : 2*i+2]
		setIovec(&iov[0], bufs[i])
		parts := 1
		if datas != nil && len(datas[i]) > 0 {
			setIovec(&iov[1], datas[i])
			parts = 2
		}
		h := &m.hdrs[i]
		*h = unix.Mmsghdr{}
		h.Hdr.Iov = &iov[0]
		h.Hdr.SetIovlen(parts)
		if names {
			h.Hdr.Name = (*byte)(unsafe.Pointer(&m.addrs[i]))
			h.Hdr.Namelen = unix.SizeofSockaddrLinklayer
		}
	}
}

func setIovec(v *unix.Iovec, b []byte) {
	*v = unix.Iovec{}
	if len(b) > 0 {
		v.Base = &b[0]
	}
	v.SetLen(len(b))
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
