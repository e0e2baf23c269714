package initiator_test

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/goaoe/goaoe/initiator"
	"github.com/goaoe/goaoe/initiator/wire"
	"github.com/goaoe/goaoe/internal/memnet"
)

// TestStaleCopyOnASlowerPath: the first copy of a write goes out on a slow
// path and is held up past that path's timeout; its retransmit goes out on
// a fast path and is answered at once. A newer write to the same sectors
// must wait until the old copy can no longer land: by the slow path's
// measure, not by the fast one's whose reply happened to arrive.
func TestStaleCopyOnASlowerPath(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		net := memnet.New(3)
		tgt := memnet.NewTarget(net, "tgt0", targetMAC, 1500, memnet.TargetConfig{Shelf: 1, Slot: 2, Sectors: 8192})
		ini := initiator.New(initiator.Options{})
		defer func() { ini.Close(); tgt.Stop() }()
		slow := net.NewPort("eth0", wire.MAC{2, 0, 0, 0, 2, 0}, 1500)
		slow.SetDelay(10 * time.Millisecond) // RTT 20 ms, RTO about 25 ms
		ini.AddPort(slow)
		tgt.Start()
		time.Sleep(50 * time.Millisecond)
		tg := ini.Target(e12)
		if _, err := tg.Identify(); err != nil {
			t.Fatal(err)
		}
		// Teach the engine the slow path's round trip, steady enough
		// that its timeout is close to it.
		for range 8 {
			if _, err := tg.ReadAt(make([]byte, 64<<10), 0); err != nil {
				t.Fatal(err)
			}
		}
		srtt := tg.Status().Paths[0].SRTT
		// A fast path joins; unmeasured, it ties with the slow one, which
		// is listed first and takes the next frame.
		fast := net.NewPort("eth1", wire.MAC{2, 0, 0, 0, 2, 1}, 1500)
		ini.AddPort(fast)
		ini.Query(e12)
		time.Sleep(30 * time.Millisecond)

		const lba = 1000
		var once sync.Once
		tgt.SetFault(func(h *wire.Header, a *wire.ATA) memnet.FaultAction {
			var act memnet.FaultAction
			if a.Flags&wire.ATAFlagWrite != 0 && a.LBA == lba && h.Dst == slow.MAC() {
				// Beyond the slow path's timeout, within four of them.
				once.Do(func() { act.Delay = 3 * srtt })
			}
			return act
		})
		old := bytes.Repeat([]byte{0x01}, 1024)
		newer := bytes.Repeat([]byte{0x02}, 1024)
		if _, err := tg.WriteAt(old, lba*512); err != nil {
			t.Fatal(err)
		}
		st := tg.Status()
		if st.Paths[0].Retransmitted+st.Paths[1].Retransmitted == 0 || st.Paths[0].Timeouts == 0 {
			t.Fatalf("the held-up copy on the slow path did not time out and go again: %+v", st.Paths)
		}
		if _, err := tg.WriteAt(newer, lba*512); err != nil {
			t.Fatal(err)
		}
		time.Sleep(500 * time.Millisecond) // every old copy has landed by now
		if got := tgt.Disk()[lba*512 : lba*512+1024]; !bytes.Equal(got, newer) {
			t.Fatalf("the target holds %#x..., want the newer write's %#x...: the slow path's old copy undid it", got[0], newer[0])
		}
	})
}

