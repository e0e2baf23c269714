package initiator_test

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/goaoe/goaoe/initiator"
	"github.com/goaoe/goaoe/initiator/wire"
	"github.com/goaoe/goaoe/internal/memnet"
)

var (
	hostMAC   = wire.MAC{0x02, 0, 0, 0, 0, 0x01}
	targetMAC = wire.MAC{0x02, 0, 0, 0, 0, 0x10}
	e12       = initiator.Addr{Shelf: 1, Slot: 2}
)

// bed is one initiator and one simulated target on an in-memory segment.
type bed struct {
	net *memnet.Network
	tgt *memnet.Target
	ini *initiator.Initiator
	t   *initiator.Target
}

// newBed must run inside a synctest bubble. It starts the target, lets the
// initiator learn it from the target's announcement, and identifies it.
func newBed(t *testing.T, mtu int, cfg memnet.TargetConfig, opts initiator.Options) *bed {
	t.Helper()
	if cfg.Sectors == 0 {
		cfg.Sectors = 8192 // 4 MiB
	}
	cfg.Shelf, cfg.Slot = e12.Shelf, e12.Slot
	b := &bed{net: memnet.New(1)}
	b.tgt = memnet.NewTarget(b.net, "tgt0", targetMAC, mtu, cfg)
	b.ini = initiator.New(opts)
	if err := b.ini.AddPort(b.net.NewPort("eth0", hostMAC, mtu)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		b.ini.Close()
		b.tgt.Stop()
	})
	b.tgt.Start()
	synctest.Wait()
	b.t = b.ini.Target(e12)
	if b.t == nil {
		t.Fatal("the target's announcement did not make it known")
	}
	if _, err := b.t.Identify(); err != nil {
		t.Fatalf("identify: %v", err)
	}
	return b
}

func randomBytes(r *rand.Rand, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

func TestIdentify(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := newBed(t, 1500, memnet.TargetConfig{Sectors: 1 << 20}, initiator.Options{})
		id := b.t.Identity()
		if id.Sectors != 1<<20 || !id.LBA48 || id.Size() != 512<<20 {
			t.Errorf("identity = %+v, want 2^20 sectors with LBA48", id)
		}
		if id.Model != "memnet simulated target" || id.Serial != "MEMNET0001" || id.Firmware != "V25" {
			t.Errorf("strings = %q %q %q", id.Model, id.Serial, id.Firmware)
		}
		if id.FlushCommand != wire.ATAFlushCache {
			t.Errorf("flush command = %#x, want FLUSH CACHE 0xE7 (the target has no EXT)", id.FlushCommand)
		}
		if got := b.t.MaxSectors(); got != 2 {
			t.Errorf("sectors per frame at MTU 1500 = %d, want 2", got)
		}
	})
}

// TestReadWrite writes random extents and reads them back, on a clean
// segment and on a hostile one, and checks the target's disk too.
func TestReadWrite(t *testing.T) {
	for _, tc := range []struct {
		name string
		mtu  int
		imp  memnet.Impairment
	}{
		{"clean", 1500, memnet.Impairment{}},
		{"jumbo", 9000, memnet.Impairment{}},
		{"hostile", 1500, memnet.Impairment{Loss: 0.10, Duplicate: 0.05, Reorder: 0.10, Delay: 200 * time.Microsecond, Jitter: 300 * time.Microsecond}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				b := newBed(t, tc.mtu, memnet.TargetConfig{SectorCount: uint8((tc.mtu - 36) / 512)}, initiator.Options{})
				b.net.SetImpairment(tc.imp)
				r := rand.New(rand.NewPCG(2, 3))
				size := int(b.t.Size())
				model := make([]byte, size)
				var wg sync.WaitGroup
				var mu sync.Mutex
				// Writers run concurrently on disjoint regions, so the
				// window fills and replies interleave.
				const writers = 4
				region := size / writers
				for w := 0; w < writers; w++ {
					rr := rand.New(rand.NewPCG(uint64(w), 7))
					wg.Add(1)
					go func() {
						defer wg.Done()
						for i := 0; i < 20; i++ {
							n := (1 + rr.IntN(64)) * 512
							off := w*region + rr.IntN((region-n)/512)*512
							data := randomBytes(rr, n)
							if _, err := b.t.WriteAt(data, int64(off)); err != nil {
								t.Errorf("write %d at %d: %v", n, off, err)
								return
							}
							mu.Lock()
							copy(model[off:], data)
							mu.Unlock()
						}
					}()
				}
				wg.Wait()
				for i := 0; i < 40; i++ {
					n := (1 + r.IntN(128)) * 512
					off := r.IntN((size-n)/512) * 512
					got := make([]byte, n)
					if _, err := b.t.ReadAt(got, int64(off)); err != nil {
						t.Fatalf("read %d at %d: %v", n, off, err)
					}
					if !bytes.Equal(got, model[off:off+n]) {
						t.Fatalf("read %d at %d: bytes differ from what was written", n, off)
					}
				}
				all := make([]byte, size)
				if _, err := b.t.ReadAt(all, 0); err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(all, model) || !bytes.Equal(b.tgt.Disk(), model) {
					t.Fatal("the whole disk differs from what was written")
				}
				st := b.t.Status()
				if tc.imp.Loss > 0 && st.Paths[0].Retransmitted == 0 {
					t.Error("10% loss but nothing was retransmitted")
				}
				if tc.imp.Duplicate > 0 && st.Unmatched == 0 {
					t.Error("5% duplication but no duplicate reply was counted")
				}
				if tc.imp == (memnet.Impairment{}) && b.tgt.Stats().Dropped != 0 {
					t.Errorf("the target dropped %d requests: the window went past its buffer count", b.tgt.Stats().Dropped)
				}
				if tc.mtu == 9000 && b.t.MaxSectors() != 17 {
					t.Errorf("sectors per frame at MTU 9000 = %d, want 17", b.t.MaxSectors())
				}
			})
		})
	}
}

