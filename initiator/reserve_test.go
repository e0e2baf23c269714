package initiator_test

import (
	"errors"
	"slices"
	"testing"
	"testing/synctest"

	"github.com/goaoe/goaoe/initiator"
	"github.com/goaoe/goaoe/initiator/wire"
	"github.com/goaoe/goaoe/internal/memnet"
)

// TestReservationKeepsOthersOut: a second initiator's writes are refused
// while the first holds the target, and allowed once it lets go.
func TestReservationKeepsOthersOut(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := newBed(t, 1500, memnet.TargetConfig{}, initiator.Options{})
		other := initiator.New(initiator.Options{})
		other.AddPort(b.net.NewPort("eth9", wire.MAC{2, 0, 0, 0, 0, 0x99}, 1500))
		defer other.Close()
		other.Query(e12)
		synctest.Wait()
		ot := other.Target(e12)
		if _, err := ot.Identify(); err != nil {
			t.Fatal(err)
		}
		if got, err := b.t.Reservation(); err != nil || len(got) != 0 {
			t.Fatalf("fresh target reservation %v, %v; want none", got, err)
		}
		if err := b.t.Reserve([]wire.MAC{hostMAC}); err != nil {
			t.Fatalf("reserve: %v", err)
		}
		if got, _ := ot.Reservation(); !slices.Equal(got, []wire.MAC{hostMAC}) {
			t.Fatalf("the other initiator reads the reservation as %v", got)
		}
		if _, err := ot.WriteAt(make([]byte, 512), 0); !errors.Is(err, wire.ErrTargetReserved) {
			t.Fatalf("write by another initiator: %v, want ErrTargetReserved", err)
		}
		if err := ot.Reserve([]wire.MAC{{2, 0, 0, 0, 0, 0x99}}); !errors.Is(err, wire.ErrTargetReserved) {
			t.Fatalf("the other initiator took the reservation: %v", err)
		}
		if _, err := b.t.WriteAt(make([]byte, 512), 0); err != nil {
			t.Fatalf("the holder's write: %v", err)
		}
		if err := b.t.Reserve(nil); err != nil {
			t.Fatalf("release: %v", err)
		}
		if _, err := ot.WriteAt(make([]byte, 512), 0); err != nil {
			t.Fatalf("write after release: %v", err)
		}
	})
}
