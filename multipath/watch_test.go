package multipath_test

import (
	"context"
	"errors"
	"os/exec"
	"slices"
	"testing"
	"testing/synctest"
	"time"

	"github.com/goaoe/goaoe/initiator"
	"github.com/goaoe/goaoe/initiator/wire"
	"github.com/goaoe/goaoe/internal/memnet"
	"github.com/goaoe/goaoe/internal/testbed"
	"github.com/goaoe/goaoe/multipath"
	"github.com/goaoe/goaoe/rawport"
)

var e12 = initiator.Addr{Shelf: 1, Slot: 2}

func TestApplyAddsAndRemovesPorts(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		net := memnet.New(1)
		tgt := memnet.NewTarget(net, "t", wire.MAC{2, 0, 0, 0, 0, 9}, 1500, memnet.TargetConfig{Shelf: 1, Slot: 2, Sectors: 64})
		tgt.Start()
		ini := initiator.New(initiator.Options{})
		defer func() { ini.Close(); tgt.Stop() }()
		hostPorts := map[string]*memnet.Port{
			"eth0": net.NewPort("eth0", wire.MAC{2, 0, 0, 0, 0, 1}, 1500),
			"eth1": net.NewPort("eth1", wire.MAC{2, 0, 0, 0, 0, 2}, 1500),
		}
		w := multipath.NewWatcher(ini, multipath.Config{
			Interfaces: []string{"eth0", "eth1"},
			Query:      func() error { return ini.Query(e12) },
			Open: func(name string) (multipath.Port, error) {
				if p := hostPorts[name]; p != nil {
					return p, nil
				}
				return nil, errors.New("no such port")
			},
		})
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		w.Apply(ctx, multipath.Link{Name: "eth0", Usable: true})
		w.Apply(ctx, multipath.Link{Name: "wlan0", Usable: true}) // not in the list
		time.Sleep(100 * time.Millisecond)
		if got := len(ini.Ports()); got != 1 {
			t.Fatalf("%d ports, want only eth0", got)
		}
		target := ini.Target(e12)
		if target == nil || len(target.Status().Paths) != 1 {
			t.Fatal("the new link was not probed: target unknown")
		}
		w.Apply(ctx, multipath.Link{Name: "eth1", Usable: true})
		time.Sleep(100 * time.Millisecond)
		if got := len(target.Status().Paths); got != 2 {
			t.Fatalf("%d paths after eth1 came up, want 2", got)
		}
		w.Apply(ctx, multipath.Link{Name: "eth0", Usable: false})
		st := target.Status()
		if len(ini.Ports()) != 1 || len(st.Paths) != 1 || st.Paths[0].Port != "eth1" {
			t.Fatalf("after eth0 went down: ports %d, paths %+v", len(ini.Ports()), st.Paths)
		}
		w.Apply(ctx, multipath.Link{Name: "eth1", Deleted: true, Usable: true})
		if len(ini.Ports()) != 0 {
			t.Fatal("a deleted link kept its port")
		}
	})
}

// TestRunFollowsRealLinkEvents sets a veth down and up under a real vblade:
// the port goes at once and comes back, with the target's path, within 2s.
func TestRunFollowsRealLinkEvents(t *testing.T) {
	bed := testbed.New(t, 1500)
	bed.StartTarget(1, 2, 1<<20)
	ifname := bed.HostIface()
	ini := initiator.New(initiator.Options{})
	defer ini.Close()
	w := multipath.NewWatcher(ini, multipath.Config{
		Interfaces: []string{ifname},
		Query:      func() error { return ini.Query(e12) },
		Open:       func(name string) (multipath.Port, error) { return rawport.Open(name) },
		Logf:       t.Logf,
	})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go w.Run(ctx)

	waitFor := func(what string, limit time.Duration, ok func() bool) {
		t.Helper()
		start := time.Now()
		for !ok() {
			if time.Since(start) > limit {
				t.Fatalf("%s: not within %v", what, limit)
			}
			time.Sleep(10 * time.Millisecond)
		}
		t.Logf("%s after %v", what, time.Since(start).Round(time.Millisecond))
	}
	paths := func() int {
		if tg := ini.Target(e12); tg != nil {
			return len(tg.Status().Paths)
		}
		return 0
	}
	waitFor("the existing link is used and the target found", 2*time.Second, func() bool { return paths() == 1 })
	// Another watcher starting (another aoe-attach) sends a dump request
	// every link subscriber receives; ours must keep following.
	startOtherLinkWatcher(t)
	time.Sleep(100 * time.Millisecond)
	ip(t, "link", "set", ifname, "down")
	waitFor("the link that went down is dropped", time.Second, func() bool { return len(ini.Ports()) == 0 && paths() == 0 })
	ip(t, "link", "set", ifname, "up")
	waitFor("the link that came up carries the target again", 2*time.Second, func() bool { return paths() == 1 })
	tg := ini.Target(e12)
	if _, err := tg.Identify(); err != nil {
		t.Fatalf("I/O over the returned link: %v", err)
	}
}

func ip(t *testing.T, args ...string) {
	t.Helper()
	if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
		t.Fatalf("ip %v: %v: %s", args, err, out)
	}
}

// TestApplyTellsTheOwnersQueries: with Config.Queries the watcher sends
// nothing itself; it tells the owner's Queries of each link that comes up,
// and a link reported up again starts its burst over rather than adding a
// second one.
func TestApplyTellsTheOwnersQueries(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		net := memnet.New(1)
		ini := initiator.New(initiator.Options{})
		defer ini.Close()
		port := net.NewPort("eth0", wire.MAC{2, 0, 0, 0, 0, 1}, 1500)
		start := time.Now()
		var sent []time.Duration // written by Run's goroutine, read after it ends
		q := multipath.NewQueries(func() error {
			sent = append(sent, time.Since(start))
			return nil
		}, multipath.QuerySchedule{})
		w := multipath.NewWatcher(ini, multipath.Config{
			Queries: q,
			Open:    func(string) (multipath.Port, error) { return port, nil },
		})
		ctx, cancel := context.WithCancel(context.Background())
		w.Apply(ctx, multipath.Link{Name: "eth0", Usable: true})
		time.Sleep(100 * time.Millisecond)
		done := make(chan struct{})
		go func() { q.Run(ctx); close(done) }() // the owner runs it, late
		synctest.Wait()
		time.Sleep(100 * time.Millisecond)
		w.Apply(ctx, multipath.Link{Name: "eth0", Usable: true}) // at 200ms
		time.Sleep(2 * time.Second)
		cancel()
		<-done
		ms := time.Millisecond
		want := []time.Duration{100 * ms, 200 * ms, 450 * ms, 1200 * ms}
		if !slices.Equal(sent, want) {
			t.Fatalf("queries at %v, want %v", sent, want)
		}
	})
}
