package initiator_test

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/goaoe/goaoe/initiator"
	"github.com/goaoe/goaoe/initiator/wire"
	"github.com/goaoe/goaoe/internal/memnet"
)

// Targets other than vblade, one behaviour each (internal/memnet's
// Quirks): the engine learns what the target really does and carries on.

// learn runs Learn and fails the test on an error.
func learn(t *testing.T, b *bed) initiator.Learned {
	t.Helper()
	l, err := b.t.Learn()
	if err != nil {
		t.Fatalf("learn: %v", err)
	}
	return l
}

// checkPathsClean fails if anything counted against the target's paths or
// its liveness: what a probe's silence must never do.
func checkPathsClean(t *testing.T, b *bed) {
	t.Helper()
	st := b.t.Status()
	if st.Dead != "" {
		t.Errorf("target marked dead: %s", st.Dead)
	}
	for _, p := range st.Paths {
		if !p.Up || p.Timeouts != 0 {
			t.Errorf("path %s: up %v, %d timeouts; a probe's silence must cost it nothing", p.Port, p.Up, p.Timeouts)
		}
	}
}

// roundTrip writes n random bytes at off and reads them back.
func roundTrip(t *testing.T, b *bed, off int64, n int) {
	t.Helper()
	data := randomBytes(rand.New(rand.NewPCG(uint64(off), uint64(n))), n)
	if _, err := b.t.WriteAt(data, off); err != nil {
		t.Fatalf("write: %v", err)
	}
	got := make([]byte, n)
	if _, err := b.t.ReadAt(got, off); err != nil {
		t.Fatalf("read: %v", err)
	}
	if !bytes.Equal(got, data) {
		t.Fatal("read back differs from what was written")
	}
}

func TestLearnVblade(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := newBed(t, 1500, memnet.TargetConfig{}, initiator.Options{})
		l := learn(t, b)
		want := initiator.Learned{Probed: true, FlushCommand: wire.ATAFlushCache, Reservations: true}
		if l != want {
			t.Errorf("learned %+v, want %+v", l, want)
		}
		if got := b.tgt.Stats().Commands[wire.ATAFlushCacheExt]; got != 0 {
			t.Errorf("FLUSH CACHE EXT sent %d times to a target that does not claim it", got)
		}
		checkPathsClean(t, b)
	})
}

// TestLearnNoReservations: a target that drops Reserve/Release without a
// word, or answers it with AoE error 1, is learned to have none within the
// probe's window, far inside the deadline; the silence costs the path
// nothing; Reservation and Reserve then fail at once, and I/O works.
func TestLearnNoReservations(t *testing.T) {
	for _, tc := range []struct {
		name    string
		control memnet.ControlQuirk
		problem string
	}{
		{"silent", memnet.ControlSilent, "no answer"},
		{"error1", memnet.ControlUnrecognized, "AoE error 1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				// A short deadline: the probe must end well inside it.
				b := newBed(t, 1500, memnet.TargetConfig{Quirks: memnet.Quirks{Control: tc.control}}, initiator.Options{Deadline: 5 * time.Second})
				start := time.Now()
				l := learn(t, b)
				if took := time.Since(start); took > 2500*time.Millisecond {
					t.Errorf("learning took %v; a probe must take a couple of seconds at most", took)
				}
				if l.Reservations || !strings.Contains(l.ReservationProblem, tc.problem) {
					t.Errorf("learned reservations %v (%q), want none (%q)", l.Reservations, l.ReservationProblem, tc.problem)
				}
				if l.FlushCommand != wire.ATAFlushCache {
					t.Errorf("flush %#x, want 0xe7", l.FlushCommand)
				}
				checkPathsClean(t, b)
				sent := b.tgt.Stats().ControlDropped
				start = time.Now()
				if _, err := b.t.Reservation(); !errors.Is(err, initiator.ErrNoReservations) {
					t.Errorf("Reservation: %v, want ErrNoReservations", err)
				}
				if err := b.t.Reserve([]wire.MAC{hostMAC}); !errors.Is(err, initiator.ErrNoReservations) {
					t.Errorf("Reserve: %v, want ErrNoReservations", err)
				}
				if took := time.Since(start); took != 0 || b.tgt.Stats().ControlDropped != sent {
					t.Errorf("Reservation and Reserve asked the target again (%v)", took)
				}
				roundTrip(t, b, 4096, 64<<10)
				checkPathsClean(t, b)
			})
		})
	}
}

