package discovery_test

import (
	"context"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/goaoe/goaoe/discovery"
	"github.com/goaoe/goaoe/initiator"
	"github.com/goaoe/goaoe/initiator/wire"
	"github.com/goaoe/goaoe/internal/memnet"
)

func TestScanFindsEveryTargetAndPath(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		net := memnet.New(1)
		a := memnet.NewTarget(net, "a", wire.MAC{2, 0, 0, 0, 0, 0xa}, 9000, memnet.TargetConfig{Shelf: 1, Slot: 2, Sectors: 131072, SectorCount: 17, ConfigString: "hello"})
		b := memnet.NewTarget(net, "b", wire.MAC{2, 0, 0, 0, 0, 0xb}, 9000, memnet.TargetConfig{Shelf: 3, Slot: 0, Sectors: 2048, BufferCount: 8})
		ini := initiator.New(initiator.Options{})
		ini.AddPort(net.NewPort("eth0", wire.MAC{2, 0, 0, 0, 0, 1}, 9000))
		ini.AddPort(net.NewPort("eth1", wire.MAC{2, 0, 0, 0, 0, 2}, 1500))
		defer func() { ini.Close(); a.Stop(); b.Stop() }()
		a.Start()
		b.Start()
		// Forget the announcements: Scan must find them by asking.
		found, err := discovery.Scan(context.Background(), ini, initiator.AllTargets, time.Second)
		if err != nil {
			t.Fatal(err)
		}
		if len(found) != 2 {
			t.Fatalf("found %d targets, want 2", len(found))
		}
		e12, e30 := found[0], found[1]
		if e12.Addr.String() != "e1.2" || e30.Addr.String() != "e3.0" {
			t.Fatalf("found %v and %v, want e1.2 and e3.0 in order", e12.Addr, e30.Addr)
		}
		if got := strings.Join(e12.Interfaces(), ","); got != "eth0,eth1" {
			t.Errorf("e1.2 seen on %s, want eth0,eth1", got)
		}
		if e12.Identity == nil || e12.Identity.Size() != 64<<20 {
			t.Errorf("e1.2 identity %+v (err %v), want 64 MiB", e12.Identity, e12.IdentifyError)
		}
		if e12.Config.String != "hello" || e12.Config.Firmware != 0x4019 || e12.Config.BufferCount != 16 {
			t.Errorf("e1.2 config %+v", e12.Config)
		}
		// The 1500-byte interface limits every frame to 2 sectors.
		if e12.PayloadBytes != 1024 {
			t.Errorf("e1.2 payload %d bytes, want 1024", e12.PayloadBytes)
		}
		if e30.Config.BufferCount != 8 {
			t.Errorf("e3.0 buffer count %d, want 8", e30.Config.BufferCount)
		}
	})
}

func TestWaitForSeesALateAnnouncement(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		net := memnet.New(1)
		tgt := memnet.NewTarget(net, "t", wire.MAC{2, 0, 0, 0, 0, 0xa}, 1500, memnet.TargetConfig{Shelf: 0, Slot: 1, Sectors: 2048})
		ini := initiator.New(initiator.Options{})
		ini.AddPort(net.NewPort("eth0", wire.MAC{2, 0, 0, 0, 0, 1}, 1500))
		defer func() { ini.Close(); tgt.Stop() }()
		go func() {
			time.Sleep(2500 * time.Millisecond)
			tgt.Start()
		}()
		start := time.Now()
		got, err := discovery.WaitFor(context.Background(), ini, initiator.Addr{Shelf: 0, Slot: 1}, 10*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		if d := time.Since(start); d > 3*time.Second {
			t.Errorf("took %v to see a target that appeared after 2.5s", d)
		}
		if got.Size() != 1<<20 {
			t.Errorf("size %d, want 1 MiB", got.Size())
		}
	})
}

func TestWaitForMissingTargetSaysWhatWasTried(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		net := memnet.New(1)
		ini := initiator.New(initiator.Options{})
		ini.AddPort(net.NewPort("eth7", wire.MAC{2, 0, 0, 0, 0, 1}, 1500))
		defer ini.Close()
		_, err := discovery.WaitFor(context.Background(), ini, initiator.Addr{Shelf: 9, Slot: 9}, 3*time.Second)
		if err == nil || !strings.Contains(err.Error(), "e9.9 did not answer on [eth7] within 3s") {
			t.Fatalf("err = %v", err)
		}
	})
}
