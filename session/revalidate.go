package session

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"syscall"
	"time"

	"github.com/goaoe/goaoe/initiator"
	"github.com/goaoe/goaoe/nbd"
)

// Revalidation is the outcome of the last revalidation of a session: the
// target asked its size again (ATA IDENTIFY), the device resized to it.
type Revalidation struct {
	At        time.Time `json:"at"`
	FromBytes int64     `json:"from_bytes"` // the device's size before
	SizeBytes int64     `json:"size_bytes"` // the device's size after
	// TargetBytes is what the target now says it has; it differs from
	// SizeBytes when the device was not resized (Error says why).
	TargetBytes int64  `json:"target_bytes"`
	Error       string `json:"error,omitempty"`
}

// RevalidateSignal asks a serving process to revalidate its target.
// SIGHUP, as daemons reread what they serve on it (systemctl reload).
const RevalidateSignal = syscall.SIGHUP

// revalidate asks the target its size again and resizes dev to it. A
// target that now identifies as another disk is not resized: what is on
// the device is not on it.
func revalidate(t *initiator.Target, dev string, opts nbd.Options, logf func(string, ...any)) Revalidation {
	r := Revalidation{At: time.Now()}
	old := t.Identity()
	from, err := nbd.SizeOf(dev)
	if err != nil {
		r.Error = err.Error()
		return r
	}
	r.FromBytes, r.SizeBytes = from, from
	id, err := t.Identify()
	if err != nil {
		r.Error = fmt.Sprintf("the target did not answer IDENTIFY: %v", err)
		return r
	}
	r.TargetBytes = id.Size()
	if old != nil && (id.Model != old.Model || id.Serial != old.Serial) {
		r.Error = fmt.Sprintf("the target now identifies as another disk (model %q serial %q, was %q %q): not resizing %s; aoe-detach it and attach again", id.Model, id.Serial, old.Model, old.Serial, dev)
		return r
	}
	if err := nbd.Resize(dev, id.Size(), opts); err != nil {
		if errors.Is(err, nbd.ErrInUse) {
			// The target refuses I/O past its new end already, and so does
			// the engine; the kernel still shows the old size.
			err = fmt.Errorf("the target shrank from %d to %d bytes: %w", from, id.Size(), err)
		}
		r.Error = err.Error()
		return r
	}
	r.SizeBytes = id.Size()
	if r.SizeBytes != from {
		logf("%s resized from %d to %d bytes: its target's new size", dev, from, r.SizeBytes)
	}
	return r
}

// Revalidate has the serving process of a target (eX.Y) or device
// (/dev/nbdN) ask its target's size again and resize the device to it, and
// waits up to timeout for the outcome.
func Revalidate(which string, timeout time.Duration) (*State, *Revalidation, error) {
	s, err := Find(which)
	if err != nil {
		return nil, nil, err
	}
	if !alive(s.Target) {
		return s, nil, fmt.Errorf("%s: no serving process (%s); aoe-attach %s first", s.Target, s.Reason, s.Target)
	}
	asked := time.Now()
	if err := syscall.Kill(s.PID, RevalidateSignal); err != nil {
		return s, nil, fmt.Errorf("signal serving process %d: %w", s.PID, err)
	}
	deadline := asked.Add(timeout)
	for time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
		var now State
		b, err := os.ReadFile(statePath(s.Target))
		if err != nil || json.Unmarshal(b, &now) != nil {
			continue // being replaced, or detached: asked again below
		}
		if r := now.Revalidated; r != nil && !r.At.Before(asked) {
			return &now, r, nil
		}
		if !alive(s.Target) {
			return s, nil, fmt.Errorf("%s: the serving process ended before it revalidated", s.Target)
		}
	}
	return s, nil, fmt.Errorf("%s: no revalidation within %v (is the target answering? aoe-stat -v %s)", s.Target, timeout, s.Target)
}
