//go:build linux

package main

import (
	"io"
	"strings"
	"testing"
	"time"

	"github.com/goaoe/goaoe/initiator/wire"
)

// aoeFrame is an AoE header: a request from ini, or its reply to ini.
func aoeFrame(ini, tgt wire.MAC, reply bool, tag uint32) []byte {
	h := wire.Header{Dst: tgt, Src: ini, Version: wire.Version, Shelf: 1, Slot: 2, Tag: tag}
	if reply {
		h.Dst, h.Src, h.Flags = ini, tgt, wire.FlagResponse
	}
	f := make([]byte, 36)
	_ = h.Marshal(f)
	return f
}

// TestWireTimesEachRun feeds the watcher two marked runs and checks the
// turnarounds and the frames at the target it reports for each.
func TestWireTimesEachRun(t *testing.T) {
	ini := wire.MAC{2, 0, 0, 0, 0, 1}
	tgt := wire.MAC{2, 0, 0, 0, 0, 2}
	t0 := time.Unix(1000, 0)
	at := func(us int) time.Time { return t0.Add(time.Duration(us) * time.Microsecond) }
	type ev struct {
		f []byte
		t time.Time
	}
	evs := []ev{
		{aoeFrame(ini, tgt, false, 99), at(0)}, // before any mark: not counted
		{markFrame(ini, "workload=seq-write who=ours rep=1"), at(0)},
		{aoeFrame(ini, tgt, false, 1), at(0)},
		{aoeFrame(ini, tgt, false, 2), at(0)},
		{aoeFrame(ini, tgt, true, 1), at(100)},
		{aoeFrame(ini, tgt, true, 2), at(300)},
		{aoeFrame(ini, tgt, true, 7), at(350)}, // a reply to no request seen
		{aoeFrame(ini, tgt, false, 3), at(400)},
		{markFrame(ini, endLabel), at(1000)},
		{aoeFrame(ini, tgt, true, 3), at(1100)}, // after the end: not counted
		{markFrame(ini, "workload=seq-write who=kernel rep=1"), at(2000)},
		{aoeFrame(ini, tgt, false, 5), at(2000)},
		{aoeFrame(ini, tgt, true, 5), at(2500)},
		{markFrame(ini, endLabel), at(3000)},
	}
	i := 0
	read := func(b []byte) (int, time.Time, error) {
		if i == len(evs) {
			return 0, time.Time{}, io.EOF
		}
		e := evs[i]
		i++
		return copy(b, e.f), e.t, nil
	}
	var out strings.Builder
	if err := wireWatch(read, &out); err != io.EOF {
		t.Fatalf("wireWatch returned %v, want io.EOF", err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	want := []string{
		"BENCH-WIRE workload=seq-write who=ours rep=1 seconds=0.0004 requests=3 replies=3 answered=2 turnaround_mean_us=200 turnaround_p50_us=300 turnaround_p90_us=300 at_target=1.00",
		"BENCH-WIRE workload=seq-write who=kernel rep=1 seconds=0.0005 requests=1 replies=1 answered=1 turnaround_mean_us=500 turnaround_p50_us=500 turnaround_p90_us=500 at_target=1.00",
	}
	if len(lines) != len(want) {
		t.Fatalf("got %d lines, want %d:\n%s", len(lines), len(want), out.String())
	}
	for k := range want {
		if lines[k] != want[k] {
			t.Errorf("line %d:\n got %s\nwant %s", k, lines[k], want[k])
		}
	}
}

func TestMarkRoundTrip(t *testing.T) {
	ini, tgt := wire.MAC{2, 0, 0, 0, 0, 1}, wire.MAC{2, 0, 0, 0, 0, 2}
	f := markFrame(ini, "workload=randread-qd1 mtu=9000 who=ours rep=3")
	if len(f) < 60 {
		t.Fatalf("mark frame is %d bytes, shorter than Ethernet's 60", len(f))
	}
	parse := func(f []byte) (string, bool) {
		var h wire.Header
		body, err := h.Unmarshal(f)
		if err != nil {
			t.Fatalf("the frame does not decode as AoE: %v", err)
		}
		return parseMark(&h, body)
	}
	if got, ok := parse(f); !ok || got != "workload=randread-qd1 mtu=9000 who=ours rep=3" {
		t.Fatalf("parseMark = %q, %v", got, ok)
	}
	if _, ok := parse(aoeFrame(ini, tgt, false, 1)); ok {
		t.Fatal("an ATA request was taken for a mark")
	}
}
