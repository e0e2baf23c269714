package initiator_test

import (
	"bytes"
	"math/rand/v2"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/goaoe/goaoe/initiator"
	"github.com/goaoe/goaoe/internal/memnet"
)

// readBack writes size random bytes, then reads them back in 128 KiB
// requests, depth at a time, and fails the test if they differ. It returns
// how long the reads took.
func readBack(t *testing.T, b *bed, size, depth int) time.Duration {
	t.Helper()
	data := randomBytes(rand.New(rand.NewPCG(8, 9)), size)
	if _, err := b.t.WriteAt(data, 0); err != nil {
		t.Fatalf("write: %v", err)
	}
	got := make([]byte, size)
	start := time.Now()
	var wg sync.WaitGroup
	const chunk = 128 << 10
	next := make(chan int, size/chunk)
	for off := 0; off < size; off += chunk {
		next <- off
	}
	close(next)
	for range depth {
		wg.Go(func() {
			for off := range next {
				if _, err := b.t.ReadAt(got[off:off+chunk], int64(off)); err != nil {
					t.Errorf("read at %d: %v", off, err)
					return
				}
			}
		})
	}
	wg.Wait()
	took := time.Since(start)
	if !bytes.Equal(got, data) {
		t.Fatal("read back differs from what was written")
	}
	return took
}

// TestWindowFillsATargetThatQueuesMore: a target that advertises 16
// buffers but queues 64 (as vblade's socket does) is kept busier than 16
// frames per round trip allow, and loses nothing for it.
func TestWindowFillsATargetThatQueuesMore(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := newBed(t, 1500, memnet.TargetConfig{BufferCount: 16, QueueLen: 64}, initiator.Options{})
		b.net.SetImpairment(memnet.Impairment{Delay: time.Millisecond})
		const size = 4 << 20
		took := readBack(t, b, size, 8)
		// 4096 frames at 16 per 2 ms round trip take 512 ms at best.
		atBufferCount := time.Duration(size/1024/16) * 2 * time.Millisecond
		p := b.t.Status().Paths[0]
		t.Logf("read %d MiB in %v (16 in flight would take %v or more); window %d", size>>20, took, atBufferCount, p.Window)
		if took > atBufferCount*2/3 {
			t.Errorf("took %v: no faster than a window of the buffer count (%v)", took, atBufferCount)
		}
		if d := b.tgt.Stats().Dropped; d != 0 {
			t.Errorf("the target dropped %d requests", d)
		}
	})
}

// TestStrictTargetSettlesAtItsBufferCount: a target that queues exactly
// what it advertises costs the probing past it a few dropped frames, ever
// more rarely, and every byte still arrives.
func TestStrictTargetSettlesAtItsBufferCount(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := newBed(t, 1500, memnet.TargetConfig{BufferCount: 16, QueueLen: 16, Sectors: 32768}, initiator.Options{})
		b.net.SetImpairment(memnet.Impairment{Delay: 200 * time.Microsecond})
		const size = 16 << 20
		readBack(t, b, size, 8)
		frames := 2 * size / 1024 // written and read
		d := b.tgt.Stats().Dropped
		p := b.t.Status().Paths[0]
		t.Logf("%d frames, %d dropped by the target, %d timeouts, window %d", frames, d, p.Timeouts, p.Window)
		if d == 0 {
			t.Error("nothing dropped: the window never probed past the buffer count")
		}
		if d > frames/200 {
			t.Errorf("the target dropped %d of %d frames: the window keeps overrunning it", d, frames)
		}
	})
}

// TestLossyLinkKeepsTheWindow: random loss within the buffer count is not
// the target's doing, so the window stays at the buffer count, where the
// Linux driver falls to one frame and crawls.
func TestLossyLinkKeepsTheWindow(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := newBed(t, 1500, memnet.TargetConfig{BufferCount: 16, QueueLen: 16}, initiator.Options{})
		b.net.SetImpairment(memnet.Impairment{Loss: 0.05, Delay: 10 * time.Millisecond})
		const size = 1 << 20
		took := readBack(t, b, size, 8)
		p := b.t.Status().Paths[0]
		t.Logf("read 1 MiB in %v over 5%% loss, window %d, %d timeouts", took, p.Window, p.Timeouts)
		if p.Window < 16 {
			t.Errorf("window %d after random loss, want at least the buffer count 16", p.Window)
		}
		// 1024 frames at 16 per 20 ms round trip: 1.28 s without loss.
		if took > 3*time.Second {
			t.Errorf("took %v: the lossy link was used far below its window", took)
		}
	})
}
