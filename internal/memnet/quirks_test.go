package memnet_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"testing/synctest"

	"github.com/goaoe/goaoe/initiator/wire"
	"github.com/goaoe/goaoe/internal/memnet"
)

var (
	targetMAC = wire.MAC{2, 0, 0, 0, 0, 0xa}
	hostMAC   = wire.MAC{2, 0, 0, 0, 0, 1}
	otherMAC  = wire.MAC{2, 0, 0, 0, 0, 2}
)

// peer is the initiator's side of a memnet segment holding one target,
// driven by hand: it sends frames and looks at what came back. Use it
// inside a synctest bubble, where synctest.Wait means "the target has
// answered everything it is going to answer".
type peer struct {
	t   *testing.T
	tgt *memnet.Target
	p   *memnet.Port
	in  chan []byte
	tag uint32
}

// newPeer starts a target (shelf 1, slot 2, 1 MiB unless cfg says) and a
// raw port beside it. The target's announcement is left in the inbox.
func newPeer(t *testing.T, cfg memnet.TargetConfig) *peer {
	t.Helper()
	if cfg.Shelf == 0 && cfg.Slot == 0 {
		cfg.Shelf, cfg.Slot = 1, 2
	}
	if cfg.Sectors == 0 {
		cfg.Sectors = 2048
	}
	n := memnet.New(1)
	pr := &peer{t: t, p: n.NewPort("host", hostMAC, 1500), in: make(chan []byte, 1024), tag: 0x100}
	pr.tgt = memnet.NewTarget(n, "target", targetMAC, 1500, cfg)
	var wg sync.WaitGroup
	wg.Go(func() {
		bufs, sizes := [][]byte{make([]byte, 1<<17)}, []int{0}
		for {
			if _, err := pr.p.Receive(bufs, sizes); err != nil {
				return
			}
			pr.in <- append([]byte(nil), bufs[0][:sizes[0]]...)
		}
	})
	t.Cleanup(func() {
		pr.tgt.Stop()
		pr.p.Close()
		wg.Wait()
	})
	pr.tgt.Start()
	synctest.Wait()
	return pr
}

// frame encodes a request from src to the target.
func (pr *peer) frame(src wire.MAC, cmd wire.Command, body wire.Body) (tag uint32, b []byte) {
	pr.tag++
	f := wire.Frame{Header: wire.Header{Dst: targetMAC, Src: src, Version: wire.Version, Shelf: 1, Slot: 2, Command: cmd, Tag: pr.tag}, Body: body}
	b, err := f.MarshalBinary()
	if err != nil {
		pr.t.Fatalf("encoding %v: %v", cmd, err)
	}
	if len(b) < wire.MinFrameLen {
		b = append(b, make([]byte, wire.MinFrameLen-len(b))...)
	}
	return pr.tag, b
}

// drain returns every frame that arrived, once the target is idle.
func (pr *peer) drain() [][]byte {
	synctest.Wait()
	var got [][]byte
	for {
		select {
		case f := <-pr.in:
			got = append(got, f)
		default:
			return got
		}
	}
}

// exchange sends one request from src and returns the answers with its
// tag, decoded, and their raw bytes.
func (pr *peer) exchange(src wire.MAC, cmd wire.Command, body wire.Body) ([]wire.Frame, [][]byte) {
	pr.t.Helper()
	tag, b := pr.frame(src, cmd, body)
	if err := pr.p.Send([][]byte{b}); err != nil {
		pr.t.Fatalf("Send: %v", err)
	}
	var frames []wire.Frame
	var raws [][]byte
	for _, r := range pr.drain() {
		var f wire.Frame
		if err := f.UnmarshalBinary(r); err != nil {
			pr.t.Fatalf("undecodable answer % x: %v", r, err)
		}
		if f.Tag == tag {
			frames = append(frames, f)
			raws = append(raws, r)
		}
	}
	return frames, raws
}

// one sends a request and wants exactly one answer.
func (pr *peer) one(cmd wire.Command, body wire.Body) wire.Frame {
	pr.t.Helper()
	got, _ := pr.exchange(hostMAC, cmd, body)
	if len(got) != 1 {
		pr.t.Fatalf("%v: %d answers, want 1", cmd, len(got))
	}
	if !got[0].Response() || got[0].Src != targetMAC || got[0].Dst != hostMAC || got[0].Command != cmd {
		pr.t.Fatalf("%v: strange answer %+v", cmd, got[0].Header)
	}
	return got[0]
}

