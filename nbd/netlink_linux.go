//go:build linux

package nbd

// The kernel's second interface to nbd: the "nbd" generic netlink family
// (include/uapi/linux/nbd-netlink.h, kernel 4.12 and later). A device set
// up with NBD_CMD_CONNECT belongs to the kernel, not to the task that set
// it up: when our sockets die the device waits (up to the dead-connection
// timeout) for NBD_CMD_RECONFIGURE to hand it new ones, which is what lets
// a restarted server take its disk back under a mounted filesystem. The
// ioctl interface has no such thing: its device lives exactly as long as
// the thread in NBD_DO_IT.
//
// Messages are built and sent with github.com/vishvananda/netlink's nl
// package, a dependency already (link events): it resolves the family,
// nests attributes and turns NLMSG_ERROR into an errno.

import (
	"errors"
	"fmt"
	"syscall"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netlink/nl"
	"golang.org/x/sys/unix"
)

const (
	genlFamilyName = "nbd"
	genlVersion    = 1

	genlCmdConnect     = 1
	genlCmdDisconnect  = 2
	genlCmdReconfigure = 3
	genlCmdStatus      = 5

	genlAttrIndex           = 1  // u32
	genlAttrSizeBytes       = 2  // u64
	genlAttrBlockSizeBytes  = 3  // u64
	genlAttrTimeout         = 4  // u64, seconds
	genlAttrServerFlags     = 5  // u64, the transmission flags
	genlAttrClientFlags     = 6  // u64, genlClientFlag...
	genlAttrSockets         = 7  // nest of genlSockItem
	genlAttrDeadConnTimeout = 8  // u64, seconds
	genlAttrDeviceList      = 9  // nest of genlDeviceItem
	genlAttrBackend         = 10 // string

	genlSockItem = 1 // nest: genlSockFD
	genlSockFD   = 1 // u32

	genlDeviceItem      = 1 // nest: genlDeviceIndex, genlDeviceConnected
	genlDeviceIndex     = 1 // u32
	genlDeviceConnected = 2 // u8

	// genlClientFlagDisconnectOnClose: the last close of the device
	// disconnects it. The serving process keeps the device open, so the
	// device lives while a server or a user (a mount) holds it, and a
	// device nobody reconnected comes free once it is unmounted.
	genlClientFlagDisconnectOnClose = 2
)

// netlinkFamily resolves the nbd family's id; the kernel assigns it when
// the module loads.
func netlinkFamily() (uint16, error) {
	f, err := netlink.GenlFamilyGet(genlFamilyName)
	if err != nil {
		if errors.Is(err, syscall.ENOENT) {
			return 0, fmt.Errorf("nbd: this kernel has no nbd netlink interface (use the ioctl one): %w", ErrNoNetlink)
		}
		return 0, fmt.Errorf("nbd: generic netlink family %q: %w", genlFamilyName, err)
	}
	return f.ID, nil
}

// HasNetlink reports whether the kernel's nbd offers the netlink interface.
func HasNetlink() bool {
	_, err := netlinkFamily()
	return err == nil
}

// connectRequest is what NBD_CMD_CONNECT is told.
type connectRequest struct {
	Index       int // -1: the kernel picks a free device
	Size        uint64
	BlockSize   uint64
	Timeout     time.Duration // the request timeout; see Options.Timeout
	DeadConn    time.Duration // how long I/O waits for a reconnect
	ServerFlags uint64
	Backend     string // NBD_ATTR_BACKEND_IDENTIFIER
	Fds         []int  // the kernel's ends of the sockets
}

