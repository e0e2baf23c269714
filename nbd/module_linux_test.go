//go:build linux

package nbd

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

func release(t *testing.T) string {
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		t.Fatal(err)
	}
	return unix.ByteSliceToString(u.Release[:])
}

func TestLoadModuleAlreadyThere(t *testing.T) {
	_, add := fakeSys(t)
	add("nbd0", "0", 0)
	if err := loadModule(t.TempDir()); err != nil {
		t.Fatalf("LoadModule with /dev/nbd0 present: %v", err)
	}
}

func TestLoadModuleNoModuleTree(t *testing.T) {
	fakeSys(t)
	dir := t.TempDir()
	err := loadModule(dir)
	rel := release(t)
	if err == nil {
		t.Fatal("LoadModule succeeded without modules")
	}
	t.Log(err)
	for _, want := range []string{rel, filepath.Join(dir, rel, "modules.dep"), "modprobe nbd", filepath.Join(devDir, "nbd0")} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
}

func TestLoadModuleNotBuilt(t *testing.T) {
	fakeSys(t)
	modules := t.TempDir()
	dir := filepath.Join(modules, release(t))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	write(t, filepath.Join(dir, "modules.dep"), "kernel/drivers/block/loop.ko.zst:\n")
	err := loadModule(modules)
	t.Log(err)
	if err == nil || !strings.Contains(err.Error(), "no nbd module") || !strings.Contains(err.Error(), release(t)) {
		t.Fatalf("LoadModule on a kernel without nbd: %v", err)
	}
}
