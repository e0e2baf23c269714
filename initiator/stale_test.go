package initiator_test

import (
	"bytes"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/goaoe/goaoe/initiator"
	"github.com/goaoe/goaoe/initiator/wire"
	"github.com/goaoe/goaoe/internal/memnet"
)

// TestStaleDuplicateWriteCannotUndoANewerOne holds up the first copy of a
// write in the network long enough for the initiator to retransmit it, get
// the retransmit answered, and issue a newer write to the same sectors.
// When the old copy finally lands it must not overwrite the newer data:
// the newer write has to wait until the old copy can no longer arrive.
func TestStaleDuplicateWriteCannotUndoANewerOne(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := newBed(t, 1500, memnet.TargetConfig{}, initiator.Options{})
		b.net.SetImpairment(memnet.Impairment{Delay: time.Millisecond}) // RTT 2ms, RTO 5ms
		// Teach the engine the path's RTT.
		if _, err := b.t.ReadAt(make([]byte, 64<<10), 0); err != nil {
			t.Fatal(err)
		}
		const lba = 1000
		var once sync.Once
		b.tgt.SetFault(func(h *wire.Header, a *wire.ATA) memnet.FaultAction {
			var act memnet.FaultAction
			if a.Flags&wire.ATAFlagWrite != 0 && a.LBA == lba {
				once.Do(func() { act.Delay = 12 * time.Millisecond })
			}
			return act
		})
		old := bytes.Repeat([]byte{0x01}, 1024)
		newer := bytes.Repeat([]byte{0x02}, 1024)
		if _, err := b.t.WriteAt(old, lba*512); err != nil {
			t.Fatal(err)
		}
		if b.t.Status().Paths[0].Retransmitted == 0 {
			t.Fatal("the held-up copy did not cause a retransmit; the test proves nothing")
		}
		if _, err := b.t.WriteAt(newer, lba*512); err != nil {
			t.Fatal(err)
		}
		time.Sleep(100 * time.Millisecond) // every old copy has landed by now
		if got := b.tgt.Disk()[lba*512 : lba*512+1024]; !bytes.Equal(got, newer) {
			t.Fatalf("the target holds %#x..., want the newer write's %#x...: a stale copy undid it", got[0], newer[0])
		}
		if b.t.Status().HeldWrites == 0 {
			t.Error("no write was counted as held back")
		}
		// Writes elsewhere are not held.
		before := b.t.Status().HeldWrites
		if _, err := b.t.WriteAt(newer, 5000*512); err != nil {
			t.Fatal(err)
		}
		if b.t.Status().HeldWrites != before {
			t.Error("a write to other sectors was held back")
		}
	})
}