// attrs are the request's attributes, in the order the kernel reads them.
func (c connectRequest) attrs() []nl.NetlinkRequestData {
	var a []nl.NetlinkRequestData
	if c.Index >= 0 {
		a = append(a, nl.NewRtAttr(genlAttrIndex, nl.Uint32Attr(uint32(c.Index))))
	}
	a = append(a,
		nl.NewRtAttr(genlAttrSizeBytes, nl.Uint64Attr(c.Size)),
		nl.NewRtAttr(genlAttrBlockSizeBytes, nl.Uint64Attr(c.BlockSize)),
		nl.NewRtAttr(genlAttrTimeout, nl.Uint64Attr(seconds(c.Timeout))),
		nl.NewRtAttr(genlAttrDeadConnTimeout, nl.Uint64Attr(seconds(c.DeadConn))),
		nl.NewRtAttr(genlAttrServerFlags, nl.Uint64Attr(c.ServerFlags)),
		// No disconnect-on-close yet: see attachNetlink.
		nl.NewRtAttr(genlAttrClientFlags, nl.Uint64Attr(0)),
		socketsAttr(c.Fds),
	)
	if c.Backend != "" {
		a = append(a, nl.NewRtAttr(genlAttrBackend, nl.ZeroTerminated(c.Backend)))
	}
	return a
}

func socketsAttr(fds []int) *nl.RtAttr {
	socks := nl.NewRtAttr(genlAttrSockets, nil)
	for _, fd := range fds {
		item := socks.AddRtAttr(genlSockItem, nil)
		item.AddRtAttr(genlSockFD, nl.Uint32Attr(uint32(fd)))
	}
	return socks
}

// genlExecute sends one command of the nbd family and returns the
// attributes of the kernel's answer, if it sent one.
func genlExecute(cmd uint8, attrs []nl.NetlinkRequestData) (map[uint16]syscall.NetlinkRouteAttr, error) {
	family, err := netlinkFamily()
	if err != nil {
		return nil, err
	}
	req := nl.NewNetlinkRequest(int(family), unix.NLM_F_ACK)
	req.AddData(&nl.Genlmsg{Command: cmd, Version: genlVersion})
	for _, a := range attrs {
		req.AddData(a)
	}
	msgs, err := req.Execute(unix.NETLINK_GENERIC, 0)
	if err != nil {
		return nil, err
	}
	if len(msgs) == 0 || len(msgs[0]) < nl.SizeofGenlmsg {
		return nil, nil
	}
	return nl.ParseRouteAttrAsMap(msgs[0][nl.SizeofGenlmsg:])
}

// How often and how long CONNECT is tried again on a device still being
// added (netlinkConnect).
const (
	connectRetry = 100 * time.Millisecond
	connectTries = 20
)

// netlinkConnect sets a device up and returns its index. The kernel holds
// its own references to the sockets from here on.
func netlinkConnect(c connectRequest) (int, error) {
	return connectWith(c, genlExecute, connectRetry)
}

// genlExec is genlExecute's shape, so that connectWith can be tested
// without a kernel.
type genlExec func(cmd uint8, attrs []nl.NetlinkRequestData) (map[uint16]syscall.NetlinkRouteAttr, error)

func connectWith(c connectRequest, exec genlExec, retry time.Duration) (int, error) {
	reply, err := exec(genlCmdConnect, c.attrs())
	// A device the module is still adding is refused with EINVAL ("device
	// at index N is going down": it is findable before its reference
	// count is set), which a shelf of attaches right after the module
	// loads runs into; another EINVAL stays one after the retries.
	for try := 0; errors.Is(err, unix.EINVAL) && c.Index >= 0 && try < connectTries; try++ {
		time.Sleep(retry)
		reply, err = exec(genlCmdConnect, c.attrs())
	}
	if err != nil {
		if errors.Is(err, unix.EBUSY) && c.Index >= 0 {
			return 0, fmt.Errorf("nbd: NBD_CMD_CONNECT: /dev/nbd%d is in use: %w", c.Index, err)
		}
		return 0, fmt.Errorf("nbd: NBD_CMD_CONNECT: %w", err)
	}
	a, ok := reply[genlAttrIndex]
	if !ok || len(a.Value) < 4 {
		if c.Index >= 0 {
			return c.Index, nil
		}
		return 0, errors.New("nbd: NBD_CMD_CONNECT: the kernel did not say which device")
	}
	return int(nl.NativeEndian().Uint32(a.Value)), nil
}

