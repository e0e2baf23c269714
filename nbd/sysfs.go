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

	"github.com/goaoe/goaoe/nbd/server"
)

// Where the kernel shows nbd devices. Variables so that tests can point
// them at a fake tree.
var (
	sysBlockDir = "/sys/block"
	devDir      = "/dev"
)

// ErrNoFreeDevice is returned by FindFree when every nbd device is taken.
var ErrNoFreeDevice = errors.New("nbd: no free nbd device")

// FindFree returns the first /dev/nbdN, in numeric order, that no process
// serves (no /sys/block/nbdN/pid) and that has no size left over (size 0).
// Another process can take it between FindFree and Attach; Attach checks
// again, but only the netlink interface closes that window for good.
func FindFree() (string, error) {
	entries, err := os.ReadDir(sysBlockDir)
	if err != nil {
		return "", fmt.Errorf("nbd: list block devices: %w", err)
	}
	var indexes []int
	for _, e := range entries {
		if i, ok := nbdIndex(e.Name()); ok {
			indexes = append(indexes, i)
		}
	}
	if len(indexes) == 0 {
		return "", fmt.Errorf("nbd: no nbd devices in %s (is the nbd module loaded? see LoadModule)", sysBlockDir)
	}
	slices.Sort(indexes) // ReadDir sorts by name, which puts nbd10 before nbd2
	for _, i := range indexes {
		name := "nbd" + strconv.Itoa(i)
		_, running, err := devicePID(name)
		if err != nil {
			return "", err
		}
		if running {
			continue
		}
		size, err := os.ReadFile(filepath.Join(sysBlockDir, name, "size"))
		if err != nil {
			return "", fmt.Errorf("nbd: %w", err)
		}
		if strings.TrimSpace(string(size)) == "0" {
			return filepath.Join(devDir, name), nil
		}
	}
	return "", fmt.Errorf("%w: all %d are in use", ErrNoFreeDevice, len(indexes))
}

// InUse reports whether a process serves devPath, and which: the pid file
// holds the kernel task id of the thread blocked in NBD_DO_IT, which for a
// multi-threaded program (any Go program) is a thread id, not getpid().
// That is the number nbd-client -c prints.
func InUse(devPath string) (pid int, inUse bool, err error) {
	name, err := deviceName(devPath)
	if err != nil {
		return 0, false, err
	}
	if _, err := os.Stat(filepath.Join(sysBlockDir, name)); err != nil {
		return 0, false, fmt.Errorf("nbd: no device %s in %s (is the nbd module loaded? see LoadModule): %w",
			name, sysBlockDir, err)
	}
	return devicePID(name)
}

// devicePID reads /sys/block/<name>/pid, which exists exactly while
// NBD_DO_IT runs.
func devicePID(name string) (int, bool, error) {
	b, err := os.ReadFile(filepath.Join(sysBlockDir, name, "pid"))
	if errors.Is(err, fs.ErrNotExist) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, fmt.Errorf("nbd: %w", err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		return 0, true, fmt.Errorf("nbd: %s pid file: %w", name, err)
	}
	return pid, true, nil
}

// deviceName maps a device path (possibly a symlink such as one from udev)
// to its name under /sys/block: "/dev/nbd3" -> "nbd3".
func deviceName(devPath string) (string, error) {
	p, err := filepath.EvalSymlinks(devPath)
	if err != nil {
		p = devPath // a missing node still names its sysfs entry
	}
	name := filepath.Base(p)
	if _, ok := nbdIndex(name); !ok {
		return "", fmt.Errorf("nbd: %s is not an nbd device (want /dev/nbdN)", devPath)
	}
	return name, nil
}

// nbdIndex parses "nbdN"; partitions ("nbd0p1") are not devices.
func nbdIndex(name string) (int, bool) {
	digits, ok := strings.CutPrefix(name, "nbd")
	if !ok || digits == "" || strings.Trim(digits, "0123456789") != "" {
		return 0, false
	}
	i, err := strconv.Atoi(digits)
	return i, err == nil
}

// Queue limits Tune sets, as the kernel's own aoe driver sets them for its
// devices: the nbd driver leaves 128 KiB requests and 128 KiB read-ahead,
// which cuts a 1 MiB O_DIRECT write into eight requests (each ending in a
// short frame) and a sequential buffered read into small steps.
const (
	TunedMaxSectorsKB = 1280
	TunedReadAheadKB  = 4096
)

// QueueDepth is how many requests the kernel may have outstanding on a
// device (nr_requests; the nbd driver's own is 128): as many as one
// connection serves at once (server.DefaultWorkers). The rest wait in the
// kernel, where their request timer does not run out on them, rather than
// in a socket or behind our workers, where it does; and the kernel's end
// of the socket can hold all of them (kernelSendBuffer).
const QueueDepth = server.DefaultWorkers

// limitQueue sets the device's nr_requests to QueueDepth. Best effort: a
// kernel that refuses leaves the deeper queue, which is slower to recover
// from a dead server, not less safe.
func limitQueue(name string) {
	_ = setQueue(filepath.Join(sysBlockDir, name, "queue"), "nr_requests", QueueDepth)
}

// setQueue writes a queue attribute only if it differs. Newer kernels
// (6.12) freeze the queue for such a write, which waits for every request
// in flight; on a device a dead server left, those end only when their
// request timer runs out, so a needless write on reconnecting stalls the
// disk by that much longer.
func setQueue(q, file string, v int) error {
	p := filepath.Join(q, file)
	if b, err := os.ReadFile(p); err == nil && strings.TrimSpace(string(b)) == strconv.Itoa(v) {
		return nil
	}
	return os.WriteFile(p, []byte(strconv.Itoa(v)), 0)
}

// Tune raises the request size (max_sectors_kb, at most what the device
// allows) and read-ahead of devPath's queue to the kernel aoe driver's.
func Tune(devPath string) error {
	name, err := deviceName(devPath)
	if err != nil {
		return err
	}
	q := filepath.Join(sysBlockDir, name, "queue")
	maxKB := TunedMaxSectorsKB
	if b, err := os.ReadFile(filepath.Join(q, "max_hw_sectors_kb")); err == nil {
		if hw, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && hw > 0 {
			maxKB = min(maxKB, hw)
		}
	}
	for _, set := range []struct {
		file string
		kb   int
	}{{"max_sectors_kb", maxKB}, {"read_ahead_kb", TunedReadAheadKB}} {
		if err := setQueue(q, set.file, set.kb); err != nil {
			return fmt.Errorf("nbd: set %s of %s: %w", set.file, name, err)
		}
	}
	return nil
}