// ata sends an ATA command and returns the answer's ATA body.
func (pr *peer) ata(a *wire.ATA) (*wire.Header, *wire.ATA) {
	pr.t.Helper()
	f := pr.one(wire.CommandATA, a)
	return &f.Header, f.Body.(*wire.ATA)
}

func identifyWord(t *testing.T, pr *peer, w int) uint16 {
	t.Helper()
	_, a := pr.ata(&wire.ATA{SectorCount: 1, CmdStatus: wire.ATAIdentify})
	if len(a.Data) < wire.SectorSize {
		t.Fatalf("IDENTIFY answered with %d bytes", len(a.Data))
	}
	return binary.LittleEndian.Uint16(a.Data[2*w:])
}

func TestControlQuirks(t *testing.T) {
	type answer int
	const (
		served answer = iota // a Reserve answer without error
		error1               // AoE error 1
		silence
	)
	tests := []struct {
		name    string
		control memnet.ControlQuirk
		cmd     wire.Command
		want    answer
	}{
		{"serve reserve", memnet.ControlServe, wire.CommandReserve, served},
		{"serve mac mask", memnet.ControlServe, wire.CommandMACMask, error1},
		{"silent reserve", memnet.ControlSilent, wire.CommandReserve, silence},
		{"silent mac mask", memnet.ControlSilent, wire.CommandMACMask, silence},
		{"unrecognized reserve", memnet.ControlUnrecognized, wire.CommandReserve, error1},
		{"unrecognized mac mask", memnet.ControlUnrecognized, wire.CommandMACMask, error1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				pr := newPeer(t, memnet.TargetConfig{Quirks: memnet.Quirks{Control: tt.control}})
				pr.drain()
				var body wire.Body = &wire.Reserve{Command: wire.ReserveRead}
				if tt.cmd == wire.CommandMACMask {
					body = &wire.MACMask{Command: wire.MaskRead}
				}
				got, raw := pr.exchange(hostMAC, tt.cmd, body)
				switch tt.want {
				case silence:
					if len(got) != 0 {
						t.Fatalf("answered % x, want silence", raw[0])
					}
					if n := pr.tgt.Stats().ControlDropped; n != 1 {
						t.Errorf("ControlDropped = %d, want 1", n)
					}
				case served:
					if len(got) != 1 || got[0].Failed() {
						t.Fatalf("answers %+v, want one Reserve answer", got)
					}
					if r := got[0].Body.(*wire.Reserve); r.Command != wire.ReserveRead || len(r.MACs) != 0 {
						t.Errorf("reserve answer %+v, want an empty list", r)
					}
				case error1:
					if len(got) != 1 || !got[0].Failed() || got[0].Error != wire.ErrUnrecognizedCommand {
						t.Fatalf("answers %+v, want one with AoE error 1", got)
					}
					// As vblade and today's target do: the error comes
					// with 12 zero bytes of body.
					if want := make([]byte, wire.ATAHeaderLen); !bytes.Equal(raw[0][wire.HeaderLen:], want) {
						t.Errorf("error body % x, want % x", raw[0][wire.HeaderLen:], want)
					}
				}
				if tt.want != silence {
					if n := pr.tgt.Stats().ControlDropped; n != 0 {
						t.Errorf("ControlDropped = %d, want 0", n)
					}
				}
				// The target still serves config and ATA.
				if c := pr.one(wire.CommandConfig, &wire.Config{}); c.Failed() {
					t.Errorf("config answered with %v", c.Error)
				}
				if h, a := pr.ata(&wire.ATA{SectorCount: 1, CmdStatus: wire.ATAIdentify}); h.Failed() || a.CmdStatus != 0x40 {
					t.Errorf("IDENTIFY answered with AoE error %v, status %#x", h.Error, a.CmdStatus)
				}
			})
		})
	}
}

// TestControlQuirksDoNotReserve: a target that does not serve
// Reserve/Release cannot be reserved by someone else.
func TestControlQuirksDoNotReserve(t *testing.T) {
	for _, c := range []memnet.ControlQuirk{memnet.ControlServe, memnet.ControlSilent, memnet.ControlUnrecognized} {
		t.Run(c.String(), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				pr := newPeer(t, memnet.TargetConfig{Quirks: memnet.Quirks{Control: c}})
				pr.exchange(otherMAC, wire.CommandReserve, &wire.Reserve{Command: wire.ReserveSet, MACs: []wire.MAC{otherMAC}})
				h, _ := pr.ata(&wire.ATA{SectorCount: 1, CmdStatus: wire.ATAIdentify})
				wantReserved := c == memnet.ControlServe
				if reserved := h.Failed() && h.Error == wire.ErrTargetReserved; reserved != wantReserved {
					t.Errorf("IDENTIFY from another MAC: AoE error %v (failed %v), want reserved %v", h.Error, h.Failed(), wantReserved)
				}
			})
		})
	}
}

