package multipath

import (
	"testing"
	"time"

	"github.com/goaoe/goaoe/initiator/wire"
)

var (
	portA = wire.MAC{2, 0, 0, 0, 0, 0xa}
	portB = wire.MAC{2, 0, 0, 0, 0, 0xb}
)

// cand is a path up to target port portA with a window of 16 (the buffer
// count, ceiling 64), nothing in flight, frames of 255 sectors and no RTT
// measured; the cases change what they need.
func cand(change func(c *Candidate)) Candidate {
	c := Candidate{MAC: portA, Up: true, Window: 16, Promised: 16, Ceiling: 64, MaxSectors: 255}
	if change != nil {
		change(&c)
	}
	return c
}

func rtt(d time.Duration) func(c *Candidate) { return func(c *Candidate) { c.SRTT = d } }

func TestPick(t *testing.T) {
	const ms = time.Millisecond
	for _, tc := range []struct {
		name    string
		paths   []Candidate
		sectors int
		want    int
	}{
		{name: "no paths", want: -1},
		{name: "one path", paths: []Candidate{cand(nil)}, want: 0},
		{name: "the one with more room", paths: []Candidate{
			cand(func(c *Candidate) { c.Inflight = 10 }),
			cand(func(c *Candidate) { c.Inflight = 4; c.MAC = portB }),
		}, want: 1},
		{name: "ties go to the first", paths: []Candidate{cand(nil), cand(func(c *Candidate) { c.MAC = portB })}, want: 0},
		{name: "all full", paths: []Candidate{
			cand(func(c *Candidate) { c.Inflight = 16 }),
			cand(func(c *Candidate) { c.Inflight = 16; c.MAC = portB }),
		}, want: -1},
		{name: "a path that is down takes nothing", paths: []Candidate{
			cand(func(c *Candidate) { c.Up = false }),
			cand(func(c *Candidate) { c.Inflight = 15; c.MAC = portB }),
		}, want: 1},
		{name: "only paths down", paths: []Candidate{cand(func(c *Candidate) { c.Up = false })}, want: -1},

		// Unequal RTT: each path's free share of its window, divided by
		// its RTT, so a path 4x as fast is preferred until its free
		// share is a quarter of the slower one's.
		{name: "the faster path with half its window free", paths: []Candidate{
			cand(func(c *Candidate) { c.SRTT = 4 * ms }),
			cand(func(c *Candidate) { c.SRTT = ms; c.Inflight = 8; c.MAC = portB }),
		}, want: 1},
		{name: "the faster path with a fifth of its window free", paths: []Candidate{
			cand(func(c *Candidate) { c.SRTT = 4 * ms }),
			cand(func(c *Candidate) { c.SRTT = ms; c.Inflight = 13; c.MAC = portB }),
		}, want: 0},
		{name: "an unmeasured path counts as fast as the fastest", paths: []Candidate{
			cand(func(c *Candidate) { c.SRTT = ms; c.Inflight = 4 }),
			cand(func(c *Candidate) { c.MAC = portB }),
		}, want: 1},
		{name: "the fastest is the fastest of every path, down or not", paths: []Candidate{
			cand(func(c *Candidate) { c.SRTT = 2 * ms; c.Inflight = 4 }),
			cand(func(c *Candidate) { c.Inflight = 8; c.MAC = portB }),
			cand(func(c *Candidate) { c.SRTT = ms / 2; c.Up = false; c.MAC = portB }),
		}, want: 1},

		// Loss: a path losing 10% scores 1/1.8 of a clean one.
		{name: "a lossy path is spared", paths: []Candidate{
			cand(func(c *Candidate) { c.Loss = 0.1 }),
			cand(func(c *Candidate) { c.Inflight = 6; c.MAC = portB }),
		}, want: 1},
		{name: "a lossy path still carries what the clean one has no room for", paths: []Candidate{
			cand(func(c *Candidate) { c.Loss = 0.1 }),
			cand(func(c *Candidate) { c.Inflight = 8; c.MAC = portB }),
		}, want: 0},

		// Avoid: a retransmit goes another way if another has room.
		{name: "the path to avoid, though it has the most room", paths: []Candidate{
			cand(func(c *Candidate) { c.Avoid = true }),
			cand(func(c *Candidate) { c.Inflight = 15; c.MAC = portB }),
		}, want: 1},
		{name: "the path to avoid when no other has room", paths: []Candidate{
			cand(func(c *Candidate) { c.Avoid = true; c.Inflight = 15 }),
			cand(func(c *Candidate) { c.Inflight = 16; c.MAC = portB }),
		}, want: 0},

		// Frame size: a path whose frames are smaller than the frame
		// is skipped, however much room it has.
		{name: "a frame too large for the roomier path", sectors: 17, paths: []Candidate{
			cand(func(c *Candidate) { c.MaxSectors = 2 }),
			cand(func(c *Candidate) { c.MaxSectors = 17; c.Inflight = 15; c.MAC = portB }),
		}, want: 1},
		{name: "a frame too large for every path", sectors: 18, paths: []Candidate{
			cand(func(c *Candidate) { c.MaxSectors = 17 }),
		}, want: -1},

		// Target ports: several paths to one share its buffer count.
		{name: "two paths to one target port share its buffer count", paths: []Candidate{
			cand(func(c *Candidate) { c.Window = 32; c.Inflight = 10 }),
			cand(func(c *Candidate) { c.Window = 32; c.Inflight = 6 }),
		}, want: -1},
		{name: "with room on the port, the path with more of it", paths: []Candidate{
			cand(func(c *Candidate) { c.Window = 32; c.Inflight = 9 }),
			cand(func(c *Candidate) { c.Window = 32; c.Inflight = 6 }),
		}, want: 1},
		{name: "a full target port leaves the other", paths: []Candidate{
			cand(func(c *Candidate) { c.Window = 32; c.Inflight = 8 }),
			cand(func(c *Candidate) { c.Window = 32; c.Inflight = 8 }),
			cand(func(c *Candidate) { c.Inflight = 15; c.MAC = portB }),
		}, want: 2},
		{name: "one path to a port may probe to its window's ceiling", paths: []Candidate{
			cand(func(c *Candidate) { c.Window = 40; c.Inflight = 30 }),
		}, want: 0},
		{name: "a path that is down does not share the port", paths: []Candidate{
			cand(func(c *Candidate) { c.Window = 40; c.Inflight = 30 }),
			cand(func(c *Candidate) { c.Up = false }),
		}, want: 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sectors := tc.sectors
			if sectors == 0 {
				sectors = 2
			}
			if got := Pick(tc.paths, sectors); got != tc.want {
				t.Fatalf("Pick = %d, want %d", got, tc.want)
			}
		})
	}
}

