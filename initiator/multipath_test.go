package initiator_test

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/goaoe/goaoe/initiator"
	"github.com/goaoe/goaoe/initiator/wire"
	"github.com/goaoe/goaoe/internal/memnet"
)

// multiBed is one simulated target seen through several host ports.
type multiBed struct {
	net   *memnet.Network
	tgt   *memnet.Target
	ini   *initiator.Initiator
	t     *initiator.Target
	ports []*memnet.Port
}

func newMultiBed(t *testing.T, nports int, setup func(i int, p *memnet.Port), opts initiator.Options) *multiBed {
	t.Helper()
	b := &multiBed{net: memnet.New(7)}
	b.tgt = memnet.NewTarget(b.net, "tgt0", targetMAC, 1500, memnet.TargetConfig{Shelf: 1, Slot: 2, Sectors: 65536})
	b.ini = initiator.New(opts)
	for i := 0; i < nports; i++ {
		p := b.net.NewPort(fmt.Sprintf("eth%d", i), wire.MAC{2, 0, 0, 0, 1, byte(i)}, 1500)
		if setup != nil {
			setup(i, p)
		}
		b.ports = append(b.ports, p)
		b.ini.AddPort(p)
	}
	t.Cleanup(func() { b.ini.Close(); b.tgt.Stop() })
	b.tgt.Start()
	time.Sleep(100 * time.Millisecond) // the announcement crosses slow links too
	if b.t = b.ini.Target(e12); b.t == nil {
		t.Fatal("target not learned")
	}
	if _, err := b.t.Identify(); err != nil {
		t.Fatal(err)
	}
	if got := len(b.t.Status().Paths); got != nports {
		t.Fatalf("%d paths, want %d", got, nports)
	}
	return b
}

// readAll reads size bytes in 128 KiB requests, depth at a time, and
// returns how long it took.
func (b *multiBed) readAll(t *testing.T, size, depth int) time.Duration {
	start := time.Now()
	var wg sync.WaitGroup
	per := size / depth
	for i := 0; i < depth; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, 128<<10)
			for off := i * per; off < (i+1)*per; off += len(buf) {
				if _, err := b.t.ReadAt(buf, int64(off)); err != nil {
					t.Errorf("read at %d: %v", off, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	return time.Since(start)
}

// path returns the status of the path through host port i.
func (b *multiBed) path(t *testing.T, i int) initiator.PathStatus {
	t.Helper()
	for _, p := range b.t.Status().Paths {
		if p.Port == b.ports[i].Name() {
			return p
		}
	}
	t.Fatalf("no path through %s", b.ports[i].Name())
	return initiator.PathStatus{}
}

// replies counts the replies accepted on each host port's path.
func replies(t *testing.T, b *multiBed) []uint64 {
	var r []uint64
	for i := range b.ports {
		r = append(r, b.path(t, i).Replies)
	}
	return r
}

// TestUnequalLinksAddUp: a 40 Mbit/s and a 10 Mbit/s link together must
// read faster than the fast one alone (the kernel's round robin is held
// back to the slow one's pace).
func TestUnequalLinksAddUp(t *testing.T) {
	const fast, slow = 5e6, 1.25e6 // bytes per second
	var alone, both time.Duration
	synctest.Test(t, func(t *testing.T) {
		b := newMultiBed(t, 1, func(i int, p *memnet.Port) { p.SetRate(fast) }, initiator.Options{})
		alone = b.readAll(t, 8<<20, 8)
	})
	synctest.Test(t, func(t *testing.T) {
		b := newMultiBed(t, 2, func(i int, p *memnet.Port) { p.SetRate([]float64{fast, slow}[i]) }, initiator.Options{})
		both = b.readAll(t, 8<<20, 8)
		r := replies(t, b)
		t.Logf("replies per path: fast %d, slow %d", r[0], r[1])
	})
	ratio := alone.Seconds() / both.Seconds()
	t.Logf("fast alone %v, both %v: %.2fx (the sum of the links would be 1.25x)", alone, both, ratio)
	if ratio < 1.15 {
		t.Fatalf("both links read at %.2fx the fast one alone, want at least 1.15x", ratio)
	}
}

// TestSlowPathGetsLessTraffic: a path with ten times the RTT carries a
// small share, and the fast one is not held back.
func TestSlowPathGetsLessTraffic(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := newMultiBed(t, 2, func(i int, p *memnet.Port) {
			p.SetDelay([]time.Duration{100 * time.Microsecond, time.Millisecond}[i])
		}, initiator.Options{})
		b.readAll(t, 4<<20, 8)
		r := replies(t, b)
		t.Logf("replies: fast path %d, slow path %d", r[0], r[1])
		if r[0] < 3*r[1] {
			t.Fatalf("the 10x-RTT path got %d frames against the fast path's %d: want at most a third", r[1], r[0])
		}
	})
}

