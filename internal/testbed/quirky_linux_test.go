package testbed

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/goaoe/goaoe/initiator/wire"
	"github.com/goaoe/goaoe/rawport"
)

// qtConn talks AoE by hand (the wire codec, no engine) to one target from
// a host end of a Bed.
type qtConn struct {
	t      *testing.T
	p      *rawport.Port
	dst    wire.MAC
	shelf  uint16
	slot   uint8
	frames chan []byte
	tag    atomic.Uint32
}

func newQTConn(t *testing.T, iface string, tg *Target) *qtConn {
	t.Helper()
	p, err := rawport.Open(iface)
	if err != nil {
		t.Fatal(err)
	}
	dst, err := wire.ParseMAC(tg.MAC())
	if err != nil {
		t.Fatal(err)
	}
	c := &qtConn{t: t, p: p, dst: dst, shelf: uint16(tg.Shelf), slot: uint8(tg.Slot), frames: make(chan []byte, 64)}
	c.tag.Store(0x80000000) // bit 31: no kernel aoe driver takes these
	done := make(chan struct{})
	go func() {
		defer close(done)
		bufs, sizes := [][]byte{make([]byte, 9100)}, []int{0}
		for {
			if _, err := p.Receive(bufs, sizes); err != nil {
				return
			}
			select {
			case c.frames <- append([]byte(nil), bufs[0][:sizes[0]]...):
			default: // nobody waits for it
			}
		}
	}()
	t.Cleanup(func() {
		p.Close()
		<-done
	})
	return c
}

// send sends one request and returns its tag.
func (c *qtConn) send(cmd wire.Command, body wire.Body) uint32 {
	c.t.Helper()
	tag := c.tag.Add(1)
	f := wire.Frame{Header: wire.Header{Dst: c.dst, Src: c.p.MAC(), Version: wire.Version,
		Shelf: c.shelf, Slot: c.slot, Command: cmd, Tag: tag}, Body: body}
	b, err := f.MarshalBinary()
	if err != nil {
		c.t.Fatal(err)
	}
	if len(b) < wire.MinFrameLen {
		b = append(b, make([]byte, wire.MinFrameLen-len(b))...)
	}
	if err := c.p.Send([][]byte{b}); err != nil {
		c.t.Fatalf("Send: %v", err)
	}
	return tag
}

// wait returns the answer with tag, or false after d.
func (c *qtConn) wait(tag uint32, d time.Duration) (wire.Frame, bool) {
	c.t.Helper()
	deadline := time.After(d)
	for {
		select {
		case b := <-c.frames:
			if len(b) < wire.HeaderLen {
				continue
			}
			var h wire.Header
			if _, err := h.Unmarshal(b); err == nil && h.Tag != tag {
				continue // another request's answer
			}
			var f wire.Frame
			if err := f.UnmarshalBinary(b); err != nil {
				c.t.Fatalf("undecodable answer % x: %v", b, err)
			}
			if !f.Response() || f.Src != c.dst {
				c.t.Fatalf("strange answer %+v", f.Header)
			}
			return f, true
		case <-deadline:
			return wire.Frame{}, false
		}
	}
}

// ask sends a request and wants an answer within 2 s.
func (c *qtConn) ask(cmd wire.Command, body wire.Body) wire.Frame {
	c.t.Helper()
	f, ok := c.wait(c.send(cmd, body), 2*time.Second)
	if !ok {
		c.t.Fatalf("no answer to %v within 2s", cmd)
	}
	return f
}

// ata sends an ATA request and returns the answer, which must carry no AoE
// error.
func (c *qtConn) ata(a *wire.ATA) *wire.ATA {
	c.t.Helper()
	f := c.ask(wire.CommandATA, a)
	if f.Failed() {
		c.t.Fatalf("ATA %#x: AoE error %v", a.CmdStatus, f.Error)
	}
	return f.Body.(*wire.ATA)
}

func (c *qtConn) config() *wire.Config {
	c.t.Helper()
	f := c.ask(wire.CommandConfig, &wire.Config{})
	if f.Failed() {
		c.t.Fatalf("Query Config: AoE error %v", f.Error)
	}
	return f.Body.(*wire.Config)
}

func pattern(n int, seed byte) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = seed ^ byte(i*13)
	}
	return b
}

