package discovery_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/goaoe/goaoe/discovery"
	"github.com/goaoe/goaoe/initiator"
	"github.com/goaoe/goaoe/internal/testbed"
)

// These tests run the engine over a real raw socket against the real vblade
// in a network namespace. They need root; testbed skips them otherwise.

const exportSize = 64 << 20

func attachVblade(t *testing.T, mtu int, opts initiator.Options) (*testbed.Bed, *testbed.Target, *initiator.Target) {
	t.Helper()
	bed := testbed.New(t, mtu)
	tgt := bed.StartTarget(1, 2, exportSize)
	ini, _, err := discovery.Open([]string{bed.HostIface()}, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ini.Close() })
	found, err := discovery.Scan(context.Background(), ini, initiator.AllTargets, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if len(found) != 1 || found[0].Addr != (initiator.Addr{Shelf: 1, Slot: 2}) {
		t.Fatalf("found %+v, want only e1.2", found)
	}
	if found[0].Identity == nil || found[0].Identity.Size() != exportSize {
		t.Fatalf("e1.2 identity %+v (%v), want %d bytes", found[0].Identity, found[0].IdentifyError, exportSize)
	}
	return bed, tgt, ini.Target(found[0].Addr)
}

// TestVbladeRandomIO writes random extents over the whole export from
// several goroutines, reads everything back, and checks the backing file
// holds exactly the bytes written.
func TestVbladeRandomIO(t *testing.T) {
	for _, tc := range []struct {
		mtu, sectors int
	}{{1500, 2}, {9000, 17}} {
		t.Run(fmt.Sprintf("mtu%d", tc.mtu), func(t *testing.T) {
			_, vb, tgt := attachVblade(t, tc.mtu, initiator.Options{})
			if got := tgt.MaxSectors(); got != tc.sectors {
				t.Errorf("%d sectors per frame at MTU %d, want %d", got, tc.mtu, tc.sectors)
			}
			model := make([]byte, exportSize)
			var wg sync.WaitGroup
			const writers = 8
			region := exportSize / writers
			for w := 0; w < writers; w++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					r := rand.New(rand.NewPCG(uint64(w), uint64(tc.mtu)))
					for i := 0; i < 40; i++ {
						n := (1 + r.IntN(512)) * 512
						off := w*region + r.IntN((region-n)/512+1)*512
						b := model[off : off+n]
						for j := range b {
							b[j] = byte(r.Uint32())
						}
						if _, err := tgt.WriteAt(b, int64(off)); err != nil {
							t.Errorf("write %d at %d: %v", n, off, err)
							return
						}
					}
				}()
			}
			wg.Wait()
			if err := tgt.Flush(); err != nil {
				t.Fatalf("flush: %v", err)
			}
			got := make([]byte, exportSize)
			if _, err := tgt.ReadAt(got, 0); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, model) {
				t.Fatalf("read back differs from what was written at byte %d", firstDiff(got, model))
			}
			file, err := os.ReadFile(vb.Path())
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(file, model) {
				t.Fatalf("vblade's backing file differs from what was written at byte %d", firstDiff(file, model))
			}
		})
	}
}

// TestVbladeRestartLosesNoWrite kills vblade in the middle of writes and
// restarts it well within the deadline: no error, and every byte lands.
func TestVbladeRestartLosesNoWrite(t *testing.T) {
	_, vb, tgt := attachVblade(t, 1500, initiator.Options{Deadline: 30 * time.Second})
	data := make([]byte, 32<<20)
	r := rand.New(rand.NewPCG(1, 2))
	for i := range data {
		data[i] = byte(r.Uint32())
	}
	errc := make(chan error, 1)
	go func() {
		_, err := tgt.WriteAt(data, 0)
		errc <- err
	}()
	time.Sleep(100 * time.Millisecond)
	vb.Kill()
	time.Sleep(2 * time.Second)
	vb.Restart()
	if err := <-errc; err != nil {
		t.Fatalf("write across a vblade restart: %v", err)
	}
	got := make([]byte, len(data))
	if _, err := tgt.ReadAt(got, 0); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, data) {
		t.Fatalf("read back differs at byte %d", firstDiff(got, data))
	}
	file, _ := os.ReadFile(vb.Path())
	if !bytes.Equal(file[:len(data)], data) {
		t.Fatalf("backing file differs at byte %d", firstDiff(file, data))
	}
	var retrans uint64
	for _, p := range tgt.Status().Paths {
		retrans += p.Retransmitted
	}
	if retrans == 0 {
		t.Error("no retransmits counted: was vblade really down during the write?")
	}
}

// TestVbladePastEndIsRefusedLocally: nothing goes on the wire for a read
// past the end.
func TestVbladePastEndIsRefusedLocally(t *testing.T) {
	_, _, tgt := attachVblade(t, 1500, initiator.Options{})
	sent := func() (n uint64) {
		for _, p := range tgt.Status().Paths {
			n += p.Sent
		}
		return n
	}
	before := sent()
	_, err := tgt.ReadAt(make([]byte, 4096), exportSize-1024)
	if !errors.Is(err, initiator.ErrRange) {
		t.Fatalf("err = %v, want ErrRange", err)
	}
	if after := sent(); after != before {
		t.Fatalf("%d frames were sent for a read past the end", after-before)
	}
}

// TestVbladeDeadTarget: vblade gone for good; I/O fails with a clear error
// just after the deadline, not before and not much later.
func TestVbladeDeadTarget(t *testing.T) {
	const deadline = 3 * time.Second
	_, vb, tgt := attachVblade(t, 1500, initiator.Options{Deadline: deadline})
	vb.Kill()
	start := time.Now()
	_, err := tgt.WriteAt(make([]byte, 4096), 0)
	took := time.Since(start)
	if !errors.Is(err, initiator.ErrDead) {
		t.Fatalf("err = %v, want ErrDead", err)
	}
	if took < deadline || took > deadline+2*time.Second {
		t.Errorf("failed after %v, want just past the %v deadline", took, deadline)
	}
}

func firstDiff(a, b []byte) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

// TestVbladeAnnouncementIsSeen starts vblade after the engine, which sends
// no query: vblade's own start-up broadcast must make the target known.
func TestVbladeAnnouncementIsSeen(t *testing.T) {
	bed := testbed.New(t, 1500)
	ini, _, err := discovery.Open([]string{bed.HostIface()}, initiator.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer ini.Close()
	bed.StartTarget(4, 5, 1<<20)
	want := initiator.Addr{Shelf: 4, Slot: 5}
	for deadline := time.Now().Add(3 * time.Second); ini.Target(want) == nil; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("vblade's start-up announcement did not make e4.5 known")
		}
	}
}
