package multipath

import (
	"net"
	"testing"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// TestLinkOf: a link event is usable exactly when rawport.Usable says so,
// with IFF_RUNNING (carrier) taken from the event's flags.
func TestLinkOf(t *testing.T) {
	mac := net.HardwareAddr{0x52, 0x54, 0, 0x12, 0x34, 0x56}
	event := func(typ uint16, raw uint32, hw net.HardwareAddr) netlink.LinkUpdate {
		var u netlink.LinkUpdate
		u.Header.Type = typ
		// netlink fills Flags from the raw IFF_ flags the same way.
		var f net.Flags
		if raw&unix.IFF_UP != 0 {
			f |= net.FlagUp
		}
		if raw&unix.IFF_LOOPBACK != 0 {
			f |= net.FlagLoopback
		}
		if raw&unix.IFF_RUNNING != 0 {
			f |= net.FlagRunning
		}
		u.Link = &netlink.Device{LinkAttrs: netlink.LinkAttrs{Name: "eth0", Flags: f, RawFlags: raw, HardwareAddr: hw}}
		return u
	}
	for _, c := range []struct {
		name string
		u    netlink.LinkUpdate
		want Link
	}{
		{"up with carrier", event(unix.RTM_NEWLINK, unix.IFF_UP|unix.IFF_RUNNING, mac), Link{Name: "eth0", Usable: true}},
		{"no carrier", event(unix.RTM_NEWLINK, unix.IFF_UP, mac), Link{Name: "eth0"}},
		{"down", event(unix.RTM_NEWLINK, 0, mac), Link{Name: "eth0"}},
		{"loopback", event(unix.RTM_NEWLINK, unix.IFF_UP|unix.IFF_RUNNING|unix.IFF_LOOPBACK, make(net.HardwareAddr, 6)), Link{Name: "eth0"}},
		{"no MAC", event(unix.RTM_NEWLINK, unix.IFF_UP|unix.IFF_RUNNING, nil), Link{Name: "eth0"}},
		{"deleted", event(unix.RTM_DELLINK, 0, mac), Link{Name: "eth0", Deleted: true}},
	} {
		if got := linkOf(c.u); got != c.want {
			t.Errorf("%s: linkOf = %+v, want %+v", c.name, got, c.want)
		}
	}
}