// TestQuirkyTarget runs quirktarget with echo-flush-status, silent-control
// and "-s 16" on a real veth pair and checks its answers by hand.
func TestQuirkyTarget(t *testing.T) {
	bed := New(t, 1500)
	path := filepath.Join(t.TempDir(), "quirky.img")
	tg := bed.StartQuirkyTarget(1, 7, 1<<20, []string{"echo-flush-status", "silent-control"},
		BackingFile(path), Extra("-s", "16"))
	if tg.Path() != path || !strings.Contains(tg.Output(), "e1.7, 2048 sectors O_RDWR") {
		t.Errorf("target on %s said %q, want %s and vblade's ready line", tg.Path(), tg.Output(), path)
	}
	c := newQTConn(t, bed.HostIface(), tg)

	cfg := c.config()
	if cfg.SectorCount != 16 || cfg.BufferCount != 16 || cfg.Firmware != 0x4019 {
		t.Errorf("config: sector count %d, buffer count %d, firmware %#x; want 16, 16, 0x4019",
			cfg.SectorCount, cfg.BufferCount, cfg.Firmware)
	}

	const lba = 9
	data := pattern(2*wire.SectorSize, 0x5a)
	if a := c.ata(&wire.ATA{Flags: wire.ATAFlagLBA48 | wire.ATAFlagWrite, SectorCount: 2,
		CmdStatus: wire.ATAWriteExt, LBA: lba, Data: data}); a.CmdStatus != 0x40 {
		t.Fatalf("WRITE EXT: status %#x error %#x", a.CmdStatus, a.ErrFeature)
	}
	a := c.ata(&wire.ATA{Flags: wire.ATAFlagLBA48, SectorCount: 2, CmdStatus: wire.ATAReadExt, LBA: lba})
	if a.CmdStatus != 0x40 || len(a.Data) < len(data) || !bytes.Equal(a.Data[:len(data)], data) {
		t.Errorf("READ EXT: status %#x, %d bytes, not what was written", a.CmdStatus, len(a.Data))
	}
	file, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(file) != 1<<20 || !bytes.Equal(file[lba*wire.SectorSize:][:len(data)], data) {
		t.Errorf("the backing file (%d bytes) does not hold the write at byte %d", len(file), lba*wire.SectorSize)
	}

	if a := c.ata(&wire.ATA{CmdStatus: wire.ATAFlushCache}); a.CmdStatus != wire.ATAFlushCache {
		t.Errorf("FLUSH CACHE: status %#x, want the command echoed (0xe7)", a.CmdStatus)
	}

	tag := c.send(wire.CommandReserve, &wire.Reserve{Command: wire.ReserveRead})
	if f, ok := c.wait(tag, 300*time.Millisecond); ok {
		t.Errorf("Reserve/Release read answered (%+v), want silence", f.Header)
	}
	// Still alive after the silence.
	if cfg := c.config(); cfg.SectorCount != 16 {
		t.Errorf("config after the silence: sector count %d", cfg.SectorCount)
	}
}

// TestQuirkyTargetReadOnly: -r makes writes fail as vblade's do; -b passes
// through Extra; Restart runs the same command again.
func TestQuirkyTargetReadOnly(t *testing.T) {
	bed := New(t, 1500)
	tg := bed.StartQuirkyTarget(2, 3, 1<<20, nil, ReadOnly(), Extra("-b", "1"))
	if !strings.Contains(tg.Output(), "e2.3, 2048 sectors O_RDONLY") {
		t.Errorf("quirktarget -r said %q", tg.Output())
	}
	c := newQTConn(t, bed.HostIface(), tg)
	if cfg := c.config(); cfg.BufferCount != 1 || cfg.SectorCount != 2 {
		t.Errorf("config: buffer count %d, sector count %d; want 1 (-b 1) and 2 (MTU 1500)", cfg.BufferCount, cfg.SectorCount)
	}
	a := c.ata(&wire.ATA{Flags: wire.ATAFlagLBA48 | wire.ATAFlagWrite, SectorCount: 1,
		CmdStatus: wire.ATAWriteExt, LBA: 1, Data: pattern(wire.SectorSize, 1)})
	if a.CmdStatus != 0x41 || a.ErrFeature != wire.ATAErrorABRT {
		t.Errorf("write to a read-only target: status %#x error %#x, want 0x41 and ABRT 0x04", a.CmdStatus, a.ErrFeature)
	}
	if a := c.ata(&wire.ATA{Flags: wire.ATAFlagLBA48, SectorCount: 1, CmdStatus: wire.ATAReadExt, LBA: 1}); a.CmdStatus != 0x40 {
		t.Errorf("read from a read-only target: status %#x", a.CmdStatus)
	}

	tg.Restart()
	if n := strings.Count(tg.Output(), "e2.3, 2048 sectors O_RDONLY"); n != 2 {
		t.Errorf("output shows %d starts, want 2:\n%s", n, tg.Output())
	}
	if cfg := c.config(); cfg.BufferCount != 1 {
		t.Errorf("after Restart: buffer count %d, want 1: the arguments were not kept", cfg.BufferCount)
	}
}

// TestQuirkTargetUnknownQuirk: a name it does not know is a usage error
// that lists the valid ones.
func TestQuirkTargetUnknownQuirk(t *testing.T) {
	out, err := exec.Command(QuirkTargetBinary(t), "-q", "echo-flush-status,no-such-quirk", "1", "2", "eth0", "/dev/null").CombinedOutput()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 2 {
		t.Fatalf("exit %v, want status 2; output:\n%s", err, out)
	}
	for _, name := range []string{"no-such-quirk", "silent-control", "control-error1", "echo-flush-status", "abort-flush",
		"claim-no-flush", "flush-ext", "bufcnt0", "firmware0", "announce-v0"} {
		if !strings.Contains(string(out), name) {
			t.Errorf("message does not name %s:\n%s", name, out)
		}
	}
}
