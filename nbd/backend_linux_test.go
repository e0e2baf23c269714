//go:build linux

package nbd

import (
	"path/filepath"
	"testing"
)

// A device a dead server left is found by its backend identifier, and
// only by its own: a new server must never take another target's disk.
func TestFindBackend(t *testing.T) {
	_, add := fakeSys(t)
	add("nbd0", "0", 0)
	add("nbd2", "2048", 41)
	add("nbd10", "4096", 42)
	write(t, filepath.Join(sysBlockDir, "nbd2", "backend"), "aoe:e1.2\n")
	write(t, filepath.Join(sysBlockDir, "nbd10", "backend"), "aoe:e1.10\n")

	for _, tc := range []struct {
		id, dev string
		ok      bool
	}{
		{"aoe:e1.2", filepath.Join(devDir, "nbd2"), true},
		{"aoe:e1.10", filepath.Join(devDir, "nbd10"), true},
		{"aoe:e1.1", "", false},
		{"aoe:e1", "", false},
	} {
		dev, ok, err := FindBackend(tc.id)
		if err != nil || ok != tc.ok || dev != tc.dev {
			t.Errorf("FindBackend(%q) = %q, %v, %v; want %q, %v", tc.id, dev, ok, err, tc.dev, tc.ok)
		}
	}
	if b, err := BackendOf(filepath.Join(devDir, "nbd0")); err != nil || b != "" {
		t.Errorf("BackendOf(nbd0) = %q, %v; want none", b, err)
	}
	if n, err := SizeOf(filepath.Join(devDir, "nbd10")); err != nil || n != 4096*512 {
		t.Errorf("SizeOf(nbd10) = %d, %v; want %d", n, err, 4096*512)
	}
}
