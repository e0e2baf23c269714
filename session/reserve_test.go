package session

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/goaoe/goaoe/discovery"
	"github.com/goaoe/goaoe/initiator"
	"github.com/goaoe/goaoe/initiator/wire"
	"github.com/goaoe/goaoe/internal/testbed"
	"github.com/goaoe/goaoe/rawport"
)

// TestClaimAgainstVblade reserves a real vblade for this host and releases
// it, then has "another host" (a forged source MAC) take it: attaching is
// refused with the holder named, and the engine's writes fail with
// ErrTargetReserved.
func TestClaimAgainstVblade(t *testing.T) {
	bed := testbed.New(t, 1500)
	bed.StartTarget(1, 2, 1<<20)
	ini, _, err := discovery.Open([]string{bed.HostIface()}, initiator.Options{Deadline: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer ini.Close()
	tg, err := discovery.WaitFor(context.Background(), ini, initiator.Addr{Shelf: 1, Slot: 2}, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	release, err := claim(tg, true, t.Logf, t.Logf)
	if err != nil {
		t.Fatalf("claim: %v", err)
	}
	held, _ := tg.Reservation()
	if !slices.Equal(held, localMACs()) {
		t.Fatalf("reserved for %v, want this host's MACs %v", held, localMACs())
	}
	if _, err := tg.WriteAt(make([]byte, 512), 0); err != nil {
		t.Fatalf("the holder's write: %v", err)
	}
	release()
	if held, _ := tg.Reservation(); len(held) != 0 {
		t.Fatalf("still reserved for %v after release", held)
	}

	// Another initiator reserves it.
	other := wire.MAC{2, 0x99, 0x99, 0x99, 0x99, 0x99}
	p, err := rawport.Open(bed.HostIface())
	if err != nil {
		t.Fatal(err)
	}
	f := wire.Frame{Header: wire.Header{Dst: wire.BroadcastMAC, Src: other, Version: wire.Version, Shelf: 1, Slot: 2, Command: wire.CommandReserve, Tag: 0x80000777},
		Body: &wire.Reserve{Command: wire.ReserveSet, MACs: []wire.MAC{other}}}
	raw, _ := f.MarshalBinary()
	if err := p.Send([][]byte{raw}); err != nil {
		t.Fatal(err)
	}
	p.Close()
	time.Sleep(200 * time.Millisecond)
	_, err = claim(tg, false, t.Logf, t.Logf)
	if err == nil || !strings.Contains(err.Error(), "reserved by another initiator (02:99:99:99:99:99)") {
		t.Fatalf("attaching a target another host reserved: %v", err)
	}
	if _, err := tg.WriteAt(make([]byte, 512), 0); !errors.Is(err, wire.ErrTargetReserved) {
		t.Fatalf("write to a target another host reserved: %v, want ErrTargetReserved", err)
	}
}

// TestClaimWithoutReservations: a target that drops Reserve/Release
// without a word (quirktarget silent-control, over a real veth) is
// attached with one warning, and --reserve is refused, naming the reason;
// the silence marks neither the target dead nor its path down.
func TestClaimWithoutReservations(t *testing.T) {
	bed := testbed.New(t, 1500)
	bed.StartQuirkyTarget(1, 3, 1<<20, []string{"silent-control"})
	ini, _, err := discovery.Open([]string{bed.HostIface()}, initiator.Options{Deadline: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer ini.Close()
	start := time.Now()
	tg, err := discovery.WaitFor(context.Background(), ini, initiator.Addr{Shelf: 1, Slot: 3}, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took > 4*time.Second {
		t.Errorf("finding and probing took %v; the probe must be short", took)
	}
	var warnings []string
	warnf := func(format string, args ...any) { warnings = append(warnings, fmt.Sprintf(format, args...)) }
	release, err := claim(tg, false, t.Logf, warnf)
	if err != nil {
		t.Fatalf("claim without --reserve: %v", err)
	}
	release()
	if len(warnings) != 1 || !strings.Contains(warnings[0], "e1.3 has no reservations (no answer to Reserve/Release)") {
		t.Errorf("warnings %q, want one saying e1.3 has no reservations", warnings)
	}
	_, err = claim(tg, true, t.Logf, warnf)
	if err == nil || !strings.Contains(err.Error(), "cannot reserve e1.3") || !strings.Contains(err.Error(), "no answer to Reserve/Release") {
		t.Errorf("claim with --reserve: %v, want a refusal naming the reason", err)
	}
	st := tg.Status()
	if st.Dead != "" || len(st.Paths) != 1 || !st.Paths[0].Up || st.Paths[0].Timeouts != 0 {
		t.Errorf("after the probe: dead %q, paths %+v", st.Dead, st.Paths)
	}
	if _, err := tg.WriteAt(make([]byte, 4096), 0); err != nil {
		t.Errorf("write: %v", err)
	}
}
