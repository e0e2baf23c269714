package initiator

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/goaoe/goaoe/initiator/wire"
)

// Learned is what asking a target taught the engine, beyond what its
// IDENTIFY and config answers claim. Real targets differ from vblade where
// the kernel driver never looks: some drop commands they do not implement
// without a word, some abort the flush IDENTIFY claims, some refuse every
// write. Learn finds the first two out at attach time, cheaply and without
// writing anything; the third shows at the first write.
type Learned struct {
	// Probed says Learn ran; before it, Flush uses the command IDENTIFY
	// claims and Reservation asks the target.
	Probed bool
	// FlushCommand is the flush that works: wire.ATAFlushCacheExt,
	// wire.ATAFlushCache, or 0 when none does (the target cannot be told
	// to put its cache on stable storage).
	FlushCommand uint8
	// FlushProblem says, when FlushCommand is 0 or not the one IDENTIFY
	// claims, what each flush tried got.
	FlushProblem string
	// Reservations says the target answers Reserve/Release; if not,
	// ReservationProblem says how it failed to.
	Reservations       bool
	ReservationProblem string
	// WritesRefused says a write was aborted (ATA ABRT): the target is
	// exported read-only, and writes now fail at once.
	WritesRefused bool
}

// FlushName is how tools show a flush command: "0xea", "0xe7" or "none".
func FlushName(cmd uint8) string {
	if cmd == 0 {
		return "none"
	}
	return fmt.Sprintf("%#02x", cmd)
}

// Errors of the probes and of a target that refuses writes.
var (
	// ErrNoAnswer: a probe got no answer in its short window. For a
	// command the target does not implement that is an answer too.
	ErrNoAnswer = errors.New("no answer")
	// ErrNoReservations: the target does not implement Reserve/Release.
	ErrNoReservations = errors.New("the target has no reservations (it does not implement AoE Reserve/Release)")
	// ErrWritesRefused: the target aborted a write, as targets exported
	// read-only do; later writes fail at once instead of being sent.
	ErrWritesRefused = errors.New("the target refuses writes (ATA ABRT): it is probably exported read-only (vblade -r); detach, then attach with --read-only or export it read-write")
)

// Probe windows: how long a probe waits for an answer before taking the
// silence as one. A target that answers at all does so in milliseconds; a
// flush gets longer, for a real disk's cache. Each window is also at most
// half the deadline, so that a probe never outlives it.
const (
	reserveProbeWindow = 2 * time.Second
	flushProbeWindow   = 5 * time.Second
	// probeTries is how many sends a probe makes in its window: a lost
	// frame must not pass for silence.
	probeTries = 4
)

// Learn probes what the target really does: whether it answers
// Reserve/Release and which flush command works (FLUSH CACHE EXT where
// IDENTIFY claims it, else FLUSH CACHE). A probe's silence never counts
// against a path or the target's deadline. It needs Identify first. The
// error is for a target that cannot be asked at all (dead, closed);
// what the target does not do is in the result.
func (t *Target) Learn() (Learned, error) {
	id := t.Identity()
	if id == nil {
		return Learned{}, &IOError{Target: t.addr, Op: OpLearn, Err: ErrNotIdentified}
	}
	l := Learned{Probed: true}
	_, err := t.control(OpReadReservation, wire.CommandReserve, &wire.Reserve{Command: wire.ReserveRead}, t.probeWindow(reserveProbeWindow))
	switch {
	case err == nil:
		l.Reservations = true
	case errors.Is(err, ErrDead), errors.Is(err, ErrClosed):
		return Learned{}, err
	case errors.Is(err, ErrNoAnswer):
		l.ReservationProblem = "no answer to Reserve/Release"
	case errors.Is(err, wire.ErrUnrecognizedCommand):
		l.ReservationProblem = "it answers Reserve/Release with AoE error 1 (unrecognized command)"
	default:
		l.ReservationProblem = errors.Unwrap(err).Error()
	}

	var tried []string
	for _, cmd := range flushCandidates(id) {
		err := t.flushWith(cmd, t.probeWindow(flushProbeWindow))
		if err == nil {
			l.FlushCommand = cmd
			break
		}
		if errors.Is(err, ErrDead) || errors.Is(err, ErrClosed) {
			return Learned{}, err
		}
		tried = append(tried, fmt.Sprintf("%s: %v", flushLabel(cmd), errors.Unwrap(err)))
	}
	l.FlushProblem = strings.Join(tried, "; ")

	t.mu.Lock()
	l.WritesRefused = t.learned.WritesRefused
	t.learned = l
	t.mu.Unlock()
	return l, nil
}

