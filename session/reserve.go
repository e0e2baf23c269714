package session

import (
	"errors"
	"fmt"
	"net"
	"os"
	"slices"
	"strings"

	"github.com/goaoe/goaoe/initiator"
	"github.com/goaoe/goaoe/initiator/wire"
	"github.com/goaoe/goaoe/rawport"
)

// claim refuses a target that another host has reserved and, if asked,
// reserves it for every Ethernet interface of this host (not only those
// up now, so a NIC that joins later is already allowed in). The returned
// function releases what was claimed. A target without reservations is
// attached with a warning, but refused when a reservation was asked for:
// --reserve promises what such a target cannot keep.
func claim(t *initiator.Target, reserve bool, logf, warnf func(string, ...any)) (release func(), err error) {
	release = func() {}
	held, err := t.Reservation()
	switch {
	case errors.Is(err, initiator.ErrNoReservations) && reserve:
		return release, fmt.Errorf("cannot reserve %s: %w; attach it without --reserve", t.Addr(), errors.Unwrap(err))
	case errors.Is(err, initiator.ErrNoReservations):
		warnf("%s has no reservations (%s): attached without one; nothing keeps another host from writing it", t.Addr(), t.Learned().ReservationProblem)
		return release, nil
	case err != nil:
		return release, fmt.Errorf("%s: cannot read its reservation: %w", t.Addr(), err)
	}
	mine := localMACs()
	if len(held) > 0 && !slices.ContainsFunc(held, func(m wire.MAC) bool { return slices.Contains(mine, m) }) {
		return release, fmt.Errorf("%s is reserved by another initiator (%s): two hosts writing one disk destroy it; release it on that host (aoe-detach there) first", t.Addr(), macList(held))
	}
	if !reserve {
		return release, nil
	}
	if err := t.Reserve(mine); err != nil {
		return release, fmt.Errorf("%s: reserve for %s: %w", t.Addr(), macList(mine), err)
	}
	logf("%s reserved for this host (%s)", t.Addr(), macList(mine))
	return func() {
		if err := t.Reserve(nil); err != nil {
			logf("%s: release the reservation: %v", t.Addr(), err)
			return
		}
		logf("%s reservation released", t.Addr())
	}, nil
}

// localMACs lists the MACs of every Ethernet interface of this host
// (rawport.Ethernet), up or down: only the Ethernet half of rawport.Usable,
// so that a NIC that is down now and joins the session later is already
// covered by the reservation.
func localMACs() []wire.MAC {
	ifs, _ := net.Interfaces()
	var macs []wire.MAC
	for _, ifi := range ifs {
		if rawport.Ethernet(&ifi) != nil {
			continue
		}
		var m wire.MAC
		copy(m[:], ifi.HardwareAddr)
		if !slices.Contains(macs, m) {
			macs = append(macs, m)
		}
	}
	return macs
}

func macList(macs []wire.MAC) string {
	s := make([]string, len(macs))
	for i, m := range macs {
		s[i] = m.String()
	}
	return strings.Join(s, ", ")
}

// KernelDriverLoaded reports whether the kernel's own aoe driver is loaded.
// Both can run side by side (our tags have bit 31 set, which it ignores),
// but one target must not be used through both at once.
func KernelDriverLoaded() bool {
	_, err := os.Stat("/sys/module/aoe")
	return err == nil
}
