package nbd

import (
	"errors"
	"fmt"
	"time"

	"github.com/goaoe/goaoe/nbd/server"
)

// Options describes the device: the export every connection serves, and
// how the kernel is to use those connections.
type Options struct {
	// Server is what each connection's Serve is given. Attach sizes the
	// device from its Size and BlockSize, and tells the kernel what it
	// offers (read-only, FUA, flush) through its TransmissionFlags.
	Server server.Options
	// Connections is how many sockets Attach hands the kernel (default 1).
	// More than one sets NBD_FLAG_CAN_MULTI_CONN, which promises that a FLUSH
	// on any connection covers writes completed on all of them: the
	// Backend's Flush must be device-wide.
	Connections int
	// Timeout is the kernel's request timeout, in whole seconds rounded
	// up. Set it above the longest the Backend can take to answer (the AoE
	// deadline): past it the kernel takes the request back, shuts the
	// connection down and sends the request again (netlink: on a new
	// connection, which Attach gives it; ioctl: nowhere, the device dies).
	// It is also what bounds a dead server's requests: those in flight
	// when it died are sent again, to the next server or as an EIO, only
	// when it runs out. 0 asks the kernel never to time a request out:
	// then a request in flight when the server died waits forever.
	Timeout time.Duration
	// Interface is the kernel interface to set the device up through.
	Interface Interface
	// DeadConnTimeout (netlink) is how long the kernel keeps the device's
	// new I/O waiting for a server once ours is gone, before failing it.
	DeadConnTimeout time.Duration
	// Backend (netlink) is the backend identifier the kernel keeps with
	// the device (/sys/block/nbdN/backend) and checks on reconnect, so
	// that a server reconnects only the device that is its own.
	Backend string
	// Reconnect (netlink) takes over a device a server that is gone left
	// set up under Backend, handing the kernel new sockets, rather than
	// setting a free device up.
	Reconnect bool
	// Leave (netlink), when closed, makes Attach stop serving and return
	// at once without disconnecting: the device waits for the next server
	// as it does when this one dies. Backend calls may still be running
	// then, their answers going nowhere (the kernel sends those requests
	// again to the next server): the caller closes the Backend and exits.
	Leave <-chan struct{}
	// Logf, if set, is told what an admin should know of the device's
	// connections: one the kernel dropped while we served it, and whether
	// it was given back. nil: nothing is logged.
	Logf func(format string, args ...any)
	// Ready, if set, is called once by Attach when the device is usable:
	// NBD_DO_IT is running and /sys/block/nbdN/pid names our thread. Attach
	// does not watch its context while Ready runs, so Ready must not block.
	Ready func()
}

// withDefaults fills in zero values and checks the rest.
func (o Options) withDefaults() (Options, error) {
	var err error
	if o.Server, err = o.Server.WithDefaults(); err != nil {
		return o, err
	}
	if o.Connections == 0 {
		o.Connections = 1
	}
	switch {
	case o.Connections < 0:
		return o, fmt.Errorf("nbd: %d connections", o.Connections)
	case o.Timeout < 0:
		return o, fmt.Errorf("nbd: negative timeout %v", o.Timeout)
	case o.DeadConnTimeout < 0:
		return o, fmt.Errorf("nbd: negative dead-connection timeout %v", o.DeadConnTimeout)
	case o.Reconnect && o.Interface != InterfaceNetlink:
		return o, errors.New("nbd: only a device set up through netlink can be reconnected")
	}
	return o, nil
}

// deviceFlags is the NBD_SET_FLAGS argument.
func (o Options) deviceFlags() uint64 {
	return o.Server.TransmissionFlags(o.Connections > 1)
}

// timeoutSeconds is the NBD_SET_TIMEOUT argument.
func (o Options) timeoutSeconds() uint64 { return seconds(o.Timeout) }

// seconds rounds up, so that a short but non-zero timeout does not become
// "never".
func seconds(d time.Duration) uint64 {
	return uint64((d + time.Second - 1) / time.Second)
}

// ErrNoNetlink means the kernel's nbd has no generic netlink family (older
// than 4.12, or the module is not loaded).
var ErrNoNetlink = errors.New("no nbd generic netlink family")

// ErrInUse: the device is held by someone else than its server (Resize).
var ErrInUse = errors.New("nbd: device in use")

// Interface is a kernel interface to nbd.
type Interface string

// The kernel's interfaces to nbd. Auto is netlink where the kernel has it.
const (
	InterfaceAuto    Interface = "auto"
	InterfaceNetlink Interface = "netlink"
	InterfaceIoctl   Interface = "ioctl"
)

// ParseInterface reads a --nbd-interface value.
func ParseInterface(s string) (Interface, error) {
	switch i := Interface(s); i {
	case "", InterfaceAuto:
		return InterfaceAuto, nil
	case InterfaceNetlink, InterfaceIoctl:
		return i, nil
	}
	return "", fmt.Errorf("nbd: no kernel interface %q (auto, netlink or ioctl)", s)
}

// Resolve turns auto into what this kernel offers; netlink asked for on a
// kernel without it is an error.
func (i Interface) Resolve() (Interface, error) {
	switch i {
	case "", InterfaceAuto:
		if HasNetlink() {
			return InterfaceNetlink, nil
		}
		return InterfaceIoctl, nil
	case InterfaceNetlink:
		if !HasNetlink() {
			return "", fmt.Errorf("nbd: this kernel's nbd has no netlink interface (older than 4.12?): use --nbd-interface ioctl: %w", ErrNoNetlink)
		}
	}
	return i, nil
}
