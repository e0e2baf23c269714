package discovery

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/goaoe/goaoe/initiator"
	"github.com/goaoe/goaoe/initiator/wire"
)

// Pattern names a set of targets: one (e1.2), a shelf (e1 or e1.*), or
// every target (*, e* or e*.*), as aoetools users name them.
type Pattern struct {
	Shelf int // -1: any shelf
	Slot  int // -1: any slot
}

// ParsePattern reads a pattern.
func ParsePattern(s string) (Pattern, error) {
	bad := fmt.Errorf("bad target pattern %q: want eSHELF.SLOT, eSHELF or eSHELF.* (a shelf), or * (every target)", s)
	t := strings.TrimPrefix(s, "e")
	if t == "*" || t == "*.*" {
		return Pattern{Shelf: -1, Slot: -1}, nil
	}
	shelf, slot, hasSlot := strings.Cut(t, ".")
	sh, err := strconv.ParseUint(shelf, 10, 16)
	if err != nil || sh == wire.BroadcastShelf || !strings.HasPrefix(s, "e") {
		return Pattern{}, bad
	}
	p := Pattern{Shelf: int(sh), Slot: -1}
	if !hasSlot || slot == "*" {
		return p, nil
	}
	sl, err := strconv.ParseUint(slot, 10, 8)
	if err != nil || sl == wire.BroadcastSlot {
		return Pattern{}, bad
	}
	p.Slot = int(sl)
	return p, nil
}

// Match reports whether a is one of the pattern's targets.
func (p Pattern) Match(a initiator.Addr) bool {
	return (p.Shelf < 0 || int(a.Shelf) == p.Shelf) && (p.Slot < 0 || int(a.Slot) == p.Slot)
}

// Query is where to send the config query that reaches the pattern's
// targets: AoE broadcasts by shelf and by slot.
func (p Pattern) Query() initiator.Addr {
	a := initiator.AllTargets
	if p.Shelf >= 0 {
		a.Shelf = uint16(p.Shelf)
	}
	if p.Slot >= 0 {
		a.Slot = uint8(p.Slot)
	}
	return a
}

func (p Pattern) String() string {
	switch {
	case p.Shelf < 0:
		return "*"
	case p.Slot < 0:
		return fmt.Sprintf("e%d.*", p.Shelf)
	}
	return fmt.Sprintf("e%d.%d", p.Shelf, p.Slot)
}

// Answering returns, in order, the targets of p that answer a config query
// within wait. Unlike Scan it identifies nothing: it only lists.
func Answering(ctx context.Context, ini *initiator.Initiator, p Pattern, wait time.Duration) ([]initiator.Addr, error) {
	if err := ini.Query(p.Query()); err != nil && len(ini.Ports()) == 0 {
		return nil, err
	}
	select {
	case <-time.After(wait):
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	var out []initiator.Addr
	for _, t := range ini.Targets() {
		if p.Match(t.Addr()) {
			out = append(out, t.Addr())
		}
	}
	sort.Slice(out, func(i, j int) bool { return less(out[i], out[j]) })
	return out, nil
}
