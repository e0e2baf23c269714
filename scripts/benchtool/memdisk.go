//go:build linux

package main

// benchtool memdisk: the NBD ceiling of scripts/bench. An in-memory disk
// (nbdtest.SparseMem: 1 MiB pieces, each allocated by its first write,
// zeros where never written) served as /dev/nbdN through nbd.Attach with
// the options aoe-attach gives its devices (session/serve.go): the same
// server options, request timer, kernel interface and queue tuning, and
// the started path (the backend is a server.Starter, as the AoE engine's
// Target is). The backend answers in the calling goroutine: no network,
// no target, no hand-off, so the same workloads on this device measure
// what the NBD hop alone costs in this guest.

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/goaoe/goaoe/initiator"
	"github.com/goaoe/goaoe/internal/nbdtest"
	"github.com/goaoe/goaoe/nbd"
	"github.com/goaoe/goaoe/nbd/server"
	"github.com/goaoe/goaoe/session"
)

// memdiskTimerSlack is session's RequestTimerSlack: aoe-attach sets the
// kernel's request timer to the AoE deadline plus this.
const memdiskTimerSlack = 4 * time.Second

// memdiskBackend is the netlink backend identifier of the device (in
// /sys/block/nbdN/backend), not one an aoe-attach would take back.
const memdiskBackend = "goaoe-bench:memdisk"

func memdiskCmd(args []string) error {
	fs := flag.NewFlagSet("memdisk", flag.ContinueOnError)
	sizeArg := fs.String("size", "", "disk size: bytes, or with a K, M or G suffix (binary)")
	device := fs.String("device", "", "nbd device to use (default: the first free one)")
	writeThrough := fs.Bool("write-through", false, "serve write-through (no FLUSH offered), as aoe-attach does a target that cannot flush")
	ifaceArg := fs.String("nbd-interface", "auto", "kernel interface to nbd: auto, netlink or ioctl")
	if err := fs.Parse(args); err != nil {
		return exitError{2, err.Error()}
	}
	size, err := parseSize(*sizeArg)
	if err != nil || fs.NArg() != 0 {
		return exitError{2, fmt.Sprintf("memdisk: want --size N[K|M|G], a multiple of 512 (%v)", err)}
	}
	iface, err := nbd.ParseInterface(*ifaceArg)
	if err != nil {
		return exitError{2, err.Error()}
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()

	if err := nbd.LoadModule(); err != nil {
		return err
	}
	if iface, err = iface.Resolve(); err != nil {
		return err
	}
	// The device lock aoe-attach takes from choosing a device until it is
	// set up, so that the two cannot pick the same one.
	unlock, err := lockDevices()
	if err != nil {
		return err
	}
	defer unlock()
	dev := *device
	if dev == "" {
		if dev, err = nbd.FindFree(); err != nil {
			return err
		}
	}
	m := nbdtest.NewSparseMem(size)
	deadline := initiator.DefaultDeadline
	opts := nbd.Options{
		Server:          server.Options{Size: size, WriteThrough: *writeThrough},
		Timeout:         deadline + session.RequestTimerSlack,
		Interface:       iface,
		DeadConnTimeout: deadline,
		Backend:         memdiskBackend,
		Ready: func() {
			unlock()
			if err := nbd.Tune(dev); err != nil {
				fmt.Fprintf(os.Stderr, "benchtool: memdisk: %v\n", err)
			}
			fmt.Fprintf(os.Stderr, "benchtool: memdisk: %d bytes in memory as %s (nbd %s, pid %d)\n", size, dev, iface, os.Getpid())
			fmt.Println(dev)
		},
	}
	err = nbd.Attach(ctx, dev, m, opts)
	fmt.Fprintf(os.Stderr, "benchtool: memdisk: %s detached: %d reads, %d writes (%d started), %d flushes; %d MiB held\n",
		dev, m.Reads.Load(), m.Writes.Load(), m.Started.Load(), m.Flushes.Load(), m.Allocated()>>20)
	if err != nil {
		return fmt.Errorf("memdisk: %w", err)
	}
	return nil
}

// lockDevices takes session's devices.lock; the function returned
// releases it (once, however often it is called).
func lockDevices() (func(), error) {
	if err := os.MkdirAll(session.RunDir, 0o755); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(filepath.Join(session.RunDir, "devices.lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, err
	}
	for {
		err = unix.Flock(int(f.Fd()), unix.LOCK_EX)
		if !errors.Is(err, unix.EINTR) {
			break
		}
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("memdisk: lock %s: %w", f.Name(), err)
	}
	done := false
	return func() {
		if !done {
			done = true
			f.Close()
		}
	}, nil
}
