package nbd

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// fakeSys points the package at a fake /sys/block and /dev under a
// temporary directory, and returns a function that adds a device.
func fakeSys(t *testing.T) (root string, add func(name, size string, pid int)) {
	t.Helper()
	root = t.TempDir()
	oldSys, oldDev := sysBlockDir, devDir
	sysBlockDir, devDir = filepath.Join(root, "sys", "block"), filepath.Join(root, "dev")
	t.Cleanup(func() { sysBlockDir, devDir = oldSys, oldDev })
	for _, d := range []string{sysBlockDir, devDir} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	add = func(name, size string, pid int) {
		dir := filepath.Join(sysBlockDir, name)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		write(t, filepath.Join(dir, "size"), size+"\n")
		if pid != 0 {
			write(t, filepath.Join(dir, "pid"), strconv.Itoa(pid)+"\n")
		}
		write(t, filepath.Join(devDir, name), "")
	}
	return root, add
}

func write(t *testing.T, path, s string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestFindFree(t *testing.T) {
	_, add := fakeSys(t)
	add("loop0", "0", 0)
	add("nbd0", "2048", 4242) // served
	add("nbd1", "8", 0)       // left with a size: not free
	add("nbd10", "0", 0)      // free, but after nbd2 in numeric order
	add("nbd2", "0", 0)
	if err := os.MkdirAll(filepath.Join(sysBlockDir, "nbd0p1"), 0o755); err != nil { // a partition
		t.Fatal(err)
	}
	got, err := FindFree()
	if want := filepath.Join(devDir, "nbd2"); err != nil || got != want {
		t.Fatalf("FindFree = %q, %v; want %q", got, err, want)
	}
}

func TestFindFreeNone(t *testing.T) {
	_, add := fakeSys(t)
	if _, err := FindFree(); err == nil || !strings.Contains(err.Error(), "LoadModule") {
		t.Errorf("no devices: %v, want a hint to load the module", err)
	}
	add("nbd0", "0", 17)
	add("nbd1", "0", 18)
	if _, err := FindFree(); !errors.Is(err, ErrNoFreeDevice) {
		t.Errorf("all busy: %v, want ErrNoFreeDevice", err)
	}
}

func TestInUse(t *testing.T) {
	root, add := fakeSys(t)
	add("nbd0", "2048", 4242)
	add("nbd3", "0", 0)

	pid, used, err := InUse(filepath.Join(devDir, "nbd0"))
	if err != nil || !used || pid != 4242 {
		t.Errorf("nbd0: %d, %v, %v; want 4242, true", pid, used, err)
	}
	if _, used, err := InUse(filepath.Join(devDir, "nbd3")); err != nil || used {
		t.Errorf("nbd3: %v, %v; want free", used, err)
	}
	link := filepath.Join(root, "by-name")
	if err := os.Symlink(filepath.Join(devDir, "nbd0"), link); err != nil {
		t.Fatal(err)
	}
	if pid, _, err := InUse(link); err != nil || pid != 4242 {
		t.Errorf("through a symlink: %d, %v", pid, err)
	}
	if _, _, err := InUse(filepath.Join(devDir, "nbd9")); err == nil {
		t.Error("unknown device accepted")
	}
	for _, p := range []string{"/dev/sda", "/dev/nbd0p1", "/dev/nbd", "/dev/nbdx"} {
		if _, _, err := InUse(p); err == nil {
			t.Errorf("%s accepted as an nbd device", p)
		}
	}
	write(t, filepath.Join(sysBlockDir, "nbd3", "pid"), "garbage")
	if _, _, err := InUse(filepath.Join(devDir, "nbd3")); err == nil {
		t.Error("unreadable pid accepted")
	}
}

func TestTune(t *testing.T) {
	_, add := fakeSys(t)
	add("nbd0", "2097152", 1)
	q := filepath.Join(sysBlockDir, "nbd0", "queue")
	if err := os.MkdirAll(q, 0o755); err != nil {
		t.Fatal(err)
	}
	read := func(f string) string {
		b, err := os.ReadFile(filepath.Join(q, f))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	write(t, filepath.Join(q, "max_hw_sectors_kb"), "32768\n")
	write(t, filepath.Join(q, "max_sectors_kb"), "128\n")
	write(t, filepath.Join(q, "read_ahead_kb"), "128\n")
	if err := Tune(filepath.Join(devDir, "nbd0")); err != nil {
		t.Fatal(err)
	}
	if got, got2 := read("max_sectors_kb"), read("read_ahead_kb"); got != "1280" || got2 != "4096" {
		t.Fatalf("max_sectors_kb %q, read_ahead_kb %q: want the aoe driver's 1280 and 4096", got, got2)
	}
	// Never past what the device allows.
	write(t, filepath.Join(q, "max_hw_sectors_kb"), "512\n")
	if err := Tune(filepath.Join(devDir, "nbd0")); err != nil {
		t.Fatal(err)
	}
	if got := read("max_sectors_kb"); got != "512" {
		t.Fatalf("max_sectors_kb %q with a 512 KiB device limit", got)
	}
	// Values already set are not written again: on 6.12 each write waits
	// for the requests a dead server left in flight.
	old := time.Unix(1e9, 0)
	for _, f := range []string{"max_sectors_kb", "read_ahead_kb"} {
		if err := os.Chtimes(filepath.Join(q, f), old, old); err != nil {
			t.Fatal(err)
		}
	}
	if err := Tune(filepath.Join(devDir, "nbd0")); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"max_sectors_kb", "read_ahead_kb"} {
		if fi, err := os.Stat(filepath.Join(q, f)); err != nil || !fi.ModTime().Equal(old) {
			t.Errorf("%s written again with its value already set", f)
		}
	}
	if err := Tune(filepath.Join(devDir, "sda")); err == nil {
		t.Fatal("Tune of a non-nbd device did not fail")
	}
}
