package rawport

import (
	"golang.org/x/net/bpf"
)

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

// FilterReplies makes the kernel pass this port only the frames an AoE
// initiator needs (see repliesOnly). Frames that arrived before are still
// delivered; the engine checks every frame anyway.
func (p *Port) FilterReplies() error {
	prog, err := bpf.Assemble(repliesOnly)
	if err != nil {
		return &OpError{Op: "filter", Iface: p.name, Err: err}
	}
	if err := p.conn.SetBPF(prog); err != nil {
		return &OpError{Op: "filter", Iface: p.name, Err: err}
	}
	return nil
}
