package initiator

import (
	"testing"
	"testing/synctest"
	"time"

	"github.com/goaoe/goaoe/initiator/wire"
	"github.com/goaoe/goaoe/internal/memnet"
)

// TestConfigAnswerFromRemovedPort: a config answer that the receive loop of
// a port had already read when RemovePort took the port away must not
// bring its path back: nothing would ever drop it again, and it would be
// probed forever.
func TestConfigAnswerFromRemovedPort(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		net := memnet.New(1)
		tgt := memnet.NewTarget(net, "tgt0", wire.MAC{2, 0, 0, 0, 0, 0x10}, 1500, memnet.TargetConfig{Shelf: 1, Slot: 2, Sectors: 1024})
		ini := New(Options{})
		defer func() { ini.Close(); tgt.Stop() }()
		eth0 := net.NewPort("eth0", wire.MAC{2, 0, 0, 0, 0, 1}, 1500)
		eth1 := net.NewPort("eth1", wire.MAC{2, 0, 0, 0, 0, 2}, 1500)
		ini.AddPort(eth0)
		ini.AddPort(eth1)
		tgt.Start()
		time.Sleep(10 * time.Millisecond)
		tg := ini.Target(Addr{Shelf: 1, Slot: 2})
		if got := len(tg.Status().Paths); got != 2 {
			t.Fatalf("%d paths, want 2", got)
		}
		ini.RemovePort("eth0")
		// The answer eth0's receive loop read just before.
		tg.learnPath(eth0, tgt.Port().MAC(), tg.Config())
		if st := tg.Status(); len(st.Paths) != 1 || st.Paths[0].Port != "eth1" {
			t.Fatalf("paths after a late answer on the removed eth0: %+v", st.Paths)
		}
	})
}
