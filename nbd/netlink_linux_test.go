//go:build linux

package nbd

import (
	"errors"
	"syscall"
	"testing"
	"time"

	"github.com/vishvananda/netlink/nl"
	"golang.org/x/sys/unix"
)

// serialize lays attributes out as the kernel receives them.
func serialize(attrs []nl.NetlinkRequestData) []byte {
	var b []byte
	for _, a := range attrs {
		b = append(b, a.Serialize()...)
	}
	return b
}

func u32(t *testing.T, a syscall.NetlinkRouteAttr) uint32 {
	t.Helper()
	if len(a.Value) != 4 {
		t.Fatalf("attribute %d: %d bytes, want a u32", a.Attr.Type, len(a.Value))
	}
	return nl.NativeEndian().Uint32(a.Value)
}

func u64(t *testing.T, a syscall.NetlinkRouteAttr) uint64 {
	t.Helper()
	if len(a.Value) != 8 {
		t.Fatalf("attribute %d: %d bytes, want a u64", a.Attr.Type, len(a.Value))
	}
	return nl.NativeEndian().Uint64(a.Value)
}

// The CONNECT request carries what nbd_genl_connect reads, with the
// sockets nested two deep (NBD_ATTR_SOCKETS > NBD_SOCK_ITEM > NBD_SOCK_FD)
// and timeouts in whole seconds rounded up.
func TestConnectRequestAttributes(t *testing.T) {
	c := connectRequest{
		Index: 3, Size: 1 << 30, BlockSize: 512,
		Timeout: 14 * time.Second, DeadConn: 9500 * time.Millisecond,
		ServerFlags: 0x105, Backend: "aoe:e1.2", Fds: []int{7, 9},
	}
	got, err := nl.ParseRouteAttrAsMap(serialize(c.attrs()))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		attr uint16
		want uint64
	}{
		{genlAttrSizeBytes, 1 << 30},
		{genlAttrBlockSizeBytes, 512},
		{genlAttrTimeout, 14},
		{genlAttrDeadConnTimeout, 10},
		{genlAttrServerFlags, 0x105},
		{genlAttrClientFlags, 0},
	} {
		if v := u64(t, got[tc.attr]); v != tc.want {
			t.Errorf("attribute %d = %d, want %d", tc.attr, v, tc.want)
		}
	}
	if v := u32(t, got[genlAttrIndex]); v != 3 {
		t.Errorf("index = %d, want 3", v)
	}
	if b := string(got[genlAttrBackend].Value); b != "aoe:e1.2\x00" {
		t.Errorf("backend = %q, want a NUL-terminated aoe:e1.2", b)
	}
	items, err := nl.ParseRouteAttr(got[genlAttrSockets].Value)
	if err != nil {
		t.Fatal(err)
	}
	var fds []uint32
	for _, item := range items {
		if item.Attr.Type != genlSockItem {
			t.Fatalf("socket list holds attribute %d, want NBD_SOCK_ITEM", item.Attr.Type)
		}
		fields, err := nl.ParseRouteAttrAsMap(item.Value)
		if err != nil {
			t.Fatal(err)
		}
		fds = append(fds, u32(t, fields[genlSockFD]))
	}
	if len(fds) != 2 || fds[0] != 7 || fds[1] != 9 {
		t.Errorf("socket fds = %v, want [7 9]", fds)
	}
}

// Without an index the kernel picks the device: the attribute must be
// absent, not 0 (which would ask for /dev/nbd0).
func TestConnectRequestAnyDevice(t *testing.T) {
	got, err := nl.ParseRouteAttrAsMap(serialize(connectRequest{Index: -1, Size: 512, BlockSize: 512, Fds: []int{1}}.attrs()))
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := got[genlAttrIndex]; ok {
		t.Error("an index attribute was sent for 'any device'")
	}
	if _, ok := got[genlAttrBackend]; ok {
		t.Error("an empty backend identifier was sent")
	}
}

// A STATUS answer lists devices; ours is found by index and its
// connected byte read.
func TestStatusConnected(t *testing.T) {
	list := nl.NewRtAttr(genlAttrDeviceList, nil)
	for _, d := range []struct {
		index     uint32
		connected byte
	}{{0, 0}, {4, 1}} {
		item := list.AddRtAttr(genlDeviceItem, nil)
		item.AddRtAttr(genlDeviceIndex, nl.Uint32Attr(d.index))
		item.AddRtAttr(genlDeviceConnected, []byte{d.connected})
	}
	reply, err := nl.ParseRouteAttrAsMap(list.Serialize())
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		index int
		want  bool
	}{{0, false}, {4, true}, {5, false}} {
		got, err := statusConnected(reply, tc.index)
		if err != nil || got != tc.want {
			t.Errorf("device %d: connected = %v, %v; want %v", tc.index, got, err, tc.want)
		}
	}
	if _, err := statusConnected(map[uint16]syscall.NetlinkRouteAttr{}, 0); err == nil {
		t.Error("an answer without a device list was accepted")
	}
}

// A device the module is still adding answers CONNECT with EINVAL for a
// moment: tried again, and then connected; an EINVAL that stays is
// returned after connectTries more tries, and other errors at once.
func TestConnectRetriesDeviceBeingAdded(t *testing.T) {
	c := connectRequest{Index: 3, Size: 1 << 20, BlockSize: 512}
	fails := func(n int, err error) (genlExec, *int) {
		calls := 0
		return func(cmd uint8, _ []nl.NetlinkRequestData) (map[uint16]syscall.NetlinkRouteAttr, error) {
			calls++
			if cmd != genlCmdConnect {
				t.Fatalf("command %d, want CONNECT", cmd)
			}
			if calls <= n {
				return nil, err
			}
			return nil, nil
		}, &calls
	}
	exec, calls := fails(3, unix.EINVAL)
	if i, err := connectWith(c, exec, 0); err != nil || i != 3 {
		t.Fatalf("after 3 EINVALs: index %d, %v; want 3, nil", i, err)
	}
	if *calls != 4 {
		t.Errorf("%d CONNECTs, want 4", *calls)
	}
	exec, calls = fails(1000, unix.EINVAL)
	if _, err := connectWith(c, exec, 0); !errors.Is(err, unix.EINVAL) {
		t.Fatalf("a lasting EINVAL: %v", err)
	}
	if *calls != connectTries+1 {
		t.Errorf("%d CONNECTs for a lasting EINVAL, want %d", *calls, connectTries+1)
	}
	exec, calls = fails(1, unix.EBUSY)
	if _, err := connectWith(c, exec, 0); !errors.Is(err, unix.EBUSY) || *calls != 1 {
		t.Fatalf("EBUSY: %v after %d CONNECTs; want EBUSY after 1", err, *calls)
	}
}
