package initiator

import (
	"fmt"
	"testing"
	"time"

	"github.com/goaoe/goaoe/initiator/wire"
	"github.com/goaoe/goaoe/internal/memnet"
)

// benchTarget is a target seen through nports host ports, on real time
// (no synctest bubble: benchmarks measure the CPU the engine costs).
func benchTarget(b *testing.B, nports int) *Target {
	b.Helper()
	net := memnet.New(1)
	tgt := memnet.NewTarget(net, "tgt0", wire.MAC{2, 0, 0, 0, 0, 0x10}, 9000, memnet.TargetConfig{Shelf: 1, Slot: 2, Sectors: 1 << 16, BufferCount: 16})
	ini := New(Options{})
	b.Cleanup(func() { ini.Close(); tgt.Stop() })
	for i := range nports {
		ini.AddPort(net.NewPort(fmt.Sprintf("eth%d", i), wire.MAC{2, 0, 0, 0, 1, byte(i)}, 9000))
	}
	tgt.Start()
	start := time.Now()
	for {
		if t := ini.Target(Addr{Shelf: 1, Slot: 2}); t != nil && len(t.Status().Paths) == nports {
			if _, err := t.Identify(); err != nil {
				b.Fatal(err)
			}
			return t
		}
		if time.Since(start) > 5*time.Second {
			b.Fatal("target not learned")
		}
		time.Sleep(time.Millisecond)
	}
}

// BenchmarkPickPath is the balancer's cost per frame, with RTTs measured.
func BenchmarkPickPath(b *testing.B) {
	for _, n := range []int{1, 2, 4} {
		b.Run(fmt.Sprintf("paths=%d", n), func(b *testing.B) {
			t := benchTarget(b, n)
			buf := make([]byte, 256<<10)
			for range 4 {
				if _, err := t.ReadAt(buf, 0); err != nil {
					b.Fatal(err)
				}
			}
			t.mu.Lock()
			defer t.mu.Unlock()
			b.ReportAllocs()
			for b.Loop() {
				if t.pickPathLocked(nil, 2) == nil {
					b.Fatal("no path")
				}
			}
		})
	}
}

// BenchmarkReadAt is a whole 128 KiB read through the engine over the
// in-memory network: cutting, path choice, sends, replies.
func BenchmarkReadAt(b *testing.B) {
	for _, n := range []int{1, 2} {
		b.Run(fmt.Sprintf("paths=%d", n), func(b *testing.B) {
			t := benchTarget(b, n)
			buf := make([]byte, 128<<10)
			b.SetBytes(int64(len(buf)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := t.ReadAt(buf, 0); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
