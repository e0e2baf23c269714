package rawport

import (
	"golang.org/x/net/bpf"
)

// These socket filters read the AoE header, the one place this package
// does: after the 14-byte Ethernet header come version and flags (offset
// 14), error (15), major or shelf (16, 2 bytes big-endian), minor or slot
// (18), command (19) and tag (20, 4 bytes). A frame too short to hold a
// field the program loads is dropped by the kernel. A kept frame is kept
// whole (1<<18 bytes is more than any MTU).

// repliesOnly is a socket filter that keeps, of the AoE frames on the
// wire, only those an initiator with tags of bit 31 set can use: responses
// carrying such a tag, and every Query Config answer (a target announcing
// itself uses tag 0). Without it the process would copy in, and throw
// away, every other initiator's requests and replies, the kernel aoe
// driver's among them.
var repliesOnly = []bpf.Instruction{
	bpf.LoadAbsolute{Off: 14, Size: 1},                         // version and flags
	bpf.JumpIf{Cond: bpf.JumpBitsSet, Val: 0x08, SkipFalse: 5}, // not a response: drop
	bpf.LoadAbsolute{Off: 19, Size: 1},                         // command
	bpf.JumpIf{Cond: bpf.JumpEqual, Val: 1, SkipTrue: 2},       // Query Config: keep
	bpf.LoadAbsolute{Off: 20, Size: 1},                         // tag, high byte
	bpf.JumpIf{Cond: bpf.JumpBitsSet, Val: 0x80, SkipFalse: 1}, // not our half of the tags: drop
	bpf.RetConstant{Val: 1 << 18},                              // keep the whole frame
	bpf.RetConstant{Val: 0},
}

// repliesFrom is repliesOnly for a process that serves one target: it
// also drops every response whose shelf and slot are not the target's, so
// that with many targets served by as many processes a reply wakes only
// the one that asked. Every command's response (ATA, Query Config, MAC
// mask, reserve/release) carries the address of the target that sends it,
// even the answer to a Query Config broadcast to shelf 0xFFFF, slot 0xFF.
func repliesFrom(shelf uint16, slot uint8) []bpf.Instruction {
	return []bpf.Instruction{
		bpf.LoadAbsolute{Off: 14, Size: 1},                                // version and flags
		bpf.JumpIf{Cond: bpf.JumpBitsSet, Val: 0x08, SkipFalse: 9},        // not a response: drop
		bpf.LoadAbsolute{Off: 16, Size: 2},                                // shelf
		bpf.JumpIf{Cond: bpf.JumpEqual, Val: uint32(shelf), SkipFalse: 7}, // another target's: drop
		bpf.LoadAbsolute{Off: 18, Size: 1},                                // slot
		bpf.JumpIf{Cond: bpf.JumpEqual, Val: uint32(slot), SkipFalse: 5},  // another target's: drop
		bpf.LoadAbsolute{Off: 19, Size: 1},                                // command
		bpf.JumpIf{Cond: bpf.JumpEqual, Val: 1, SkipTrue: 2},              // Query Config: keep
		bpf.LoadAbsolute{Off: 20, Size: 1},                                // tag, high byte
		bpf.JumpIf{Cond: bpf.JumpBitsSet, Val: 0x80, SkipFalse: 1},        // not our half of the tags: drop
		bpf.RetConstant{Val: 1 << 18},                                     // keep the whole frame
		bpf.RetConstant{Val: 0},
	}
}
