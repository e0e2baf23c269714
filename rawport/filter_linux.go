package rawport

import (
	"golang.org/x/net/bpf"
)

// FilterReplies makes the kernel pass this port only the frames an AoE
// initiator needs (see repliesOnly). Frames that arrived before are still
// delivered; the engine checks every frame anyway.
func (p *Port) FilterReplies() error { return p.filter(repliesOnly) }

// FilterTarget is FilterReplies for an engine that talks to one target,
// shelf.slot: the kernel passes this port only that target's responses
// (see repliesFrom), every other target's stay out of this process. It
// replaces any filter set before.
func (p *Port) FilterTarget(shelf uint16, slot uint8) error {
	return p.filter(repliesFrom(shelf, slot))
}

func (p *Port) filter(insns []bpf.Instruction) error {
	prog, err := bpf.Assemble(insns)
	if err != nil {
		return &OpError{Op: "filter", Iface: p.name, Err: err}
	}
	if err := p.conn.SetBPF(prog); err != nil {
		return &OpError{Op: "filter", Iface: p.name, Err: err}
	}
	return nil
}