func TestReadPastEndIsRefusedBeforeSending(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := newBed(t, 1500, memnet.TargetConfig{}, initiator.Options{})
		before := b.tgt.Stats().Requests
		buf := make([]byte, 1024)
		_, err := b.t.ReadAt(buf, b.t.Size()-512)
		if !errors.Is(err, initiator.ErrRange) {
			t.Fatalf("read past the end: err = %v, want ErrRange", err)
		}
		if _, err := b.t.WriteAt(buf[:100], 0); !errors.Is(err, initiator.ErrUnaligned) {
			t.Fatalf("unaligned write: err = %v, want ErrUnaligned", err)
		}
		if got := b.tgt.Stats().Requests; got != before {
			t.Fatalf("%d requests reached the target", got-before)
		}
	})
}

func TestErrorsFailAtOnce(t *testing.T) {
	for _, tc := range []struct {
		name   string
		action memnet.FaultAction
		want   string
		is     error
	}{
		{"aoe error", memnet.FaultAction{AoEError: wire.ErrTargetReserved}, "e1.2: write of 2 sectors at LBA 100: AoE error 6: target reserved", wire.ErrTargetReserved},
		{"ata error", memnet.FaultAction{ATAStatus: 0x41, ATAError: wire.ATAErrorUNC}, "e1.2: write of 2 sectors at LBA 100: ATA uncorrectable data (UNC)", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				b := newBed(t, 1500, memnet.TargetConfig{}, initiator.Options{})
				b.tgt.SetFault(func(h *wire.Header, a *wire.ATA) memnet.FaultAction {
					if a.LBA == 100 {
						return tc.action
					}
					return memnet.FaultAction{}
				})
				start := time.Now()
				_, err := b.t.WriteAt(make([]byte, 4096), 96*512)
				if err == nil || !strings.Contains(err.Error(), tc.want) {
					t.Fatalf("err = %v, want it to say %q", err, tc.want)
				}
				if tc.is != nil && !errors.Is(err, tc.is) {
					t.Errorf("errors.Is(err, %v) = false", tc.is)
				}
				if d := time.Since(start); d > time.Second {
					t.Errorf("failing took %v: errors must not be retried", d)
				}
			})
		})
	}
}

func TestReadOnlyTargetRefusesWrites(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := newBed(t, 1500, memnet.TargetConfig{ReadOnly: true}, initiator.Options{})
		_, err := b.t.WriteAt(make([]byte, 512), 0)
		var ae *initiator.ATAError
		if !errors.As(err, &ae) || ae.Err&wire.ATAErrorABRT == 0 {
			t.Fatalf("write to read-only target: err = %v, want ATA ABRT", err)
		}
		if _, err := b.t.ReadAt(make([]byte, 512), 0); err != nil {
			t.Fatalf("read from read-only target: %v", err)
		}
	})
}

