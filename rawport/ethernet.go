package rawport

import (
	"fmt"
	"net"
)

// The one definition of which network interfaces AoE can use, for every
// package that decides it (Open here, multipath's link events, session's
// reservations). It reads only an interface's name, flags and hardware
// address, so it builds everywhere and takes interfaces from package net or
// built from rtnetlink attributes alike.

// Ethernet reports whether ifi is an Ethernet interface AoE can use at all:
// not the loopback (whose address is six zero bytes on Linux) and with a
// 6-byte hardware address, which rules out tun, wireguard and ppp devices.
// It says nothing of whether ifi is up: Open accepts an interface that is
// down, and a host's reservation covers its NICs that are down too (one that
// comes up later joins a session already allowed in).
//
// The error is the one Open returns for such an interface: an *OpError
// whose Err is ErrNotEthernet and whose Hint says what is wrong.
func Ethernet(ifi *net.Interface) error {
	switch {
	case ifi.Flags&net.FlagLoopback != 0:
		return &OpError{Op: "open port", Iface: ifi.Name, Err: ErrNotEthernet,
			Hint: "it is the loopback; AoE needs an Ethernet interface, see \"ip link\""}
	case len(ifi.HardwareAddr) != 6:
		return &OpError{Op: "open port", Iface: ifi.Name, Err: ErrNotEthernet,
			Hint: fmt.Sprintf("its hardware address %q is not a 6-byte MAC; AoE needs an Ethernet interface, see \"ip link\"",
				ifi.HardwareAddr.String())}
	}
	return nil
}

// Usable reports whether ifi can carry AoE now: Ethernet, administratively
// up (net.FlagUp) and running (net.FlagRunning, the kernel's IFF_RUNNING:
// carrier present and not dormant). It is what makes a link a path of the
// engine (package multipath): a link joins when it turns usable and leaves
// when it stops being so.
//
// Interfaces, the default set discovery broadcasts on, asks less: Ethernet
// and up, carrier or not.
func Usable(ifi *net.Interface) bool {
	return ifi.Flags&net.FlagUp != 0 && ifi.Flags&net.FlagRunning != 0 && Ethernet(ifi) == nil
}
