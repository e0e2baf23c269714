package discovery_test

import (
	"bytes"
	"context"
	"math/rand/v2"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/goaoe/goaoe/discovery"
	"github.com/goaoe/goaoe/initiator"
	"github.com/goaoe/goaoe/initiator/wire"
	"github.com/goaoe/goaoe/internal/memnet"
	"github.com/goaoe/goaoe/internal/testbed"
	"github.com/goaoe/goaoe/rawport"
)

// TestHostileRepliesAreNeverApplied runs real I/O over real raw sockets to
// a target in a network namespace that, before each genuine reply, sends
// four replies that must not be applied: the right tag from a MAC that is
// not a path, the right tag for another shelf.slot, a read reply cut short,
// and a reply with the response flag clear, all carrying garbage. Every
// byte must read back as written, and every bad reply must be counted.
func TestHostileRepliesAreNeverApplied(t *testing.T) {
	bed := testbed.New(t, 1500)
	var link *rawport.Port
	var err error
	bed.InNamespace(func() { link, err = rawport.Open(bed.PeerIface()) })
	if err != nil {
		t.Fatal(err)
	}
	hostIfi, err := net.InterfaceByName(bed.HostIface())
	if err != nil {
		t.Fatal(err)
	}
	var hostMAC wire.MAC
	copy(hostMAC[:], hostIfi.HardwareAddr)

	tgt := memnet.NewTargetOn(link, memnet.TargetConfig{Shelf: 1, Slot: 2, Sectors: 16384})
	var foreign, misaddressed, short, notResponse atomic.Uint64
	tgt.SetFault(func(h *wire.Header, a *wire.ATA) memnet.FaultAction {
		// Reads only: WaitFor also sends IDENTIFY and a flush.
		read := a.CmdStatus == wire.ATAReadExt || a.CmdStatus == wire.ATARead28
		n := 0
		if read {
			n = int(a.SectorCount) * 512
		}
		spoof := func(edit func(f *wire.Frame, data *[]byte)) {
			data := bytes.Repeat([]byte{0xEE}, n)
			f := wire.Frame{Header: wire.Header{Dst: hostMAC, Src: link.MAC(), Version: wire.Version, Flags: wire.FlagResponse,
				Shelf: 1, Slot: 2, Command: wire.CommandATA, Tag: h.Tag}}
			edit(&f, &data)
			f.Body = &wire.ATA{Flags: a.Flags, SectorCount: a.SectorCount, CmdStatus: 0x40, LBA: a.LBA, Data: data}
			b, _ := f.MarshalBinary()
			tgt.Send([][]byte{b})
		}
		spoof(func(f *wire.Frame, _ *[]byte) { f.Src = wire.MAC{2, 0x66, 0x66, 0x66, 0x66, 0x66} })
		foreign.Add(1)
		spoof(func(f *wire.Frame, _ *[]byte) { f.Shelf, f.Slot = 9, 9 })
		misaddressed.Add(1)
		spoof(func(f *wire.Frame, _ *[]byte) { f.Flags = 0 })
		notResponse.Add(1)
		if read {
			spoof(func(_ *wire.Frame, d *[]byte) { *d = (*d)[:n-512] })
			short.Add(1)
		}
		return memnet.FaultAction{}
	})
	tgt.Start()
	defer tgt.Stop()

	ini, _, err := discovery.Open([]string{bed.HostIface()}, initiator.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer ini.Close()
	target, err := discovery.WaitFor(context.Background(), ini, initiator.Addr{Shelf: 1, Slot: 2}, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	size := int(target.Size())
	model := make([]byte, size)
	r := rand.New(rand.NewPCG(11, 12))
	for i := 0; i < 60; i++ {
		n := (1 + r.IntN(64)) * 512
		off := r.IntN((size-n)/512) * 512
		b := model[off : off+n]
		for j := range b {
			b[j] = byte(r.Uint32())
		}
		if _, err := target.WriteAt(b, int64(off)); err != nil {
			t.Fatalf("write: %v", err)
		}
		got := make([]byte, n)
		if _, err := target.ReadAt(got, int64(off)); err != nil {
			t.Fatalf("read: %v", err)
		}
		if !bytes.Equal(got, b) {
			t.Fatalf("read %d at %d: a spoofed reply's garbage was applied", n, off)
		}
	}
	all := make([]byte, size)
	if _, err := target.ReadAt(all, 0); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(all, model) || !bytes.Equal(tgt.Disk(), model) {
		t.Fatal("the disk differs from what was written")
	}
	st, stray := target.Status(), ini.Stray()
	t.Logf("sent %d foreign, %d misaddressed, %d short, %d without the response flag; counted %+v %+v",
		foreign.Load(), misaddressed.Load(), short.Load(), notResponse.Load(), st.TargetCounters, stray)
	if st.Foreign+st.Unmatched < foreign.Load() || st.Foreign == 0 {
		t.Errorf("foreign replies: %d counted (+%d unmatched), %d sent", st.Foreign, st.Unmatched, foreign.Load())
	}
	if st.Malformed+st.Unmatched < short.Load() || st.Malformed == 0 {
		t.Errorf("short replies: %d counted (+%d unmatched), %d sent", st.Malformed, st.Unmatched, short.Load())
	}
	if stray.NoTarget != misaddressed.Load() {
		t.Errorf("misaddressed replies: %d counted, %d sent", stray.NoTarget, misaddressed.Load())
	}
	// Frames without the response flag never reach the process: the
	// port's socket filter drops them in the kernel.
	if stray.Requests != 0 {
		t.Errorf("%d frames without the response flag got past the socket filter", stray.Requests)
	}
}
