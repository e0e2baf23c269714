package initiator

import (
	"fmt"

	"github.com/goaoe/goaoe/initiator/wire"
)

// Reservation returns the MACs the target is reserved for; empty means
// anyone may use it. A target reserved for others answers their ATA
// commands with wire.ErrTargetReserved. Once Learn found the target
// without reservations it fails at once with ErrNoReservations.
func (t *Target) Reservation() ([]wire.MAC, error) {
	return t.reserve(OpReadReservation, &wire.Reserve{Command: wire.ReserveRead})
}

// Reserve claims the target for macs, so that initiators with other MACs
// are refused; with no MACs it releases the target. It fails with
// wire.ErrTargetReserved if another initiator holds the target.
func (t *Target) Reserve(macs []wire.MAC) error {
	_, err := t.reserve(OpReserve, &wire.Reserve{Command: wire.ReserveSet, MACs: macs})
	return err
}

func (t *Target) reserve(op Op, r *wire.Reserve) ([]wire.MAC, error) {
	if l := t.Learned(); l.Probed && !l.Reservations {
		return nil, &IOError{Target: t.addr, Op: op, Err: fmt.Errorf("%w: %s", ErrNoReservations, l.ReservationProblem)}
	}
	body, err := t.control(op, wire.CommandReserve, r, 0)
	if err != nil {
		return nil, err
	}
	var got wire.Reserve
	if err := got.Unmarshal(body); err != nil {
		return nil, &IOError{Target: t.addr, Op: op, Err: fmt.Errorf("bad reserve/release answer: %w", err)}
	}
	return got.MACs, nil
}
