//go:build linux

package nbd

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// BackendOf returns the backend identifier the kernel holds for devPath
// (/sys/block/nbdN/backend), "" if the device is not set up through
// netlink with one. The kernel keeps it, and the device, while the server
// is gone, so it names what the device belongs to.
func BackendOf(devPath string) (string, error) {
	name, err := deviceName(devPath)
	if err != nil {
		return "", err
	}
	return backendOf(name)
}

func backendOf(name string) (string, error) {
	b, err := os.ReadFile(filepath.Join(sysBlockDir, name, "backend"))
	if errors.Is(err, fs.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(string(b)), nil
}

// FindBackend returns the device set up with backend identifier id, if
// any: where a server that died left its disk for the next one.
func FindBackend(id string) (string, bool, error) {
	entries, err := os.ReadDir(sysBlockDir)
	if err != nil {
		return "", false, err
	}
	var indexes []int
	for _, e := range entries {
		if i, ok := nbdIndex(e.Name()); ok {
			indexes = append(indexes, i)
		}
	}
	slices.Sort(indexes)
	for _, i := range indexes {
		name := "nbd" + strconv.Itoa(i)
		if b, err := backendOf(name); err == nil && b == id {
			return filepath.Join(devDir, name), true, nil
		}
	}
	return "", false, nil
}

// SizeOf returns the size of devPath in bytes, as the kernel has it.
func SizeOf(devPath string) (int64, error) {
	name, err := deviceName(devPath)
	if err != nil {
		return 0, err
	}
	b, err := os.ReadFile(filepath.Join(sysBlockDir, name, "size"))
	if err != nil {
		return 0, fmt.Errorf("nbd: %w", err)
	}
	sectors, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("nbd: %s size: %w", name, err)
	}
	return sectors * 512, nil
}