// TestFlushStatusEcho: a flush answered with its command byte in the
// status field completes (and is counted); a genuine ATA error on a flush
// still fails it, with the cause decoded.
func TestFlushStatusEcho(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := newBed(t, 1500, memnet.TargetConfig{Quirks: memnet.Quirks{EchoFlushStatus: true}}, initiator.Options{})
		if l := learn(t, b); l.FlushCommand != wire.ATAFlushCache {
			t.Fatalf("learned flush %#x (%s), want 0xe7 despite the echoed status", l.FlushCommand, l.FlushProblem)
		}
		roundTrip(t, b, 0, 8192)
		if err := b.t.Flush(); err != nil {
			t.Fatalf("flush: %v", err)
		}
		if got := b.t.Status().EchoedStatus; got != 2 {
			t.Errorf("echoed status counted %d times, want 2 (the probe and the flush)", got)
		}
		if got := b.tgt.Stats().EchoedFlushes; got != 2 {
			t.Errorf("the target echoed %d flushes, want 2", got)
		}

		b.tgt.SetFault(func(h *wire.Header, a *wire.ATA) memnet.FaultAction {
			if a.CmdStatus == wire.ATAFlushCache {
				return memnet.FaultAction{ATAStatus: 0x51, ATAError: wire.ATAErrorUNC}
			}
			return memnet.FaultAction{}
		})
		err := b.t.Flush()
		var ae *initiator.ATAError
		if !errors.As(err, &ae) || ae.Status != 0x51 || !strings.Contains(err.Error(), "UNC") {
			t.Errorf("flush with a real ATA error: %v, want status 0x51 decoded", err)
		}
	})
}

// TestFlushNotAvailable: a target that aborts the flush it claims, or
// claims none, is learned to have none at attach time; Flush then sends
// nothing (the disk is attached write-through) instead of failing every
// fsync.
func TestFlushNotAvailable(t *testing.T) {
	for _, tc := range []struct {
		name   string
		quirks memnet.Quirks
	}{
		{"aborted", memnet.Quirks{AbortFlush: true}},
		{"not claimed", memnet.Quirks{ClaimNoFlush: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				b := newBed(t, 1500, memnet.TargetConfig{Quirks: tc.quirks}, initiator.Options{})
				l := learn(t, b)
				if l.FlushCommand != 0 || !strings.Contains(l.FlushProblem, "aborted") {
					t.Fatalf("learned flush %#x (%q), want none, aborted", l.FlushCommand, l.FlushProblem)
				}
				if !l.Reservations {
					t.Errorf("reservations lost: %q", l.ReservationProblem)
				}
				before := b.tgt.Stats().Commands[wire.ATAFlushCache]
				if err := b.t.Flush(); err != nil {
					t.Errorf("flush on a write-through target: %v", err)
				}
				if got := b.tgt.Stats().Commands[wire.ATAFlushCache]; got != before {
					t.Errorf("Flush sent %d FLUSH CACHE to a target that cannot flush", got-before)
				}
				checkPathsClean(t, b)
			})
		})
	}
}

// TestFlushExt: where IDENTIFY claims FLUSH CACHE EXT and the target does
// it, that is the flush used.
func TestFlushExt(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := newBed(t, 1500, memnet.TargetConfig{Quirks: memnet.Quirks{FlushExt: true}}, initiator.Options{})
		if l := learn(t, b); l.FlushCommand != wire.ATAFlushCacheExt || l.FlushProblem != "" {
			t.Fatalf("learned flush %#x (%q), want 0xea", l.FlushCommand, l.FlushProblem)
		}
		if err := b.t.Flush(); err != nil {
			t.Fatal(err)
		}
		if got := b.tgt.Stats().Commands[wire.ATAFlushCacheExt]; got != 2 {
			t.Errorf("FLUSH CACHE EXT sent %d times, want 2 (the probe and the flush)", got)
		}
	})
}

// TestOversizedSectorCount: a target advertising 16 sectors a command at
// MTU 1500 gets frames cut to what the link carries (2 sectors); a frame
// cut to 16 would never leave the port.
func TestOversizedSectorCount(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := newBed(t, 1500, memnet.TargetConfig{SectorCount: 16}, initiator.Options{Deadline: 10 * time.Second})
		if got := b.t.MaxSectors(); got != 2 {
			t.Fatalf("sectors per frame %d, want 2 at MTU 1500", got)
		}
		roundTrip(t, b, 0, 256<<10)
		for _, p := range b.t.Status().Paths {
			if p.SendErrors != 0 {
				t.Errorf("path %s: %d send errors", p.Port, p.SendErrors)
			}
		}
	})
}

