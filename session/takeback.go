package session

import (
	"fmt"

	"github.com/goaoe/goaoe/nbd"
)

// backendID is the backend identifier of a target's device. The kernel
// keeps it with a device set up through netlink, shows it in
// /sys/block/nbdN/backend and checks it on reconnect, so it is how a new
// server finds, and may take back, the device a dead one left.
func backendID(target string) string { return "aoe:" + target }

// takeBack finds the device a server of target that is gone left set up
// (netlink only), for this one to reconnect. The caller holds the
// target's lock, so no live server of ours serves it. It refuses a device
// that is not the one asked for, or that is larger than the target: the
// target shrank or is another disk now, and the filesystem on the device
// is not all on it. A target that grew is taken back at the device's size
// (had), which aoe-revalidate then grows.
func takeBack(target string, iface nbd.Interface, want string, size int64) (dev string, had int64, ok bool, err error) {
	dev, ok, err = nbd.FindBackend(backendID(target))
	if err != nil || !ok {
		return "", 0, false, err
	}
	if iface != nbd.InterfaceNetlink {
		// A second device on the same disk, beside one with a
		// filesystem still mounted on it, is how filesystems get lost.
		return "", 0, false, fmt.Errorf("%s is still set up as %s through netlink, waiting for its server: attach it without --nbd-interface %s to take it back, or aoe-detach %s first", target, dev, iface, target)
	}
	if want != "" && want != dev {
		return "", 0, false, fmt.Errorf("%s is still set up as %s, waiting for its server: leave out --device to take it back, or aoe-detach %s first", target, dev, target)
	}
	had, err = nbd.SizeOf(dev)
	if err != nil {
		return "", 0, false, err
	}
	if had > size {
		return "", 0, false, fmt.Errorf("%s now has %d bytes but %s, left set up for it, has %d: not taking it back (aoe-detach %s, then attach again)", target, size, dev, had, target)
	}
	return dev, had, true, nil
}

// heldFor reports whether the kernel still holds dev for backend: set up,
// waiting for the next server.
func heldFor(dev, backend string) bool {
	b, err := nbd.BackendOf(dev)
	return err == nil && b == backend
}
