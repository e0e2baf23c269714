package initiator

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/goaoe/goaoe/initiator/wire"
)

// The MAC mask list (AoE command 2, spec section 3.3) is the set of
// initiators a target serves: when it is not empty, a target ignores
// every frame from a MAC that is not on it, config queries and mask
// commands too (vblade does), so an edit that leaves this host off the
// list locks this host out until the target's administrator lets it back.

// maskWindow is how long a mask command waits for an answer: many targets
// implement no mask list and drop the command without a word.
const maskWindow = 2 * time.Second

// ErrNoMaskList: the target does not answer MAC mask list commands.
var ErrNoMaskList = errors.New("the target does not implement the MAC mask list (no answer, or AoE error 1)")

// MaskError is a MAC mask list error the target reported (MError).
type MaskError uint8

func (e MaskError) Error() string {
	switch e {
	case wire.MaskErrBadCommand:
		return "the target refused a directive (bad command)"
	case wire.MaskErrListFull:
		return "the target's MAC mask list is full"
	}
	return fmt.Sprintf("MAC mask list error %d", uint8(e))
}

// MaskList returns the target's MAC mask list; empty means it serves
// every initiator.
func (t *Target) MaskList() ([]wire.MAC, error) {
	return t.mask(OpReadMask, &wire.MACMask{Command: wire.MaskRead})
}

// EditMask adds and removes MACs, in that order, and returns the list
// after the edit. The list the target answers with is checked against the
// edit: a target may report success and not do it (vblade 25 removes only
// the first MAC of its list), which is an ErrMaskNotApplied.
func (t *Target) EditMask(add, remove []wire.MAC) ([]wire.MAC, error) {
	m := &wire.MACMask{Command: wire.MaskEdit}
	for _, mac := range add {
		m.Directives = append(m.Directives, wire.Directive{Command: wire.DirectiveAdd, MAC: mac})
	}
	for _, mac := range remove {
		m.Directives = append(m.Directives, wire.Directive{Command: wire.DirectiveDelete, MAC: mac})
	}
	macs, err := t.mask(OpEditMask, m)
	if err != nil {
		return nil, err
	}
	var missed []string
	for _, mac := range add {
		if !slices.Contains(macs, mac) && !slices.Contains(remove, mac) {
			missed = append(missed, "did not add "+mac.String())
		}
	}
	for _, mac := range remove {
		if slices.Contains(macs, mac) {
			missed = append(missed, "kept "+mac.String())
		}
	}
	if len(missed) > 0 {
		return macs, &IOError{Target: t.addr, Op: OpEditMask, Err: fmt.Errorf("%w: it %s", ErrMaskNotApplied, strings.Join(missed, ", "))}
	}
	return macs, nil
}

// ErrMaskNotApplied: the target answered a mask edit as done, with a list
// that shows it was not.
var ErrMaskNotApplied = errors.New("the target answered the edit as done but its list shows otherwise")

func (t *Target) mask(op Op, m *wire.MACMask) ([]wire.MAC, error) {
	body, err := t.control(op, wire.CommandMACMask, m, t.probeWindow(maskWindow))
	switch {
	case errors.Is(err, ErrNoAnswer) && op == OpEditMask:
		// vblade 25 dies on a removal that matches its first entry
		// (and skips one that does not).
		return nil, &IOError{Target: t.addr, Op: op, Err: fmt.Errorf("no answer to the edit: the target does not implement the MAC mask list, or died on the edit (vblade 25 does on a removal; restart it)")}
	case errors.Is(err, ErrNoAnswer), errors.Is(err, wire.ErrUnrecognizedCommand):
		return nil, &IOError{Target: t.addr, Op: op, Err: fmt.Errorf("%w: %w", ErrNoMaskList, errors.Unwrap(err))}
	case err != nil:
		return nil, err
	}
	var got wire.MACMask
	if err := got.Unmarshal(body); err != nil {
		return nil, &IOError{Target: t.addr, Op: op, Err: fmt.Errorf("bad MAC mask list answer: %w", err)}
	}
	if got.Error != 0 {
		return nil, &IOError{Target: t.addr, Op: op, Err: MaskError(got.Error)}
	}
	macs := make([]wire.MAC, 0, len(got.Directives))
	for _, d := range got.Directives {
		macs = append(macs, d.MAC)
	}
	return macs, nil
}
