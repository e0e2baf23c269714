//go:build linux

package nbd

import (
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// Resize gives a device that is serving a new size, as its target now
// has: through NBD_CMD_RECONFIGURE for a device set up through netlink
// (the kernel refuses the ioctls on one; kernel 5.3 and later take a
// size there), else NBD_SET_SIZE_BLOCKS. The kernel tells the device's
// users (a change uevent, a partition rescan); a mounted filesystem stays
// the size it is until resize2fs or the like grows it.
//
// A shrink is refused with ErrInUse while anything holds the device
// exclusively (a mounted filesystem, an md array, device-mapper): the
// kernel would cut the end off under it. The device is held exclusively
// while it shrinks, so nothing mounts it meanwhile.
//
// o is the device's Options as Attach was given them: the interface, the
// backend identifier, the block size, and o.Server.LiveSize, which Resize
// changes in step with the kernel's size so that no request the kernel
// may send is refused.
func Resize(devPath string, size int64, o Options) error {
	srv, err := o.Server.WithDefaults()
	if err != nil {
		return err
	}
	if size <= 0 || size%int64(srv.BlockSize) != 0 {
		return fmt.Errorf("nbd: resize %s to %d bytes: not a positive multiple of the block size %d", devPath, size, srv.BlockSize)
	}
	had, err := SizeOf(devPath)
	if err != nil {
		return err
	}
	live := srv.LiveSize
	switch {
	case size == had:
		if live != nil {
			live.Store(size)
		}
		return nil
	case size < had:
		f, err := os.OpenFile(devPath, os.O_RDONLY|unix.O_EXCL|unix.O_CLOEXEC, 0)
		if errors.Is(err, unix.EBUSY) {
			return fmt.Errorf("%w: %s is held (a mounted filesystem, md or device-mapper): not shrinking it from %d to %d bytes under it; unmount it, then try again", ErrInUse, devPath, had, size)
		}
		if err != nil {
			return fmt.Errorf("nbd: resize: %w", err)
		}
		defer f.Close()
	case live != nil: // growing: served before the kernel may ask
		live.Store(size)
	}
	if err := setSize(devPath, size, srv.BlockSize, o); err != nil {
		if live != nil {
			live.Store(had)
		}
		return err
	}
	if live != nil {
		live.Store(size)
	}
	if now, err := SizeOf(devPath); err != nil || now != size {
		return fmt.Errorf("nbd: the kernel took the new size of %s (%d bytes) but shows %d (%v)", devPath, size, now, err)
	}
	return nil
}

func setSize(devPath string, size int64, blockSize int, o Options) error {
	name, err := deviceName(devPath)
	if err != nil {
		return err
	}
	if o.Interface == InterfaceNetlink {
		index, _ := nbdIndex(name)
		return netlinkSetSize(index, o.Backend, size)
	}
	dev, err := openDevice(devPath)
	if err != nil {
		return fmt.Errorf("nbd: resize: %w", err)
	}
	defer dev.Close()
	return dev.ioctl(ioctlSetSizeBlocks, uintptr(size/int64(blockSize)))
}
