//go:build linux

package nbd

import (
	"fmt"
	"os"
	"strconv"

	"golang.org/x/sys/unix"
)

// The NBD ioctls, _IO(0xab, n) (include/uapi/linux/nbd.h); x/sys/unix does
// not define them.
const (
	ioctlSetSock       = 0xab<<8 | 0
	ioctlSetBlksize    = 0xab<<8 | 1
	ioctlDoIt          = 0xab<<8 | 3
	ioctlClearSock     = 0xab<<8 | 4
	ioctlSetSizeBlocks = 0xab<<8 | 7
	ioctlDisconnect    = 0xab<<8 | 8
	ioctlSetTimeout    = 0xab<<8 | 9
	ioctlSetFlags      = 0xab<<8 | 10
)

func ioctlName(req uint) string {
	switch req {
	case ioctlSetSock:
		return "NBD_SET_SOCK"
	case ioctlSetBlksize:
		return "NBD_SET_BLKSIZE"
	case ioctlDoIt:
		return "NBD_DO_IT"
	case ioctlClearSock:
		return "NBD_CLEAR_SOCK"
	case ioctlSetSizeBlocks:
		return "NBD_SET_SIZE_BLOCKS"
	case ioctlDisconnect:
		return "NBD_DISCONNECT"
	case ioctlSetTimeout:
		return "NBD_SET_TIMEOUT"
	case ioctlSetFlags:
		return "NBD_SET_FLAGS"
	}
	return "ioctl " + strconv.FormatUint(uint64(req), 16)
}

// device is an open nbd device as Attach drives it: through ioctls only.
// Tests substitute a fake kernel.
type device interface {
	ioctl(req uint, arg uintptr) error
	Close() error
}

// blockDevice is a real /dev/nbdN.
type blockDevice struct {
	f  *os.File // owns fd and keeps it open
	fd uintptr
}

func openDevice(path string) (*blockDevice, error) {
	// O_RDWR because nbd-client does so and the device is ours to write;
	// not O_EXCL, which would keep anyone from mounting what we serve.
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return nil, err
	}
	return &blockDevice{f: f, fd: f.Fd()}, nil
}

func (d *blockDevice) ioctl(req uint, arg uintptr) error {
	// unix.Syscall, not RawSyscall: NBD_DO_IT blocks for the life of the
	// device and the runtime must know to run other goroutines meanwhile.
	_, _, e := unix.Syscall(unix.SYS_IOCTL, d.fd, uintptr(req), arg)
	if e != 0 {
		return &os.PathError{Op: ioctlName(req), Path: d.f.Name(), Err: e}
	}
	return nil
}

func (d *blockDevice) Close() error { return d.f.Close() }

// SetReadOnly marks the block device read-only in the kernel (BLKROSET, as
// blockdev --setro does): new read-write mounts and opens are refused, so
// a filesystem on a disk whose target refuses writes learns it at once.
// The caller must not hold up the device's requests meanwhile: closing
// the device may flush what is cached for it.
func SetReadOnly(devPath string) error {
	f, err := os.Open(devPath)
	if err != nil {
		return fmt.Errorf("nbd: set read-only: %w", err)
	}
	defer f.Close()
	if err := unix.IoctlSetPointerInt(int(f.Fd()), unix.BLKROSET, 1); err != nil {
		return fmt.Errorf("nbd: set %s read-only: %w", devPath, err)
	}
	return nil
}
