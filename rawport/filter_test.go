package rawport

import (
	"encoding/binary"
	"fmt"
	"testing"

	"golang.org/x/net/bpf"
)

// aoeFrame is a 60-byte AoE frame (the shortest Ethernet frame) with the
// given header fields, built by hand as the socket filters read it.
func aoeFrame(verFlags byte, shelf uint16, slot, cmd byte, tag uint32) []byte {
	b := make([]byte, 60)
	binary.BigEndian.PutUint16(b[12:14], EtherType)
	b[14] = verFlags
	binary.BigEndian.PutUint16(b[16:18], shelf)
	b[18], b[19] = slot, cmd
	binary.BigEndian.PutUint32(b[20:24], tag)
	return b
}

// runFilter runs a socket filter in x/net/bpf's VM, as the kernel would,
// and says whether it keeps the frame whole.
func runFilter(t *testing.T, insns []bpf.Instruction, frame []byte) bool {
	t.Helper()
	vm, err := bpf.NewVM(insns)
	if err != nil {
		t.Fatalf("filter does not load: %v", err)
	}
	n, err := vm.Run(frame)
	if err != nil {
		t.Fatalf("filter fails: %v", err)
	}
	// The VM returns the program's number; the kernel keeps that many
	// bytes of the frame, at most all of it.
	if n != 0 && n < len(frame) {
		t.Fatalf("filter keeps %d bytes of a %d-byte frame, want all or none", n, len(frame))
	}
	return n != 0
}

// TestReplyFilters runs both socket filters over frames from the target a
// process serves, from other targets, requests, and replies to the kernel
// aoe driver's tags (bit 31 clear): FilterTarget's keeps only the first
// target's responses to us and its config answers, FilterReplies' keeps
// every target's.
func TestReplyFilters(t *testing.T) {
	const (
		request  = 0x10 // version 1, no flags
		response = 0x18 // version 1, response
		failed   = 0x1C // version 1, response, error
		announce = 0x08 // vblade's announcement: version 0, response
		ours     = 0x80001234
		kernels  = 0x00001234
	)
	// Shelves and slots whose bytes differ, so that a byte order or an
	// offset wrong by one shows, and the extremes of each.
	for _, tg := range []struct {
		shelf uint16
		slot  byte
	}{{0x0102, 0x03}, {0, 0}, {0xFFFE, 0xFE}, {1, 2}} {
		otherShelf, otherSlot := tg.shelf^0x0100, tg.slot^0x01
		swapped := tg.shelf>>8 | tg.shelf<<8
		t.Run(fmt.Sprintf("e%d.%d", tg.shelf, tg.slot), func(t *testing.T) {
			for _, c := range []struct {
				what             string
				frame            []byte
				forTarget, byTag bool // kept by repliesFrom, by repliesOnly
			}{
				{"ATA reply", aoeFrame(response, tg.shelf, tg.slot, 0, ours), true, true},
				{"ATA error reply", aoeFrame(failed, tg.shelf, tg.slot, 0, ours), true, true},
				{"config answer", aoeFrame(response, tg.shelf, tg.slot, 1, ours), true, true},
				{"config announcement, tag 0", aoeFrame(announce, tg.shelf, tg.slot, 1, 0), true, true},
				{"config answer to the kernel driver", aoeFrame(response, tg.shelf, tg.slot, 1, kernels), true, true},
				{"MAC mask reply", aoeFrame(response, tg.shelf, tg.slot, 2, ours), true, true},
				{"reserve/release reply", aoeFrame(response, tg.shelf, tg.slot, 3, ours), true, true},
				{"longest frame", append(aoeFrame(response, tg.shelf, tg.slot, 0, ours), make([]byte, 9000)...), true, true},

				{"ATA reply to the kernel driver", aoeFrame(response, tg.shelf, tg.slot, 0, kernels), false, false},
				{"reserve reply to the kernel driver", aoeFrame(response, tg.shelf, tg.slot, 3, kernels), false, false},
				{"ATA request", aoeFrame(request, tg.shelf, tg.slot, 0, ours), false, false},
				{"config request", aoeFrame(request, tg.shelf, tg.slot, 1, ours), false, false},
				{"broadcast config request", aoeFrame(request, 0xFFFF, 0xFF, 1, ours), false, false},

				{"ATA reply, other slot", aoeFrame(response, tg.shelf, otherSlot, 0, ours), false, true},
				{"ATA reply, other shelf", aoeFrame(response, otherShelf, tg.slot, 0, ours), false, true},
				{"ATA reply, shelf bytes swapped", aoeFrame(response, swapped, tg.slot, 0, ours), tg.shelf == swapped, true},
				{"ATA reply, other shelf and slot", aoeFrame(response, otherShelf, otherSlot, 0, ours), false, true},
				{"config answer, other slot", aoeFrame(response, tg.shelf, otherSlot, 1, ours), false, true},
				{"config announcement, other shelf", aoeFrame(announce, otherShelf, tg.slot, 1, 0), false, true},
				{"config answer, broadcast address", aoeFrame(response, 0xFFFF, 0xFF, 1, 0), false, true},
				{"reserve reply, other target", aoeFrame(response, otherShelf, otherSlot, 3, ours), false, true},
				{"ATA reply to the kernel driver, other target", aoeFrame(response, otherShelf, otherSlot, 0, kernels), false, false},

				{"cut before the shelf", aoeFrame(response, tg.shelf, tg.slot, 0, ours)[:16], false, false},
				{"cut before the slot", aoeFrame(response, tg.shelf, tg.slot, 0, ours)[:18], false, false},
				{"cut before the tag", aoeFrame(response, tg.shelf, tg.slot, 0, ours)[:20], false, false},
			} {
				if got := runFilter(t, repliesFrom(tg.shelf, tg.slot), c.frame); got != c.forTarget {
					t.Errorf("FilterTarget(%d, %d): %s: kept %v, want %v", tg.shelf, tg.slot, c.what, got, c.forTarget)
				}
				if got := runFilter(t, repliesOnly, c.frame); got != c.byTag {
					t.Errorf("FilterReplies: %s: kept %v, want %v", c.what, got, c.byTag)
				}
			}
		})
	}
}

// TestReplyFiltersAssemble: both programs assemble, so SetBPF only has the
// kernel's checks left to fail.
func TestReplyFiltersAssemble(t *testing.T) {
	for name, insns := range map[string][]bpf.Instruction{
		"repliesOnly": repliesOnly,
		"repliesFrom": repliesFrom(0xFFFE, 0xFE),
	} {
		if _, err := bpf.Assemble(insns); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}