// TestFrameDeadline: a target that silently drops every request for one
// range while it answers the rest. A write to that range fails with
// ErrFrameDeadline once its frame has gone unanswered for the deadline;
// it does not hang while the other I/O keeps the target alive, and that
// other I/O goes on unharmed.
func TestFrameDeadline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const deadline = 10 * time.Second
		b := newBed(t, 1500, memnet.TargetConfig{}, initiator.Options{Deadline: deadline})
		b.tgt.SetFault(func(h *wire.Header, a *wire.ATA) memnet.FaultAction {
			lba := a.LBA & 0xffffffffffff
			return memnet.FaultAction{Drop: a.Flags&wire.ATAFlagWrite != 0 && lba >= 4000 && lba < 4100}
		})
		stop := make(chan struct{})
		var readers sync.WaitGroup
		readers.Add(1)
		go func() {
			defer readers.Done()
			buf := make([]byte, 4096)
			for {
				select {
				case <-stop:
					return
				case <-time.After(100 * time.Millisecond):
				}
				if _, err := b.t.ReadAt(buf, 0); err != nil {
					t.Errorf("a read elsewhere failed: %v", err)
					return
				}
			}
		}()
		start := time.Now()
		done := make(chan error, 1)
		go func() {
			_, err := b.t.WriteAt(make([]byte, 4096), 4000*512)
			done <- err
		}()
		select {
		case err := <-done:
			if !errors.Is(err, initiator.ErrFrameDeadline) {
				t.Errorf("write to the dropped range: %v, want ErrFrameDeadline", err)
			}
			if took := time.Since(start); took < deadline || took > deadline+3*time.Second {
				t.Errorf("the write failed after %v, want just past the %v deadline", took, deadline)
			}
		case <-time.After(5 * deadline):
			t.Fatalf("the write to the dropped range still hangs after %v", 5*deadline)
		}
		close(stop)
		readers.Wait()
		if st := b.t.Status(); st.Dead != "" {
			t.Errorf("target marked dead: %s", st.Dead)
		}
		roundTrip(t, b, 0, 64<<10)
	})
}

// TestMTULoweredUnderAWrite: the host's MTU drops from 9000 to 1500 in the
// middle of a write cut into 17-sector frames. Every send of those fails
// from then on; the engine learns the new size, cuts what is left to fit
// and finishes the write, and the target holds every byte.
func TestMTULoweredUnderAWrite(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		net := memnet.New(4)
		tgt := memnet.NewTarget(net, "tgt0", targetMAC, 9000, memnet.TargetConfig{Shelf: 1, Slot: 2, Sectors: 32768, SectorCount: 17})
		ini := initiator.New(initiator.Options{Deadline: 10 * time.Second})
		defer func() { ini.Close(); tgt.Stop() }()
		port := net.NewPort("eth0", hostMAC, 9000)
		port.SetDelay(500 * time.Microsecond)
		ini.AddPort(port)
		tgt.Start()
		time.Sleep(10 * time.Millisecond)
		tg := ini.Target(e12)
		if _, err := tg.Identify(); err != nil {
			t.Fatal(err)
		}
		if got := tg.MaxSectors(); got != 17 {
			t.Fatalf("%d sectors a frame at MTU 9000, want 17", got)
		}
		data := randomBytes(rand.New(rand.NewPCG(9, 9)), 8<<20)
		done := make(chan error, 1)
		go func() {
			_, err := tg.WriteAt(data, 0)
			done <- err
		}()
		time.Sleep(5 * time.Millisecond)
		if tgt.Stats().Writes == 0 {
			t.Fatal("nothing written before the MTU change; the test proves nothing")
		}
		port.SetMTU(1500)
		tgt.Port().SetMTU(1500)
		if err := <-done; err != nil {
			t.Fatalf("write across the MTU change: %v", err)
		}
		if !bytes.Equal(tgt.Disk()[:len(data)], data) {
			t.Fatal("the target's disk differs from what was written")
		}
		if got := tg.MaxSectors(); got != 2 {
			t.Errorf("%d sectors a frame after the change, want 2", got)
		}
		// And reads, cut for the new size from the start.
		got := make([]byte, 1<<20)
		if _, err := tg.ReadAt(got, 1<<20); err != nil || !bytes.Equal(got, data[1<<20:2<<20]) {
			t.Fatalf("read after the MTU change: %v", err)
		}
	})
}