func TestFlushQuirks(t *testing.T) {
	type result struct {
		status, err uint8
	}
	var (
		done    = result{0x40, 0}
		aborted = result{0x41, wire.ATAErrorABRT}
	)
	tests := []struct {
		name           string
		cfg            memnet.TargetConfig
		word83         uint16
		e7, ea         result
		flushes, echos int // after one of each
	}{
		{name: "vblade", word83: 0x5400, e7: done, ea: aborted, flushes: 1},
		{name: "vblade LBA28", cfg: memnet.TargetConfig{LBA28Only: true}, word83: 0x5000, e7: done, ea: aborted, flushes: 1},
		{name: "echo status", cfg: memnet.TargetConfig{Quirks: memnet.Quirks{EchoFlushStatus: true}},
			word83: 0x5400, e7: result{0xE7, 0}, ea: result{0xEA, 0}, echos: 2},
		{name: "echo status, flush ext", cfg: memnet.TargetConfig{Quirks: memnet.Quirks{EchoFlushStatus: true, FlushExt: true}},
			word83: 0x7400, e7: result{0xE7, 0}, ea: result{0xEA, 0}, echos: 2},
		{name: "abort", cfg: memnet.TargetConfig{Quirks: memnet.Quirks{AbortFlush: true}}, word83: 0x5400, e7: aborted, ea: aborted},
		{name: "abort beats echo", cfg: memnet.TargetConfig{Quirks: memnet.Quirks{AbortFlush: true, EchoFlushStatus: true}},
			word83: 0x5400, e7: aborted, ea: aborted},
		{name: "claim no flush", cfg: memnet.TargetConfig{Quirks: memnet.Quirks{ClaimNoFlush: true}}, word83: 0x4400, e7: aborted, ea: aborted},
		{name: "claim no flush beats flush ext", cfg: memnet.TargetConfig{Quirks: memnet.Quirks{ClaimNoFlush: true, FlushExt: true}},
			word83: 0x4400, e7: aborted, ea: aborted},
		{name: "claim no flush beats echo", cfg: memnet.TargetConfig{Quirks: memnet.Quirks{ClaimNoFlush: true, EchoFlushStatus: true}},
			word83: 0x4400, e7: aborted, ea: aborted},
		{name: "flush ext", cfg: memnet.TargetConfig{Quirks: memnet.Quirks{FlushExt: true}}, word83: 0x7400, e7: done, ea: done, flushes: 2},
		{name: "flush ext LBA28", cfg: memnet.TargetConfig{LBA28Only: true, Quirks: memnet.Quirks{FlushExt: true}}, word83: 0x7000, e7: done, ea: done, flushes: 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				pr := newPeer(t, tt.cfg)
				if w := identifyWord(t, pr, 83); w != tt.word83 {
					t.Errorf("IDENTIFY word 83 = %#04x, want %#04x", w, tt.word83)
				}
				for _, c := range []struct {
					cmd  uint8
					want result
				}{{wire.ATAFlushCache, tt.e7}, {wire.ATAFlushCacheExt, tt.ea}} {
					flags := uint8(0)
					if c.cmd == wire.ATAFlushCacheExt {
						flags = wire.ATAFlagLBA48
					}
					h, a := pr.ata(&wire.ATA{Flags: flags, CmdStatus: c.cmd})
					if h.Failed() {
						t.Errorf("%#x: AoE error %v, want none", c.cmd, h.Error)
					}
					if got := (result{a.CmdStatus, a.ErrFeature}); got != c.want {
						t.Errorf("%#x: status %#x error %#x, want status %#x error %#x", c.cmd, got.status, got.err, c.want.status, c.want.err)
					}
				}
				st := pr.tgt.Stats()
				if st.Flushes != tt.flushes || st.EchoedFlushes != tt.echos {
					t.Errorf("Flushes %d EchoedFlushes %d, want %d and %d", st.Flushes, st.EchoedFlushes, tt.flushes, tt.echos)
				}
				if st.Commands[wire.ATAFlushCache] != 1 || st.Commands[wire.ATAFlushCacheExt] != 1 {
					t.Errorf("Commands %v, want one of each flush", st.Commands)
				}
			})
		})
	}
}

