package session

import (
	"strings"
	"testing"
	"time"
)

// useRunDir points the sessions' files at a directory of the test's own.
func useRunDir(t *testing.T) {
	t.Helper()
	old := RunDir
	RunDir = t.TempDir()
	t.Cleanup(func() { RunDir = old })
}

// While a server holds a target's lock, a second attach is refused, and
// cleaning up after a session (as aoe-detach does) must not change that:
// it once unlinked the lock file, so that a third attach locked a new
// file of the same name and two processes served one target.
func TestLockHeldThroughCleanup(t *testing.T) {
	useRunDir(t)
	first, err := lock("e1.2")
	if err != nil {
		t.Fatal(err)
	}
	defer first.Close()
	if err := writeState(&State{Target: "e1.2", Device: "/dev/nbd0", PID: 1, Updated: time.Now()}); err != nil {
		t.Fatal(err)
	}
	if _, err := lock("e1.2"); err == nil || !strings.Contains(err.Error(), "already attached") {
		t.Fatalf("second lock while the first is held: %v, want 'already attached'", err)
	}
	forget(&State{Target: "e1.2", Device: "/dev/nbd0"})
	if f, err := lock("e1.2"); err == nil {
		f.Close()
		t.Fatal("after cleanup a second lock was granted while the first is held")
	}
	if !alive("e1.2") {
		t.Error("the holder of the lock is not seen as alive")
	}
	// Once the holder is gone (a crash closes its files), attaching again
	// is accepted: no stale lock refuses it.
	first.Close()
	again, err := lock("e1.2")
	if err != nil {
		t.Fatalf("lock after the holder is gone: %v", err)
	}
	again.Close()
}