func TestFlushSendsTheCommandTheTargetClaims(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := newBed(t, 1500, memnet.TargetConfig{}, initiator.Options{})
		if err := b.t.Flush(); err != nil {
			t.Fatalf("flush: %v", err)
		}
		st := b.tgt.Stats()
		if st.Flushes != 1 || st.Commands[wire.ATAFlushCacheExt] != 0 {
			t.Fatalf("target saw %d FLUSH CACHE and %d FLUSH CACHE EXT, want 1 and 0", st.Flushes, st.Commands[wire.ATAFlushCacheExt])
		}
	})
}

func TestLBA28Target(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := newBed(t, 1500, memnet.TargetConfig{LBA28Only: true, Sectors: 4096}, initiator.Options{})
		if id := b.t.Identity(); id.LBA48 || id.Sectors != 4096 {
			t.Fatalf("identity = %+v, want LBA28 with 4096 sectors", id)
		}
		data := randomBytes(rand.New(rand.NewPCG(1, 1)), 8192)
		if _, err := b.t.WriteAt(data, 4000*512); err != nil {
			t.Fatal(err)
		}
		got := make([]byte, len(data))
		if _, err := b.t.ReadAt(got, 4000*512); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, data) {
			t.Fatal("LBA28 read back differs")
		}
		st := b.tgt.Stats()
		if st.Commands[wire.ATAWrite28] == 0 || st.Commands[wire.ATAWriteExt] != 0 {
			t.Fatalf("commands = %v, want only LBA28 ones", st.Commands)
		}
	})
}

func TestDeadTargetFailsThenComesBack(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const deadline = 10 * time.Second
		b := newBed(t, 1500, memnet.TargetConfig{}, initiator.Options{Deadline: deadline})
		b.tgt.Stop()
		start := time.Now()
		_, err := b.t.WriteAt(make([]byte, 4096), 0)
		took := time.Since(start)
		if !errors.Is(err, initiator.ErrDead) {
			t.Fatalf("err = %v, want ErrDead", err)
		}
		if took < deadline || took > deadline+time.Second {
			t.Errorf("failed after %v, want just after the %v deadline", took, deadline)
		}
		if !strings.Contains(err.Error(), "e1.2") {
			t.Errorf("error %q does not name the target", err)
		}
		// New I/O fails at once while it is dead.
		start = time.Now()
		if _, err := b.t.ReadAt(make([]byte, 512), 0); !errors.Is(err, initiator.ErrDead) || time.Since(start) > 0 {
			t.Fatalf("I/O to a dead target: err = %v after %v, want ErrDead at once", err, time.Since(start))
		}
		if b.t.Status().Dead == "" {
			t.Error("status does not say the target is down")
		}
		// Its announcement on restart brings it back.
		b.tgt.Start()
		synctest.Wait()
		if _, err := b.t.ReadAt(make([]byte, 512), 0); err != nil {
			t.Fatalf("after the target came back: %v", err)
		}
	})
}

// TestTargetRestartWithinDeadline loses no write: frames sent while the
// target is down are retransmitted once it is back.
func TestTargetRestartWithinDeadline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := newBed(t, 1500, memnet.TargetConfig{}, initiator.Options{Deadline: 30 * time.Second})
		data := randomBytes(rand.New(rand.NewPCG(5, 5)), 256*1024)
		b.tgt.Stop()
		go func() {
			time.Sleep(5 * time.Second)
			b.tgt.Start()
		}()
		if _, err := b.t.WriteAt(data, 0); err != nil {
			t.Fatalf("write across a target restart: %v", err)
		}
		if !bytes.Equal(b.tgt.Disk()[:len(data)], data) {
			t.Fatal("the target's disk differs after the restart")
		}
	})
}

// TestForeignRepliesAreDropped answers every request from a second station
// first, with the right tag but a wrong MAC and garbage data.
func TestForeignRepliesAreDropped(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := newBed(t, 1500, memnet.TargetConfig{}, initiator.Options{})
		spoofer := b.net.NewPort("evil", wire.MAC{0x02, 0, 0, 0, 0, 0x66}, 1500)
		want := randomBytes(rand.New(rand.NewPCG(9, 9)), 8192)
		b.tgt.WriteDisk(0, want)
		b.tgt.SetFault(func(h *wire.Header, a *wire.ATA) memnet.FaultAction {
			resp := wire.Frame{Header: *h, Body: &wire.ATA{Flags: a.Flags, SectorCount: a.SectorCount, CmdStatus: 0x40, LBA: a.LBA, Data: make([]byte, int(a.SectorCount)*512)}}
			resp.Dst, resp.Src = hostMAC, spoofer.MAC()
			resp.Flags |= wire.FlagResponse
			raw, _ := resp.MarshalBinary()
			spoofer.Send([][]byte{raw})
			return memnet.FaultAction{}
		})
		got := make([]byte, len(want))
		if _, err := b.t.ReadAt(got, 0); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Fatal("a spoofed reply's data was used")
		}
		if n := b.t.Status().Foreign; n == 0 {
			t.Error("no foreign reply counted")
		}
	})
}

