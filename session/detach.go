package session

import (
	"errors"
	"fmt"
	"os"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/goaoe/goaoe/nbd"
)

// Detach ends the session of a target or device: the serving process is
// told to stop (it flushes, then disconnects) and Detach waits for it to be
// gone. A session whose process died is cleaned up: its device is
// disconnected if the kernel still holds it, and its files removed.
func Detach(which string, timeout time.Duration) (*State, error) {
	s, err := Find(which)
	if err != nil {
		return nil, err
	}
	if alive(s.Target) {
		if err := syscall.Kill(s.PID, syscall.SIGTERM); err != nil && !errors.Is(err, syscall.ESRCH) {
			return s, fmt.Errorf("signal serving process %d: %w", s.PID, err)
		}
		if err := waitGone(s.Target, timeout); err != nil {
			return s, err
		}
	} else if _, busy, err := nbd.InUse(s.Device); err == nil && busy {
		if err := nbd.Disconnect(s.Device); err != nil {
			return s, err
		}
	}
	forget(s)
	markDetached(s.Target)
	return s, nil
}

// forget removes what a session left on the host once it is over: its
// state file and /dev/etherd link. Never the lock file: another
// aoe-attach may hold it already, and a third one would then lock a new
// file of the same name beside it, and two would serve the target.
func forget(s *State) {
	os.Remove(statePath(s.Target))
	removeLink("/dev/etherd/"+s.Target, s.Device)
}

// waitGone waits until no process holds the target's lock.
func waitGone(target string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for alive(target) {
		if time.Now().After(deadline) {
			return fmt.Errorf("%s: serving process still running after %v (flushing to a slow or dead target?); it will stop when its AoE deadline passes", target, timeout)
		}
		time.Sleep(50 * time.Millisecond)
	}
	return nil
}

// flockWait takes an exclusive lock, waiting for it.
func flockWait(f *os.File) error {
	for {
		err := unix.Flock(int(f.Fd()), unix.LOCK_EX)
		if !errors.Is(err, unix.EINTR) {
			return err
		}
	}
}