// TestPathFailsOverAndReturns unplugs one of two links in the middle of a
// write: no error, every byte lands, the path is marked down; plugged back
// in, it carries traffic again within two seconds.
func TestPathFailsOverAndReturns(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := newMultiBed(t, 2, func(i int, p *memnet.Port) { p.SetDelay(100 * time.Microsecond) }, initiator.Options{Deadline: 30 * time.Second})
		data := randomBytes(rand.New(rand.NewPCG(3, 4)), 8<<20)
		errc := make(chan error, 1)
		go func() {
			_, err := b.t.WriteAt(data, 0)
			errc <- err
		}()
		time.Sleep(2 * time.Millisecond)
		b.ports[1].SetUp(false)
		if err := <-errc; err != nil {
			t.Fatalf("write with a link lost midway: %v", err)
		}
		if !bytes.Equal(b.tgt.Disk()[:len(data)], data) {
			t.Fatal("the target's disk differs")
		}
		// The write may finish before the dead path lost eight frames in a
		// row (its window shrinks with the first losses); more I/O must
		// take it out.
		b.readAll(t, 2<<20, 8)
		if p := b.path(t, 1); p.Up {
			t.Fatalf("the unplugged path is still up: %+v", p)
		}
		b.ports[1].SetUp(true)
		time.Sleep(2 * time.Second)
		before := replies(t, b)[1]
		b.readAll(t, 2<<20, 8)
		if p := b.path(t, 1); !p.Up || p.Replies == before {
			t.Fatalf("the link plugged back in is up=%v and carried %d frames, want it in use", p.Up, p.Replies-before)
		}
	})
}

// TestRemovedPortLosesNothing: a NIC that goes away mid-I/O has its frames
// sent elsewhere at once.
func TestRemovedPortLosesNothing(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := newMultiBed(t, 2, func(i int, p *memnet.Port) { p.SetDelay(time.Millisecond) }, initiator.Options{})
		data := randomBytes(rand.New(rand.NewPCG(5, 6)), 4<<20)
		errc := make(chan error, 1)
		start := time.Now()
		go func() {
			_, err := b.t.WriteAt(data, 0)
			errc <- err
		}()
		time.Sleep(5 * time.Millisecond)
		b.ini.RemovePort("eth0")
		if err := <-errc; err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(b.tgt.Disk()[:len(data)], data) {
			t.Fatal("the target's disk differs")
		}
		st := b.t.Status()
		if len(st.Paths) != 1 || st.Paths[0].Port != "eth1" {
			t.Fatalf("paths after removing eth0: %+v", st.Paths)
		}
		if st.Paths[0].Timeouts != 0 {
			t.Errorf("%d timeouts: frames of the removed port waited for their timers (took %v)", st.Paths[0].Timeouts, time.Since(start))
		}
	})
}

// TestNoPathWaitsForTheDeadline: with every link down, I/O waits; a link
// back before the deadline lets it finish.
func TestNoPathWaitsForTheDeadline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := newMultiBed(t, 2, nil, initiator.Options{Deadline: 20 * time.Second})
		b.ports[0].SetUp(false)
		b.ports[1].SetUp(false)
		go func() {
			time.Sleep(10 * time.Second)
			b.ports[1].SetUp(true)
		}()
		data := randomBytes(rand.New(rand.NewPCG(8, 8)), 64<<10)
		if _, err := b.t.WriteAt(data, 0); err != nil {
			t.Fatalf("write while every link was down for 10s of a 20s deadline: %v", err)
		}
		if !bytes.Equal(b.tgt.Disk()[:len(data)], data) {
			t.Fatal("the target's disk differs")
		}
	})
}

// TestJoiningPathCarriesTraffic: a NIC added while I/O runs on another is
// used, though it has no RTT measured yet.
func TestJoiningPathCarriesTraffic(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := newMultiBed(t, 1, func(i int, p *memnet.Port) { p.SetDelay(100 * time.Microsecond) }, initiator.Options{})
		b.readAll(t, 1<<20, 8)
		p := b.net.NewPort("eth1", wire.MAC{2, 0, 0, 0, 1, 9}, 1500)
		p.SetDelay(100 * time.Microsecond)
		b.ini.AddPort(p)
		b.ports = append(b.ports, p)
		b.ini.Query(e12)
		time.Sleep(10 * time.Millisecond)
		b.readAll(t, 4<<20, 8)
		if r := replies(t, b); r[1] < r[0]/10 {
			t.Fatalf("the joining path carried %d frames against %d", r[1], r[0])
		}
	})
}