// TestStartAndKick: started requests wait for Kick, then complete with
// every byte in place, each calling back exactly once; a bad one calls
// back with its error at once.
func TestStartAndKick(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := newBed(t, 1500, memnet.TargetConfig{}, initiator.Options{})
		const n, size = 32, 8 << 10
		data := randomBytes(rand.New(rand.NewPCG(1, 1)), n*size)
		var mu sync.Mutex
		calls := map[int]int{}
		var errs []error
		then := func(i int) func(error) {
			return func(err error) {
				mu.Lock()
				defer mu.Unlock()
				calls[i]++
				if err != nil {
					errs = append(errs, err)
				}
			}
		}
		wait := func(want int) {
			t.Helper()
			synctest.Wait()
			mu.Lock()
			defer mu.Unlock()
			if len(calls) != want || len(errs) != 0 {
				t.Fatalf("%d requests called back (want %d), errors %v", len(calls), want, errs)
			}
			for i, c := range calls {
				if c != 1 {
					t.Fatalf("request %d called back %d times", i, c)
				}
			}
			clear(calls)
		}
		before := b.tgt.Stats().Requests
		for i := range n {
			b.t.StartWrite(data[i*size:(i+1)*size], int64(i*size), then(i))
		}
		synctest.Wait()
		if got := b.tgt.Stats().Requests; got != before {
			t.Fatalf("%d frames reached the target before Kick", got-before)
		}
		b.t.Kick()
		wait(n)
		if !bytes.Equal(b.tgt.Disk()[:n*size], data) {
			t.Fatal("the target's disk differs from what was written")
		}
		got := make([]byte, n*size)
		for i := range n {
			b.t.StartRead(got[i*size:(i+1)*size], int64(i*size), then(i))
		}
		b.t.Kick()
		wait(n)
		if !bytes.Equal(got, data) {
			t.Fatal("read back differs from what was written")
		}
		var gotErr error
		b.t.StartRead(make([]byte, 512), b.t.Size(), func(err error) { gotErr = err })
		if !errors.Is(gotErr, initiator.ErrRange) {
			t.Fatalf("a read past the end called back with %v, want ErrRange at once", gotErr)
		}
	})
}

// TestCompletionMayCallTheTarget: a started request's completion runs
// after the target's lock is released, so it may use the Target, as the
// nbd server does when it answers a lone request itself. Under the lock
// (as before) this deadlocks: a goroutine blocked on a mutex does not
// count as idle in a synctest bubble, so a real-time watchdog reports it.
func TestCompletionMayCallTheTarget(t *testing.T) {
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		completionMayCallTheTarget(t)
	}()
	select {
	case <-finished:
	case <-time.After(time.Minute):
		t.Fatal("deadlock: a completion that calls the Target never returned (completions run with the target locked?)")
	}
}

func completionMayCallTheTarget(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := newBed(t, 1500, memnet.TargetConfig{}, initiator.Options{})
		data := randomBytes(rand.New(rand.NewPCG(5, 5)), 8<<10)
		got := make([]byte, len(data))
		var (
			mu      sync.Mutex
			done    []string
			chained error
		)
		b.t.StartWrite(data, 0, func(err error) {
			if err != nil {
				t.Errorf("write: %v", err)
			}
			// Chain the read from the write's completion, and look at the
			// target's state, both of which take its lock.
			_ = b.t.Status()
			b.t.StartRead(got, 0, func(err error) {
				mu.Lock()
				defer mu.Unlock()
				chained = err
				done = append(done, "read")
			})
			b.t.Kick()
			mu.Lock()
			defer mu.Unlock()
			done = append(done, "write")
		})
		b.t.Kick()
		synctest.Wait()
		mu.Lock()
		defer mu.Unlock()
		if !slices.Equal(done, []string{"write", "read"}) || chained != nil {
			t.Fatalf("completions %v, read error %v; want write then read, no error", done, chained)
		}
		if !bytes.Equal(got, data) {
			t.Fatal("the chained read got other bytes than the write wrote")
		}
	})
}

