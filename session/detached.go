package session

import (
	"os"
	"path/filepath"
)

// A person's detach is remembered until the target is attached again, so
// that auto-attach (aoe-attach --auto) does not undo it. The mark lives
// in RunDir: a reboot forgets it, as it forgets the attachments.

func detachedPath(target string) string { return filepath.Join(RunDir, target+".detached") }

// markDetached remembers that target was detached on purpose.
func markDetached(target string) {
	if f, err := os.Create(detachedPath(target)); err == nil {
		f.Close()
	}
}

// clearDetached forgets it: the target is being attached again.
func clearDetached(target string) { os.Remove(detachedPath(target)) }

// WasDetached reports whether a person detached target and nobody has
// attached it since.
func WasDetached(target string) bool {
	_, err := os.Stat(detachedPath(target))
	return err == nil
}