func TestConfigQuirks(t *testing.T) {
	tests := []struct {
		name              string
		cfg               memnet.TargetConfig
		bufCount, fw      uint16
		announceVersion   uint8
		requestsQueuedMin int // a burst of this many is served without a drop
	}{
		{name: "vblade", bufCount: 16, fw: 0x4019, announceVersion: 1, requestsQueuedMin: 64},
		{name: "buffer count 4", cfg: memnet.TargetConfig{BufferCount: 4}, bufCount: 4, fw: 0x4019, announceVersion: 1, requestsQueuedMin: 16},
		{name: "zero buffer count", cfg: memnet.TargetConfig{Quirks: memnet.Quirks{ZeroBufferCount: true}},
			bufCount: 0, fw: 0x4019, announceVersion: 1, requestsQueuedMin: 64},
		{name: "zero buffer count, 4 queued", cfg: memnet.TargetConfig{BufferCount: 4, Quirks: memnet.Quirks{ZeroBufferCount: true}},
			bufCount: 0, fw: 0x4019, announceVersion: 1, requestsQueuedMin: 16},
		{name: "firmware 0", cfg: memnet.TargetConfig{Quirks: memnet.Quirks{FirmwareZero: true}}, bufCount: 16, fw: 0, announceVersion: 1, requestsQueuedMin: 64},
		{name: "announce version 0", cfg: memnet.TargetConfig{Quirks: memnet.Quirks{AnnounceVersion0: true}},
			bufCount: 16, fw: 0x4019, announceVersion: 0, requestsQueuedMin: 64},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				pr := newPeer(t, tt.cfg)
				ann := pr.drain()
				if len(ann) != 1 {
					t.Fatalf("%d frames at start, want one announcement", len(ann))
				}
				if v := ann[0][14] >> 4; v != tt.announceVersion {
					t.Errorf("announcement has AoE version %d in its header, want %d", v, tt.announceVersion)
				}
				var f wire.Frame
				if err := f.UnmarshalBinary(ann[0]); err != nil {
					t.Fatalf("announcement % x: %v", ann[0], err)
				}
				check := func(what string, f wire.Frame) {
					c := f.Body.(*wire.Config)
					if f.Command != wire.CommandConfig || !f.Response() || f.Failed() {
						t.Errorf("%s: header %+v", what, f.Header)
					}
					if c.BufferCount != tt.bufCount || c.Firmware != tt.fw || c.AoEVersion != wire.Version {
						t.Errorf("%s: buffer count %d firmware %#x body version %d, want %d %#x %d",
							what, c.BufferCount, c.Firmware, c.AoEVersion, tt.bufCount, tt.fw, wire.Version)
					}
				}
				check("announcement", f)
				if f.Dst != wire.BroadcastMAC || f.Tag != 0 {
					t.Errorf("announcement to %v tag %#x, want broadcast with tag 0", f.Dst, f.Tag)
				}
				ans := pr.one(wire.CommandConfig, &wire.Config{})
				if ans.Version != wire.Version {
					t.Errorf("solicited answer has AoE version %d, want %d", ans.Version, wire.Version)
				}
				check("answer", ans)

				// What the target queues does not depend on what it says.
				burst := make([][]byte, tt.requestsQueuedMin)
				for i := range burst {
					_, burst[i] = pr.frame(hostMAC, wire.CommandATA, &wire.ATA{SectorCount: 1, CmdStatus: wire.ATAIdentify})
				}
				if err := pr.p.Send(burst); err != nil {
					t.Fatal(err)
				}
				if got := len(pr.drain()); got != len(burst) || pr.tgt.Stats().Dropped != 0 {
					t.Errorf("a burst of %d: %d answered, %d dropped", len(burst), got, pr.tgt.Stats().Dropped)
				}
			})
		})
	}
}