// TestStartReadFramesKeepsItsData: a read that keeps its receive buffers
// gets its bytes in order, and they stay intact while much more traffic
// passes until it releases them.
func TestStartReadFramesKeepsItsData(t *testing.T) {
	for _, mtu := range []int{1500, 9000} {
		t.Run(fmt.Sprint(mtu), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				b := newBed(t, mtu, memnet.TargetConfig{SectorCount: uint8((mtu - 36) / 512)}, initiator.Options{})
				b.net.SetImpairment(memnet.Impairment{Loss: 0.05, Duplicate: 0.05, Reorder: 0.1})
				const size = 256 << 10
				data := randomBytes(rand.New(rand.NewPCG(4, 4)), 4*size)
				if _, err := b.t.WriteAt(data, 0); err != nil {
					t.Fatal(err)
				}
				type result struct {
					data    [][]byte
					release func()
					err     error
				}
				got := make(chan result, 1)
				b.t.StartReadFrames(0, size, func(d [][]byte, release func(), err error) {
					got <- result{d, release, err}
				})
				b.t.Kick()
				r := <-got
				if r.err != nil {
					t.Fatal(r.err)
				}
				// Other reads reuse the receive loop's buffers.
				other := make([]byte, 3*size)
				if _, err := b.t.ReadAt(other, size); err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(bytes.Join(r.data, nil), data[:size]) {
					t.Fatal("the kept frames differ from what was written, or were overwritten before release")
				}
				if !bytes.Equal(other, data[size:]) {
					t.Fatal("a read after the kept one differs")
				}
				r.release()

				b.t.StartReadFrames(b.t.Size(), 512, func(d [][]byte, release func(), err error) {
					got <- result{d, release, err}
				})
				r = <-got
				if !errors.Is(r.err, initiator.ErrRange) || r.data != nil {
					t.Fatalf("read past the end: %v with %d chunks, want ErrRange and none", r.err, len(r.data))
				}
				r.release()
			})
		})
	}
}

// partsPort is a memnet port that takes frames in parts, as rawport's
// does, and records the data parts it was given.
type partsPort struct {
	*memnet.Port
	mu    sync.Mutex
	datas [][]byte
}

func (p *partsPort) SendParts(heads, datas [][]byte) error {
	frames := make([][]byte, len(heads))
	p.mu.Lock()
	for i := range heads {
		frames[i] = append(append([]byte(nil), heads[i]...), datas[i]...)
		if len(datas[i]) > 0 {
			p.datas = append(p.datas, datas[i])
		}
	}
	p.mu.Unlock()
	return p.Send(frames)
}

// TestWritesGoOutInParts: through a port that sends in parts, a write's
// data goes out from the caller's own buffer (no copy into the frame), and
// lands on the target's disk as written, retransmits included.
func TestWritesGoOutInParts(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := memnet.New(3)
		tgt := memnet.NewTarget(n, "tgt0", targetMAC, 1500, memnet.TargetConfig{Shelf: e12.Shelf, Slot: e12.Slot, Sectors: 8192})
		ini := initiator.New(initiator.Options{})
		port := &partsPort{Port: n.NewPort("eth0", hostMAC, 1500)}
		if err := ini.AddPort(port); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { ini.Close(); tgt.Stop() })
		tgt.Start()
		synctest.Wait()
		tg := ini.Target(e12)
		if _, err := tg.Identify(); err != nil {
			t.Fatal(err)
		}
		n.SetImpairment(memnet.Impairment{Loss: 0.1})
		data := randomBytes(rand.New(rand.NewPCG(6, 6)), 1<<20)
		if _, err := tg.WriteAt(data, 0); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(tgt.Disk()[:len(data)], data) {
			t.Fatal("the target's disk differs from what was written")
		}
		port.mu.Lock()
		defer port.mu.Unlock()
		if len(port.datas) < len(data)/1024 {
			t.Fatalf("%d data parts sent for %d frames' worth", len(port.datas), len(data)/1024)
		}
		for _, d := range port.datas {
			// A slice of data starts cap(data)-cap(d) bytes into it.
			if off := cap(data) - cap(d); off < 0 || off >= len(data) || &data[off] != &d[0] {
				t.Fatal("a data part is not a slice of the caller's buffer: it was copied")
			}
		}
	})
}
