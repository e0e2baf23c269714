package initiator_test

import (
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/goaoe/goaoe/initiator"
	"github.com/goaoe/goaoe/initiator/wire"
	"github.com/goaoe/goaoe/internal/memnet"
)

// TestLateRepliesTeachTheRTO: a target that now and then answers after 20
// ms (as a guest whose CPU stalls does) first causes spurious
// retransmits; their late replies must teach the RTO the long tail, so the
// spurious retransmits stop, and the single path is never taken out.
func TestLateRepliesTeachTheRTO(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := newBed(t, 1500, memnet.TargetConfig{}, initiator.Options{})
		b.net.SetImpairment(memnet.Impairment{Delay: 200 * time.Microsecond})
		var n atomic.Int64
		b.tgt.SetFault(func(h *wire.Header, a *wire.ATA) memnet.FaultAction {
			if n.Add(1)%50 == 0 {
				return memnet.FaultAction{Delay: 20 * time.Millisecond}
			}
			return memnet.FaultAction{}
		})
		buf := make([]byte, 128<<10)
		retransmits := func() uint64 { return b.t.Status().Paths[0].Retransmitted }
		batch := func() uint64 {
			before := retransmits()
			for i := 0; i < 40; i++ {
				if _, err := b.t.ReadAt(buf, int64(i)*int64(len(buf))%b.t.Size()); err != nil {
					t.Fatal(err)
				}
			}
			return retransmits() - before
		}
		first, second := batch(), batch()
		st := b.t.Status()
		t.Logf("retransmits: first batch %d, second %d; late replies %d; srtt %v", first, second, st.Late, st.Paths[0].SRTT)
		if st.Late == 0 {
			t.Fatal("no late reply was recognised")
		}
		if first == 0 || second*4 > first {
			t.Fatalf("retransmits went from %d to %d: the RTO did not learn the tail", first, second)
		}
		if !st.Paths[0].Up {
			t.Fatal("the only path was taken out")
		}
	})
}
