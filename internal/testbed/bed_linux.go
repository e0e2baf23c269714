package testbed

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// dieWithParent makes a child get SIGKILL when the test binary dies, so no
// vblade outlives a test even when cleanups do not run.
func dieWithParent() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}

// inNamespace runs fn with the calling goroutine's thread in the network
// namespace at path, then moves it back. If it cannot move back, the thread
// stays locked to the goroutine and is destroyed when the goroutine ends.
func inNamespace(path string, fn func()) (err error) {
	runtime.LockOSThread()
	orig, err := os.Open("/proc/thread-self/ns/net")
	if err != nil {
		runtime.UnlockOSThread()
		return err
	}
	defer orig.Close()
	ns, err := os.Open(path)
	if err != nil {
		runtime.UnlockOSThread()
		return err
	}
	defer ns.Close()
	if err := unix.Setns(int(ns.Fd()), unix.CLONE_NEWNET); err != nil {
		runtime.UnlockOSThread()
		return fmt.Errorf("entering %s: %w", path, err)
	}
	defer func() {
		// Runs even when fn calls t.FailNow.
		if rerr := unix.Setns(int(orig.Fd()), unix.CLONE_NEWNET); rerr != nil {
			err = fmt.Errorf("leaving %s: %w (thread discarded)", path, rerr)
			return // keep the thread locked: it must not be reused
		}
		runtime.UnlockOSThread()
	}()
	fn()
	return nil
}

// sweepStale deletes the namespaces of test binaries that died before their
// cleanups ran (killed by a timeout, say). Deleting a namespace deletes the
// veth pairs into it.
func sweepStale() {
	entries, err := os.ReadDir("/run/netns")
	if err != nil {
		return
	}
	for _, e := range entries {
		rest, ok := strings.CutPrefix(e.Name(), nsPrefix)
		if !ok {
			continue
		}
		pidText, _, _ := strings.Cut(rest, "-")
		pid, err := strconv.Atoi(pidText)
		if err != nil || pid == os.Getpid() {
			continue
		}
		if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
			_ = exec.Command("ip", "netns", "del", e.Name()).Run()
		}
	}
}
