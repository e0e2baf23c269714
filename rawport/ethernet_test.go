package rawport_test

import (
	"errors"
	"net"
	"strings"
	"testing"

	"github.com/goaoe/goaoe/rawport"
)

// TestUsableNIC is the definition of a usable NIC, case by case.
func TestUsableNIC(t *testing.T) {
	mac := net.HardwareAddr{0x52, 0x54, 0, 0x12, 0x34, 0x56}
	upRunning := net.FlagUp | net.FlagRunning | net.FlagBroadcast | net.FlagMulticast
	for _, c := range []struct {
		name     string
		ifi      net.Interface
		ethernet string // "" if Ethernet, else what its error's text holds
		usable   bool
	}{
		{"up with carrier", net.Interface{Name: "eth0", Flags: upRunning, HardwareAddr: mac}, "", true},
		{"up, no carrier", net.Interface{Name: "eth0", Flags: net.FlagUp | net.FlagBroadcast, HardwareAddr: mac}, "", false},
		{"down", net.Interface{Name: "eth0", Flags: net.FlagBroadcast, HardwareAddr: mac}, "", false},
		{"running but down", net.Interface{Name: "eth0", Flags: net.FlagRunning, HardwareAddr: mac}, "", false},
		{"loopback", net.Interface{Name: "lo", Flags: upRunning | net.FlagLoopback, HardwareAddr: make(net.HardwareAddr, 6)},
			"open port on lo: not an Ethernet interface (it is the loopback", false},
		{"tun, no address", net.Interface{Name: "tun0", Flags: upRunning | net.FlagPointToPoint},
			`open port on tun0: not an Ethernet interface (its hardware address "" is not a 6-byte MAC`, false},
		{"infiniband, 20 bytes", net.Interface{Name: "ib0", Flags: upRunning, HardwareAddr: make(net.HardwareAddr, 20)},
			"is not a 6-byte MAC", false},
		{"EUI-64, 8 bytes", net.Interface{Name: "fw0", Flags: upRunning, HardwareAddr: make(net.HardwareAddr, 8)},
			"is not a 6-byte MAC", false},
	} {
		err := rawport.Ethernet(&c.ifi)
		switch {
		case c.ethernet == "" && err != nil:
			t.Errorf("%s: Ethernet = %v, want nil", c.name, err)
		case c.ethernet != "" && !errors.Is(err, rawport.ErrNotEthernet):
			t.Errorf("%s: Ethernet = %v, want ErrNotEthernet", c.name, err)
		case c.ethernet != "" && !strings.Contains(err.Error(), c.ethernet):
			t.Errorf("%s: Ethernet = %q, want it to hold %q", c.name, err, c.ethernet)
		}
		if got := rawport.Usable(&c.ifi); got != c.usable {
			t.Errorf("%s: Usable = %v, want %v", c.name, got, c.usable)
		}
	}
}