// netlinkReconfigure hands a device new sockets in place of dead ones. The
// kernel takes a socket only for a connection that is dead, and refuses
// one for a device whose backend identifier differs.
func netlinkReconfigure(index int, backend string, fds []int) error {
	return reconfigure(index, backend, "", socketsAttr(fds))
}

// netlinkSetClientFlags sets the device's client flags, nothing else.
func netlinkSetClientFlags(index int, backend string, flags uint64) error {
	return reconfigure(index, backend, " client flags", nl.NewRtAttr(genlAttrClientFlags, nl.Uint64Attr(flags)))
}

// netlinkSetSize resizes a device (kernel 5.3 and later take a size in
// RECONFIGURE).
func netlinkSetSize(index int, backend string, size int64) error {
	return reconfigure(index, backend, fmt.Sprintf(" to %d bytes", size), nl.NewRtAttr(genlAttrSizeBytes, nl.Uint64Attr(uint64(size))))
}

// reconfigure sends NBD_CMD_RECONFIGURE for one device with what to change,
// and the backend identifier the kernel checks it against; what says what
// in an error.
func reconfigure(index int, backend, what string, change nl.NetlinkRequestData) error {
	attrs := []nl.NetlinkRequestData{nl.NewRtAttr(genlAttrIndex, nl.Uint32Attr(uint32(index))), change}
	if backend != "" {
		attrs = append(attrs, nl.NewRtAttr(genlAttrBackend, nl.ZeroTerminated(backend)))
	}
	if _, err := genlExecute(genlCmdReconfigure, attrs); err != nil {
		return fmt.Errorf("nbd: NBD_CMD_RECONFIGURE /dev/nbd%d%s: %w", index, what, err)
	}
	return nil
}

// netlinkDisconnect ends a device for good: the kernel sends DISC on every
// live socket and fails what waits for a dead one.
func netlinkDisconnect(index int) error {
	attrs := []nl.NetlinkRequestData{nl.NewRtAttr(genlAttrIndex, nl.Uint32Attr(uint32(index)))}
	if _, err := genlExecute(genlCmdDisconnect, attrs); err != nil {
		return fmt.Errorf("nbd: NBD_CMD_DISCONNECT /dev/nbd%d: %w", index, err)
	}
	return nil
}

// netlinkConnected asks the kernel whether device index is set up
// (NBD_CMD_STATUS): true while it has a configuration, live or waiting for
// a reconnect.
func netlinkConnected(index int) (bool, error) {
	attrs := []nl.NetlinkRequestData{nl.NewRtAttr(genlAttrIndex, nl.Uint32Attr(uint32(index)))}
	reply, err := genlExecute(genlCmdStatus, attrs)
	if err != nil {
		return false, fmt.Errorf("nbd: NBD_CMD_STATUS /dev/nbd%d: %w", index, err)
	}
	return statusConnected(reply, index)
}

// statusConnected reads one device's entry of an NBD_CMD_STATUS answer.
func statusConnected(reply map[uint16]syscall.NetlinkRouteAttr, index int) (bool, error) {
	list, ok := reply[genlAttrDeviceList]
	if !ok {
		return false, errors.New("nbd: NBD_CMD_STATUS: no device list in the answer")
	}
	items, err := nl.ParseRouteAttr(list.Value)
	if err != nil {
		return false, fmt.Errorf("nbd: NBD_CMD_STATUS: %w", err)
	}
	for _, item := range items {
		fields, err := nl.ParseRouteAttrAsMap(item.Value)
		if err != nil {
			return false, fmt.Errorf("nbd: NBD_CMD_STATUS: %w", err)
		}
		i, c := fields[genlDeviceIndex], fields[genlDeviceConnected]
		if len(i.Value) >= 4 && int(nl.NativeEndian().Uint32(i.Value)) == index {
			return len(c.Value) > 0 && c.Value[0] != 0, nil
		}
	}
	return false, nil
}