// TestBufferCounts: a buffer count of 0 is taken as 1, and 1 and 256 are
// kept. Targets that queue no more than that (QueueLen 1) get all data
// right under concurrent load and settle where they drop next to nothing
// (the window probes past the count only as far as a target takes it, see
// TestStrictTargetSettlesAtItsBufferCount); a window of 0 would hang.
func TestBufferCounts(t *testing.T) {
	for _, tc := range []struct {
		name      string
		cfg       memnet.TargetConfig
		advertise int
	}{
		{"zero", memnet.TargetConfig{Quirks: memnet.Quirks{ZeroBufferCount: true}, QueueLen: 1}, 0},
		{"one", memnet.TargetConfig{BufferCount: 1, QueueLen: 1}, 1},
		{"256", memnet.TargetConfig{BufferCount: 256}, 256},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				b := newBed(t, 1500, tc.cfg, initiator.Options{})
				if got := b.t.Config().BufferCount; got != tc.advertise {
					t.Fatalf("buffer count %d, want %d", got, tc.advertise)
				}
				const each = 512 << 10
				var wg sync.WaitGroup
				for i := range 4 {
					wg.Add(1)
					go func() {
						defer wg.Done()
						roundTrip(t, b, int64(i)<<20, each)
					}()
				}
				wg.Wait()
				frames := 2 * 4 * each / 1024
				p := b.t.Status().Paths[0]
				d := b.tgt.Stats().Dropped
				t.Logf("%d frames, %d dropped by the target, window %d", frames, d, p.Window)
				if p.Window < 1 {
					t.Errorf("window %d", p.Window)
				}
				if d > frames/200 {
					t.Errorf("the target dropped %d of %d frames: the window keeps overrunning it", d, frames)
				}
			})
		})
	}
}

// TestOddConfigAnswers: firmware 0, an empty config string and a start-up
// announcement with AoE version 0 still make a usable target.
func TestOddConfigAnswers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := newBed(t, 1500, memnet.TargetConfig{Quirks: memnet.Quirks{FirmwareZero: true, AnnounceVersion0: true}}, initiator.Options{})
		if c := b.t.Config(); c.Firmware != 0 || c.String != "" {
			t.Errorf("config %+v, want firmware 0 and no string", c)
		}
		learn(t, b)
		roundTrip(t, b, 512, 4096)
	})
}

// TestWritesRefused: a read-only export aborts writes. The first refusal
// says why (ErrWritesRefused, with the ATA cause) and is logged once;
// further writes fail at once without reaching the target; reads work.
func TestWritesRefused(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var mu sync.Mutex
		var logged []string
		logf := func(format string, args ...any) {
			mu.Lock()
			defer mu.Unlock()
			if line := strings.TrimSpace(fmt.Sprintf(format, args...)); strings.Contains(line, "refused a write") {
				logged = append(logged, line)
			}
		}
		b := newBed(t, 1500, memnet.TargetConfig{ReadOnly: true}, initiator.Options{Logf: logf})
		b.tgt.WriteDisk(0, bytes.Repeat([]byte{0xAB}, 4096))
		_, err := b.t.WriteAt(make([]byte, 4096), 0)
		if !errors.Is(err, initiator.ErrWritesRefused) || !strings.Contains(err.Error(), "ABRT") || !strings.Contains(err.Error(), "e1.2") {
			t.Fatalf("first write: %v, want ErrWritesRefused naming the target and the ABRT", err)
		}
		if !b.t.Learned().WritesRefused {
			t.Error("Learned().WritesRefused not set")
		}
		requests := b.tgt.Stats().Requests
		start := time.Now()
		if _, err := b.t.WriteAt(make([]byte, 512), 8192); !errors.Is(err, initiator.ErrWritesRefused) {
			t.Errorf("second write: %v, want ErrWritesRefused", err)
		}
		if took, got := time.Since(start), b.tgt.Stats().Requests-requests; took != 0 || got != 0 {
			t.Errorf("second write took %v and sent %d requests; want at once, none", took, got)
		}
		got := make([]byte, 4096)
		if _, err := b.t.ReadAt(got, 0); err != nil || !bytes.Equal(got, bytes.Repeat([]byte{0xAB}, 4096)) {
			t.Errorf("read from the read-only target: %v", err)
		}
		mu.Lock()
		defer mu.Unlock()
		if len(logged) != 1 {
			t.Errorf("logged %d lines about the refusal, want 1: %q", len(logged), logged)
		}
	})
}

// TestMaskListNotImplemented: a target without a MAC mask list (it answers
// AoE error 1, as memnet does, or drops the command) is said so within the
// mask command's short window, at no cost to the path.
func TestMaskListNotImplemented(t *testing.T) {
	for _, control := range []memnet.ControlQuirk{memnet.ControlServe, memnet.ControlSilent} {
		t.Run(control.String(), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				b := newBed(t, 1500, memnet.TargetConfig{Quirks: memnet.Quirks{Control: control}}, initiator.Options{})
				start := time.Now()
				if _, err := b.t.MaskList(); !errors.Is(err, initiator.ErrNoMaskList) {
					t.Errorf("MaskList: %v, want ErrNoMaskList", err)
				}
				if took := time.Since(start); took > 2500*time.Millisecond {
					t.Errorf("took %v", took)
				}
				checkPathsClean(t, b)
			})
		})
	}
}