// Learned returns what Learn and the target's answers taught so far.
func (t *Target) Learned() Learned {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.learned
}

// flushCandidates are the flushes to try, best first: EXT only where
// IDENTIFY claims it (vblade aborts it), then FLUSH CACHE even if nothing
// is claimed, since a flush that works is worth having and one that does
// not costs one aborted command.
func flushCandidates(id *Identity) []uint8 {
	if id.FlushCommand == wire.ATAFlushCacheExt {
		return []uint8{wire.ATAFlushCacheExt, wire.ATAFlushCache}
	}
	return []uint8{wire.ATAFlushCache}
}

func flushLabel(cmd uint8) string {
	if cmd == wire.ATAFlushCacheExt {
		return "FLUSH CACHE EXT (0xea)"
	}
	return "FLUSH CACHE (0xe7)"
}

// probeWindow is a probe's window, at most half the deadline.
func (t *Target) probeWindow(w time.Duration) time.Duration {
	return min(w, t.ini.opts.Deadline/2)
}

// flushCommandLocked is the flush Flush sends: the learned one once Learn
// ran, else the one IDENTIFY claims.
func (t *Target) flushCommandLocked() uint8 {
	switch {
	case t.learned.Probed:
		return t.learned.FlushCommand
	case t.ident != nil:
		return t.ident.FlushCommand
	}
	return 0
}

// writesRefusedLocked records a write the target aborted and returns the
// error its request fails with. The first one is worth a line in the log:
// it is the only sign a read-only export gives.
func (t *Target) writesRefusedLocked(cause *ATAError) error {
	if !t.learned.WritesRefused {
		t.learned.WritesRefused = true
		t.ini.opts.Logf("%s: the target refused a write (%v): it is probably exported read-only; further writes fail at once", t.addr, cause)
	}
	return fmt.Errorf("%w: %w", ErrWritesRefused, cause)
}

// isStatusEcho reports whether a failed-looking ATA reply is a completed
// command from a target that does not fill in the status register and
// copies the command byte back instead. Only for the flushes, which carry
// no data: 0xE7 and 0xEA read as BSY|DF|ERR, and BSY says the rest of the
// register is not valid at all, so no device means it as an error. A real
// failure (ERR with a plausible status such as 0x51) is not an echo.
func isStatusEcho(sent uint8, a *wire.ATA) bool {
	return (sent == wire.ATAFlushCache || sent == wire.ATAFlushCacheExt) && a.CmdStatus == sent
}

// probeTimeoutLocked handles a probe frame whose try timed out (it is out
// of flight already): sent again while its window lasts, failed with
// ErrNoAnswer after. Neither touches the path's loss counts, window or
// ejection: a command the target ignores says nothing about the link.
func (t *Target) probeTimeoutLocked(f *frame, now time.Time) {
	if now.Before(f.req.probeUntil) {
		t.requeueLocked(f)
		return
	}
	f.req.fail(&IOError{Target: t.addr, Op: f.op, Err: ErrNoAnswer})
	t.finishLocked(f)
}

// probeFor makes the request a probe with the given window (none if 0).
func (r *request) probeFor(window time.Duration) {
	if window > 0 {
		r.probeUntil, r.probeTry = time.Now().Add(window), window/probeTries
	}
}