// TestZeroQuirksAnswerBytes pins what the vblade-like target sends, byte
// for byte, for the answers the quirks change.
func TestZeroQuirksAnswerBytes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		pr := newPeer(t, memnet.TargetConfig{SectorCount: 2, ConfigString: "cfg"})
		ann := pr.drain()
		head := func(dst wire.MAC, flags byte, errCode byte, cmd byte, tag uint32) []byte {
			b := append(append(append([]byte(nil), dst[:]...), targetMAC[:]...), 0x88, 0xa2, 0x10|flags, errCode, 0, 1, 2, cmd)
			return binary.BigEndian.AppendUint32(b, tag)
		}
		cfgBody := []byte{0, 16, 0x40, 0x19, 2, 0x10, 0, 3, 'c', 'f', 'g'}
		if want := append(head(wire.BroadcastMAC, 0x08, 0, 1, 0), cfgBody...); len(ann) != 1 || !bytes.Equal(ann[0], want) {
			t.Errorf("announcement\n% x\nwant\n% x", ann, want)
		}
		_, raw := pr.exchange(hostMAC, wire.CommandConfig, &wire.Config{})
		if want := append(head(hostMAC, 0x08, 0, 1, pr.tag), cfgBody...); len(raw) != 1 || !bytes.Equal(raw[0], want) {
			t.Errorf("config answer\n% x\nwant\n% x", raw, want)
		}
		_, raw = pr.exchange(hostMAC, wire.CommandATA, &wire.ATA{CmdStatus: wire.ATAFlushCache})
		if want := append(head(hostMAC, 0x08, 0, 0, pr.tag), 0, 0, 0, 0x40, 0, 0, 0, 0, 0, 0, 0, 0); len(raw) != 1 || !bytes.Equal(raw[0], want) {
			t.Errorf("flush answer\n% x\nwant\n% x", raw, want)
		}
		_, raw = pr.exchange(hostMAC, wire.CommandATA, &wire.ATA{Flags: wire.ATAFlagLBA48, CmdStatus: wire.ATAFlushCacheExt})
		if want := append(head(hostMAC, 0x08, 0, 0, pr.tag), 0x40, 0x04, 0, 0x41, 0, 0, 0, 0, 0, 0, 0, 0); len(raw) != 1 || !bytes.Equal(raw[0], want) {
			t.Errorf("flush ext answer\n% x\nwant\n% x", raw, want)
		}
		_, raw = pr.exchange(hostMAC, wire.CommandMACMask, &wire.MACMask{})
		if want := append(head(hostMAC, 0x0c, 1, 2, pr.tag), make([]byte, 12)...); len(raw) != 1 || !bytes.Equal(raw[0], want) {
			t.Errorf("mac mask answer\n% x\nwant\n% x", raw, want)
		}
		_, raw = pr.exchange(hostMAC, wire.CommandReserve, &wire.Reserve{})
		if want := append(head(hostMAC, 0x08, 0, 3, pr.tag), 0, 0); len(raw) != 1 || !bytes.Equal(raw[0], want) {
			t.Errorf("reserve answer\n% x\nwant\n% x", raw, want)
		}
	})
}

// fakeDisk is a Disk in memory whose operations can be made to fail.
type fakeDisk struct {
	mu                            sync.Mutex
	b                             []byte
	failRead, failWrite, failSync bool
	syncs                         int
}

var errDisk = errors.New("disk on fire")

func (d *fakeDisk) ReadAt(p []byte, off int64) (int, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.failRead {
		return 0, errDisk
	}
	return copy(p, d.b[off:]), nil
}

func (d *fakeDisk) WriteAt(p []byte, off int64) (int, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.failWrite {
		return 0, errDisk
	}
	return copy(d.b[off:], p), nil
}

func (d *fakeDisk) Sync() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.failSync {
		return errDisk
	}
	d.syncs++
	return nil
}

func (d *fakeDisk) set(f func(d *fakeDisk)) {
	d.mu.Lock()
	defer d.mu.Unlock()
	f(d)
}

func sectors(n int, seed byte) []byte {
	b := make([]byte, n*wire.SectorSize)
	for i := range b {
		b[i] = seed + byte(i*7)
	}
	return b
}

