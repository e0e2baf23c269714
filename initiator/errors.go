package initiator

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/goaoe/goaoe/initiator/wire"
)

// Addr is a target's AoE address, shelf and slot, written eSHELF.SLOT.
type Addr struct {
	Shelf uint16
	Slot  uint8
}

func (a Addr) String() string { return fmt.Sprintf("e%d.%d", a.Shelf, a.Slot) }

// ParseAddr reads "e1.2" (the leading e may be left out).
func ParseAddr(s string) (Addr, error) {
	t := strings.TrimPrefix(s, "e")
	shelf, slot, ok := strings.Cut(t, ".")
	if ok {
		sh, err1 := strconv.ParseUint(shelf, 10, 16)
		sl, err2 := strconv.ParseUint(slot, 10, 8)
		if err1 == nil && err2 == nil && sh != wire.BroadcastShelf && sl != wire.BroadcastSlot {
			return Addr{Shelf: uint16(sh), Slot: uint8(sl)}, nil
		}
	}
	return Addr{}, fmt.Errorf("bad AoE target %q: want eSHELF.SLOT, shelf 0-65534, slot 0-254, e.g. e1.2", s)
}

// Errors an IOError can wrap besides wire.Error and *ATAError.
var (
	// ErrDead: the target answered nothing for the deadline.
	ErrDead = errors.New("target is dead: no answer within the deadline")
	// ErrRange: the request reaches past the end of the target.
	ErrRange = errors.New("beyond the end of the target")
	// ErrUnaligned: offsets and lengths must be whole 512-byte sectors.
	ErrUnaligned = errors.New("offset or length is not a multiple of 512")
	// ErrClosed: the initiator was closed.
	ErrClosed = errors.New("initiator closed")
	// ErrNotIdentified: I/O before Identify; the size is not known.
	ErrNotIdentified = errors.New("target not identified yet")
)

// Op is what a request does, as errors and logs name it.
type Op uint8

const (
	OpRead Op = iota
	OpWrite
	OpFlush
	OpIdentify
	OpReadReservation
	OpReserve
	OpLearn
	OpReadMask
	OpEditMask
)

var opNames = [...]string{
	OpRead:            "read",
	OpWrite:           "write",
	OpFlush:           "flush",
	OpIdentify:        "identify",
	OpReadReservation: "read reservation",
	OpReserve:         "reserve",
	OpLearn:           "learn",
	OpReadMask:        "read MAC mask list",
	OpEditMask:        "edit MAC mask list",
}

func (o Op) String() string {
	if int(o) < len(opNames) {
		return opNames[o]
	}
	return fmt.Sprintf("op %d", uint8(o))
}

// data says the op moves sectors, so its errors name where.
func (o Op) data() bool { return o == OpRead || o == OpWrite }

// IOError is a failed request: which target, what, where, and why.
type IOError struct {
	Target  Addr
	Op      Op
	LBA     uint64
	Sectors int
	Err     error
}

func (e *IOError) Error() string {
	if !e.Op.data() {
		return fmt.Sprintf("%s: %s: %v", e.Target, e.Op, e.Err)
	}
	return fmt.Sprintf("%s: %s of %d sectors at LBA %d: %v", e.Target, e.Op, e.Sectors, e.LBA, e.Err)
}

func (e *IOError) Unwrap() error { return e.Err }

// ATAError is a reply whose ATA status reports a failure.
type ATAError struct {
	Status uint8
	// Err is the ATA error register.
	Err uint8
}

// aborted reports an ERR status with ABRT in the error register: the
// device refused the command (unsupported, or a write to a read-only
// export).
func (e *ATAError) aborted() bool {
	return e.Status&wire.ATAStatusErr != 0 && e.Err&wire.ATAErrorABRT != 0
}

func (e *ATAError) Error() string {
	var why []string
	if e.Status&wire.ATAStatusErr != 0 {
		switch {
		case e.Err&wire.ATAErrorIDNF != 0:
			why = append(why, "sector not found (IDNF)")
		case e.Err&wire.ATAErrorUNC != 0:
			why = append(why, "uncorrectable data (UNC)")
		case e.Err&wire.ATAErrorABRT != 0:
			why = append(why, "command aborted (ABRT): unsupported, or the target is read-only")
		}
	}
	if e.Status&wire.ATAStatusDF != 0 {
		why = append(why, "device fault")
	}
	if e.Status&(wire.ATAStatusBSY|wire.ATAStatusDRQ) != 0 {
		why = append(why, "device busy")
	}
	if len(why) == 0 {
		why = append(why, "error")
	}
	return fmt.Sprintf("ATA %s (status 0x%02x, error 0x%02x)", strings.Join(why, ", "), e.Status, e.Err)
}
