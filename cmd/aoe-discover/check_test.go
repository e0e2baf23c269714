package main

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/goaoe/goaoe/initiator"
	"github.com/goaoe/goaoe/initiator/wire"
)

// answered is a path that carried its probes, with our MTU and the
// target's advertised sector count.
func answered(iface string, mtu, sectors int) pathReport {
	return pathReport{Interface: iface, MAC: "02:00:00:00:00:0" + iface[len(iface)-1:], MTU: mtu, MaxSectors: sectors, Answered: true}
}

// kinds lists the problems' kinds, each with where it was found.
func kinds(ps []problem) []string {
	var s []string
	for _, p := range ps {
		s = append(s, p.Kind+"@"+p.Interface)
	}
	return s
}

// TestFrameChecks: which MTU warnings come out of which MTUs and
// advertised sector counts (vblade advertises (MTU-36)/512: 2 at 1500,
// 17 at 9000).
func TestFrameChecks(t *testing.T) {
	cases := []struct {
		name  string
		frame int // sectors the engine cuts frames to
		paths []pathReport
		want  []string
	}{
		{"standard both sides", 2, []pathReport{answered("eth0", 1500, 2)}, nil},
		{"jumbo both sides", 17, []pathReport{answered("eth0", 9000, 17)}, nil},
		{"jumbo target, standard NIC", 2, []pathReport{answered("eth0", 1500, 17)}, []string{"frame-too-large@eth0"}},
		{"16 sectors at 1500, seen in the field", 2, []pathReport{answered("eth0", 1500, 16)}, []string{"frame-too-large@eth0"}},
		{"one sector short of fitting", 16, []pathReport{answered("eth0", 8739, 17)}, []string{"frame-too-large@eth0"}},
		{"just fits", 17, []pathReport{answered("eth0", 8740, 17)}, nil},
		{"jumbo NIC, standard target", 2, []pathReport{answered("eth0", 9000, 2)}, []string{"jumbo-unused@eth0"}},
		{"jumbo NIC, target of 1 sector", 1, []pathReport{answered("eth0", 9000, 1)}, []string{"jumbo-unused@eth0"}},
		// A target between standard and our jumbo MTU uses jumbo frames,
		// if not ours: not the standard-frame case.
		{"jumbo NIC, 4K target", 8, []pathReport{answered("eth0", 9000, 8)}, nil},
		{"a small MTU under 1500 and a target of 1", 1, []pathReport{answered("eth0", 1200, 1)}, nil},
		{"unknown MTU", 2, []pathReport{answered("eth0", 0, 17)}, nil},
		{"mixed MTUs", 2, []pathReport{answered("eth0", 9000, 17), answered("eth1", 1500, 17)},
			[]string{"frame-too-large@eth1", "mixed-mtu@"}},
		{"mixed MTUs, target ports differ alike", 2, []pathReport{answered("eth0", 9000, 17), answered("eth1", 1500, 2)},
			[]string{"mixed-mtu@"}},
		// 9000 and 9216 both carry the target's 17: no frame differs.
		{"different MTUs, same frames", 17, []pathReport{answered("eth0", 9000, 17), answered("eth1", 9216, 17)}, nil},
		{"mixed MTUs, standard target", 2, []pathReport{answered("eth0", 9000, 2), answered("eth1", 1500, 2)},
			[]string{"jumbo-unused@eth0"}},
		{"two MACs on one NIC", 17, []pathReport{answered("eth0", 9000, 17), {Interface: "eth0", MAC: "02:00:00:00:00:09", MTU: 9000, MaxSectors: 17, Answered: true}}, nil},
	}
	for _, c := range cases {
		got := kinds(problems("e1.2", c.frame, c.paths, time.Second))
		if !slices.Equal(got, c.want) {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}
}

// The warnings say what is wrong, with the numbers, and what to do.
func TestFrameWarningTexts(t *testing.T) {
	ps := problems("e1.2", 2, []pathReport{answered("eth1", 1500, 17), answered("eth0", 9000, 17)}, time.Second)
	want := []string{
		"e1.2 via eth1 -> 02:00:00:00:00:01: the target advertises 17 sectors a command, frames that need an MTU of 8740, but eth1's MTU is 1500: " +
			"I/O runs at 2 sectors a frame; raise eth1's MTU to 8740 (ip link set eth1 mtu 8740) if the target's NIC and the switch carry such frames, " +
			"else correct the target's MTU or sector count",
		"e1.2: reached over interfaces of different MTUs, eth0 MTU 9000 (17 sectors a frame), eth1 MTU 1500 (2 sectors a frame): " +
			"every frame is cut to fit the smallest, 2 sectors, on every path; give eth0 and eth1 the same MTU, as the target's NICs and the switch ports between",
	}
	if len(ps) != len(want) {
		t.Fatalf("got %d problems, want %d: %+v", len(ps), len(want), ps)
	}
	for i, w := range want {
		if ps[i].Message != w {
			t.Errorf("warning %d:\n got %q\nwant %q", i, ps[i].Message, w)
		}
	}
	ps = problems("e1.2", 2, []pathReport{answered("eth0", 9000, 2)}, time.Second)
	if w := "e1.2 via eth0 -> 02:00:00:00:00:00: eth0 has a jumbo MTU of 9000 (17 sectors a frame) but the target advertises 2 sectors a command, " +
		"a 1500-byte frame's: the jumbo frames go unused; raise the MTU of the target's NIC (and of the switch ports between) to 9000, " +
		"or check the target's sector count setting"; len(ps) != 1 || ps[0].Message != w {
		t.Errorf("jumbo unused: %+v\nwant %q", ps, w)
	}
}

// TestIOChecks: which answers to the probes are problems, and how each
// is said.
func TestIOChecks(t *testing.T) {
	addr := initiator.Addr{Shelf: 1, Slot: 2}
	silentRead := &initiator.IOError{Target: addr, Op: initiator.OpRead, Sectors: 17, Err: initiator.ErrFrameDeadline}
	silentIdentify := &initiator.IOError{Target: addr, Op: initiator.OpIdentify, Err: initiator.ErrDead}
	reserved := &initiator.IOError{Target: addr, Op: initiator.OpIdentify, Err: wire.ErrTargetReserved}
	path := func(answered bool, err error) pathReport {
		return pathReport{Interface: "eth0", MAC: "02:00:00:00:00:00", MTU: 1500, MaxSectors: 2, Answered: answered, Err: err}
	}
	cases := []struct {
		name string
		path pathReport
		kind string
		says []string
	}{
		{"carries I/O", path(true, nil), "", nil},
		{"silent to a full frame", path(true, silentRead), kindNoAnswer,
			[]string{"e1.2 via eth0 -> 02:00:00:00:00:00: answers config queries but carries no I/O", "no answer to a read of 17 sectors (a frame that needs an MTU of 8740) within 2s", "switch port"}},
		{"silent to IDENTIFY", path(true, silentIdentify), kindNoAnswer, []string{"no answer to IDENTIFY within 2s"}},
		{"silent to a config query", path(false, nil), kindNoAnswer, []string{"not one sent down this path alone within 2s"}},
		{"an error answer", path(true, reserved), kindIOError, []string{"its I/O fails: " + wire.ErrTargetReserved.Error() + "; fix that"}},
		{"could not be probed", path(false, errors.New("nosuch0: no such interface")), kindUnchecked, []string{"could not be checked: nosuch0"}},
	}
	for _, c := range cases {
		ps := problems("e1.2", 2, []pathReport{c.path}, 2*time.Second)
		if c.kind == "" {
			if len(ps) != 0 {
				t.Errorf("%s: %+v, want no problem", c.name, ps)
			}
			continue
		}
		if len(ps) != 1 || ps[0].Kind != c.kind || ps[0].Interface != "eth0" || ps[0].MAC != "02:00:00:00:00:00" {
			t.Errorf("%s: %+v, want one %s at eth0", c.name, ps, c.kind)
			continue
		}
		for _, s := range c.says {
			if !strings.Contains(ps[0].Message, s) {
				t.Errorf("%s: %q does not say %q", c.name, ps[0].Message, s)
			}
		}
	}
}

// mtuSectors must agree with what the engine carries; these are the
// figures Linux and vblade give ((MTU-36)/512).
func TestMTUSectors(t *testing.T) {
	for mtu, want := range map[int]int{1500: 2, 9000: 17, 8740: 17, 8739: 16, 1060: 2, 1059: 1, 65535: 127, 100: 0} {
		if got := mtuSectors(mtu); got != want {
			t.Errorf("mtuSectors(%d) = %d, want %d", mtu, got, want)
		}
	}
	for n := 1; n <= 17; n++ {
		if got := mtuSectors(mtuFor(n)); got != n {
			t.Errorf("mtuFor(%d) = %d carries %d", n, mtuFor(n), got)
		}
	}
}