func TestDisk(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		d := &fakeDisk{b: make([]byte, 64*wire.SectorSize)}
		pr := newPeer(t, memnet.TargetConfig{Sectors: 64, Disk: d})

		data := sectors(2, 1)
		if h, a := pr.ata(&wire.ATA{Flags: wire.ATAFlagLBA48 | wire.ATAFlagWrite, SectorCount: 2, CmdStatus: wire.ATAWriteExt, LBA: 10, Data: data}); h.Failed() || a.CmdStatus != 0x40 {
			t.Fatalf("write: AoE error %v status %#x", h.Error, a.CmdStatus)
		}
		if !bytes.Equal(d.b[10*wire.SectorSize:12*wire.SectorSize], data) {
			t.Error("the write did not reach the Disk")
		}
		if got := pr.tgt.Disk(); len(got) != 64*wire.SectorSize || !bytes.Equal(got[10*wire.SectorSize:12*wire.SectorSize], data) {
			t.Errorf("Target.Disk() is not the Disk (%d bytes)", len(got))
		}
		more := sectors(1, 99)
		pr.tgt.WriteDisk(20*wire.SectorSize, more)
		if !bytes.Equal(d.b[20*wire.SectorSize:21*wire.SectorSize], more) {
			t.Error("WriteDisk did not reach the Disk")
		}
		if _, a := pr.ata(&wire.ATA{SectorCount: 1, CmdStatus: wire.ATARead28, LBA: 20}); a.CmdStatus != 0x40 || !bytes.Equal(a.Data[:wire.SectorSize], more) {
			t.Errorf("read of what WriteDisk wrote: status %#x", a.CmdStatus)
		}
		if _, a := pr.ata(&wire.ATA{Flags: wire.ATAFlagLBA48, SectorCount: 2, CmdStatus: wire.ATAReadExt, LBA: 63}); a.CmdStatus != 0x41 || a.ErrFeature != wire.ATAErrorIDNF {
			t.Errorf("read past the end: status %#x error %#x, want IDNF", a.CmdStatus, a.ErrFeature)
		}
		if _, a := pr.ata(&wire.ATA{CmdStatus: wire.ATAFlushCache}); a.CmdStatus != 0x40 || d.syncs != 1 {
			t.Errorf("flush: status %#x, %d syncs, want 1", a.CmdStatus, d.syncs)
		}

		d.set(func(d *fakeDisk) { d.failRead = true })
		if h, a := pr.ata(&wire.ATA{Flags: wire.ATAFlagLBA48, SectorCount: 2, CmdStatus: wire.ATAReadExt, LBA: 10}); h.Failed() || a.CmdStatus != 0x51 || a.ErrFeature != wire.ATAErrorUNC || len(a.Data) >= 2*wire.SectorSize {
			t.Errorf("failed read: AoE error %v status %#x error %#x, %d bytes; want 0x51 UNC, no data", h.Error, a.CmdStatus, a.ErrFeature, len(a.Data))
		}
		d.set(func(d *fakeDisk) { d.failRead, d.failWrite = false, true })
		if h, a := pr.ata(&wire.ATA{Flags: wire.ATAFlagLBA48 | wire.ATAFlagWrite, SectorCount: 1, CmdStatus: wire.ATAWriteExt, LBA: 1, Data: sectors(1, 5)}); h.Failed() || a.CmdStatus != 0x51 || a.ErrFeature != wire.ATAErrorABRT {
			t.Errorf("failed write: AoE error %v status %#x error %#x; want 0x51 ABRT", h.Error, a.CmdStatus, a.ErrFeature)
		}
		d.set(func(d *fakeDisk) { d.failWrite, d.failSync = false, true })
		if _, a := pr.ata(&wire.ATA{CmdStatus: wire.ATAFlushCache}); a.CmdStatus != 0x51 || a.ErrFeature != wire.ATAErrorABRT {
			t.Errorf("failed flush: status %#x error %#x; want 0x51 ABRT", a.CmdStatus, a.ErrFeature)
		}
		st := pr.tgt.Stats()
		if st.Reads != 1 || st.Writes != 1 || st.Flushes != 1 {
			t.Errorf("stats %+v, want 1 read, 1 write, 1 flush carried out", st)
		}
	})
}

func TestDiskFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "disk.img")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := f.Truncate(1 << 20); err != nil {
		t.Fatal(err)
	}
	synctest.Test(t, func(t *testing.T) {
		pr := newPeer(t, memnet.TargetConfig{Sectors: 2048, Disk: f})
		data := sectors(2, 42)
		if _, a := pr.ata(&wire.ATA{Flags: wire.ATAFlagLBA48 | wire.ATAFlagWrite, SectorCount: 2, CmdStatus: wire.ATAWriteExt, LBA: 2046, Data: data}); a.CmdStatus != 0x40 {
			t.Fatalf("write: status %#x", a.CmdStatus)
		}
		if _, a := pr.ata(&wire.ATA{Flags: wire.ATAFlagLBA48, SectorCount: 2, CmdStatus: wire.ATAReadExt, LBA: 2046}); a.CmdStatus != 0x40 || !bytes.Equal(a.Data[:len(data)], data) {
			t.Fatalf("read back: status %#x", a.CmdStatus)
		}
	})
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1<<20 || !bytes.Equal(got[2046*wire.SectorSize:], sectors(2, 42)) {
		t.Errorf("file holds %d bytes, not the data written at its end", len(got))
	}
}
