package discovery_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/goaoe/goaoe/discovery"
	"github.com/goaoe/goaoe/initiator"
	"github.com/goaoe/goaoe/internal/testbed"
)

// scanAddrs is the addresses of the targets Scan finds on ini.
func scanAddrs(t *testing.T, ini *initiator.Initiator) []initiator.Addr {
	t.Helper()
	found, err := discovery.Scan(context.Background(), ini, initiator.AllTargets, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	var addrs []initiator.Addr
	for _, f := range found {
		if f.IdentifyError != nil {
			t.Errorf("%v: %v", f.Addr, f.IdentifyError)
		}
		addrs = append(addrs, f.Addr)
	}
	return addrs
}

// TestOpenForKeepsOtherTargetsOut runs three vblades on one link: an
// engine from Open finds them all, one from OpenFor, asking every target,
// hears only its own, and so does one whose port comes from OpenPortFor
// (the way a NIC that comes up later is opened); I/O works through the
// filter.
func TestOpenForKeepsOtherTargetsOut(t *testing.T) {
	bed := testbed.New(t, 9000)
	e12, e13, e22 := initiator.Addr{Shelf: 1, Slot: 2}, initiator.Addr{Shelf: 1, Slot: 3}, initiator.Addr{Shelf: 2, Slot: 2}
	for _, a := range []initiator.Addr{e12, e13, e22} {
		bed.StartTarget(int(a.Shelf), int(a.Slot), 1<<20)
	}
	ifaces := []string{bed.HostIface()}

	all, _, err := discovery.Open(ifaces, initiator.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer all.Close()
	if got := scanAddrs(t, all); !slices.Equal(got, []initiator.Addr{e12, e13, e22}) {
		t.Fatalf("Open's engine found %v, want e1.2, e1.3 and e2.2", got)
	}

	one, _, err := discovery.OpenFor(e12, ifaces, initiator.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer one.Close()
	if got := scanAddrs(t, one); !slices.Equal(got, []initiator.Addr{e12}) {
		t.Fatalf("OpenFor(e1.2)'s engine found %v, want only e1.2", got)
	}
	tg, err := discovery.WaitFor(context.Background(), one, e12, 3*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 256<<10)
	if _, err := tg.ReadAt(buf, 0); err != nil {
		t.Fatalf("read through the filter: %v", err)
	}

	late := initiator.New(initiator.Options{})
	defer late.Close()
	p, err := discovery.OpenPortFor(e22)(bed.HostIface())
	if err != nil {
		t.Fatal(err)
	}
	if err := late.AddPort(p); err != nil {
		t.Fatal(err)
	}
	if got := scanAddrs(t, late); !slices.Equal(got, []initiator.Addr{e22}) {
		t.Fatalf("an engine with OpenPortFor(e2.2)'s port found %v, want only e2.2", got)
	}
}