// TestPickInProportion: filled from empty, each path's free share of its
// window stays in proportion to its RTT, so a path three times as fast
// takes eleven frames before the slower one takes its first.
func TestPickInProportion(t *testing.T) {
	paths := []Candidate{cand(rtt(time.Millisecond)), cand(func(c *Candidate) { c.SRTT = 3 * time.Millisecond; c.MAC = portB })}
	var got [2]int
	for range 12 {
		i := Pick(paths, 2)
		if i < 0 {
			t.Fatal("no path with room")
		}
		paths[i].Inflight++
		got[i]++
	}
	if got != [2]int{11, 1} {
		t.Fatalf("frames per path %v, want [11 1]", got)
	}
	// Filled up, both windows are used whole.
	for i := Pick(paths, 2); i >= 0; i = Pick(paths, 2) {
		paths[i].Inflight++
	}
	if paths[0].Inflight != 16 || paths[1].Inflight != 16 {
		t.Fatalf("filled up: %d and %d in flight, want both windows full", paths[0].Inflight, paths[1].Inflight)
	}
}

func TestPortLoad(t *testing.T) {
	for _, tc := range []struct {
		name            string
		paths           []Candidate
		capacity, queue int
	}{
		{"one path: its ceiling", []Candidate{cand(func(c *Candidate) { c.Inflight = 3 })}, 64, 3},
		{"two paths: the buffer count", []Candidate{cand(func(c *Candidate) { c.Inflight = 3 }), cand(func(c *Candidate) { c.Inflight = 4 })}, 16, 7},
		{"the largest buffer count of them", []Candidate{cand(nil), cand(func(c *Candidate) { c.Promised = 20 })}, 20, 0},
		{"the largest ceiling of one path up", []Candidate{cand(func(c *Candidate) { c.Ceiling = 40 }), cand(func(c *Candidate) { c.Up = false; c.Ceiling = 64 })}, 40, 0},
		{"other ports do not count", []Candidate{cand(nil), cand(func(c *Candidate) { c.MAC = portB; c.Inflight = 9 })}, 64, 0},
		{"no path up: one frame", []Candidate{cand(func(c *Candidate) { c.Up = false })}, 1, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			capacity, queued := portLoad(tc.paths, portA)
			if capacity != tc.capacity || queued != tc.queue {
				t.Fatalf("portLoad = %d, %d; want %d, %d", capacity, queued, tc.capacity, tc.queue)
			}
		})
	}
}

func TestPickAllocatesNothing(t *testing.T) {
	paths := []Candidate{cand(rtt(time.Millisecond)), cand(func(c *Candidate) { c.MAC = portB; c.Loss = 0.2 }), cand(func(c *Candidate) { c.Avoid = true })}
	if n := testing.AllocsPerRun(100, func() { Pick(paths, 2) }); n != 0 {
		t.Fatalf("%v allocations per Pick", n)
	}
}
