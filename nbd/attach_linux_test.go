//go:build linux

package nbd

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/goaoe/goaoe/internal/nbdtest"
	"github.com/goaoe/goaoe/nbd/server"
)

// fakeKernel stands in for an open /dev/nbdN: it takes the ioctls Attach
// issues and plays the kernel's part on the sockets it is handed, the way
// drivers/block/nbd.c does: SET_SOCK gives it a connection, DO_IT publishes
// the pid file and waits until every connection has ended, DISCONNECT sends
// DISC on each, CLEAR_SOCK shuts them.
type fakeKernel struct {
	t    *testing.T
	name string

	failOn uint // an ioctl to refuse with EINVAL

	mu      sync.Mutex
	events  []string // ioctls (name and argument) and backend flushes, in order
	tids    []int    // the thread of each ioctl, parallel to the ioctl events
	ioctls  []string
	peers   []*nbdtest.Peer
	running chan struct{} // closed when DO_IT starts
}

func newFakeKernel(t *testing.T, name string) *fakeKernel {
	return &fakeKernel{t: t, name: name, running: make(chan struct{})}
}

func (k *fakeKernel) event(s string) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.events = append(k.events, s)
}

func (k *fakeKernel) ioctl(req uint, arg uintptr) error {
	name := ioctlName(req)
	k.mu.Lock()
	if req == ioctlSetSock {
		k.events = append(k.events, name) // the descriptor number is not ours to predict
	} else {
		k.events = append(k.events, fmt.Sprintf("%s %#x", name, arg))
	}
	k.ioctls = append(k.ioctls, name)
	k.tids = append(k.tids, unix.Gettid())
	k.mu.Unlock()
	if req == k.failOn {
		return &os.PathError{Op: name, Path: "fake", Err: unix.EINVAL}
	}

	switch req {
	case ioctlSetSock:
		fd, err := unix.Dup(int(arg)) // the kernel takes its own reference
		if err != nil {
			return err
		}
		f := os.NewFile(uintptr(fd), "kernel-end")
		c, err := net.FileConn(f)
		f.Close()
		if err != nil {
			return err
		}
		k.mu.Lock()
		k.peers = append(k.peers, nbdtest.NewPeer(k.t, c))
		k.mu.Unlock()
	case ioctlDoIt:
		pidFile := filepath.Join(sysBlockDir, k.name, "pid")
		if err := os.WriteFile(pidFile, []byte(strconv.Itoa(unix.Gettid())+"\n"), 0o644); err != nil {
			return err
		}
		close(k.running)
		for _, p := range k.connected() {
			<-p.Done() // the receive thread ends when the server closes its end
		}
		return os.Remove(pidFile)
	case ioctlDisconnect:
		for _, p := range k.connected() {
			p.Disc()
		}
	case ioctlClearSock:
		for _, p := range k.connected() {
			p.Close()
		}
	}
	return nil
}

func (k *fakeKernel) Close() error { return nil }

func (k *fakeKernel) connected() []*nbdtest.Peer {
	k.mu.Lock()
	defer k.mu.Unlock()
	return append([]*nbdtest.Peer(nil), k.peers...)
}

func (k *fakeKernel) log() []string {
	k.mu.Lock()
	defer k.mu.Unlock()
	return append([]string(nil), k.events...)
}

// startAttach runs attach against a fake kernel for nbd7 and returns its
// result channel.
func startAttach(t *testing.T, ctx context.Context, k *fakeKernel, b server.Backend, opts Options) <-chan error {
	t.Helper()
	opts, err := opts.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	result := make(chan error, 1)
	go func() { result <- attach(ctx, k, k.name, b, opts) }()
	return result
}

// exercise writes through every connection and reads the data back.
func exercise(t *testing.T, k *fakeKernel) {
	t.Helper()
	for i, p := range k.connected() {
		payload := bytes.Repeat([]byte{byte(i + 1)}, 4096)
		off := uint64(i) * 4096
		if errno, _, err := p.Do(server.Request{Command: server.CmdWrite, Offset: off, Length: 4096}, payload); err != nil || errno != 0 {
			t.Fatalf("connection %d: write: errno %d, %v", i, errno, err)
		}
		errno, data, err := p.Do(server.Request{Command: server.CmdRead, Offset: off, Length: 4096}, nil)
		if err != nil || errno != 0 || !bytes.Equal(data, payload) {
			t.Fatalf("connection %d: read back: errno %d, %v", i, errno, err)
		}
	}
}

func TestAttachLifecycle(t *testing.T) {
	_, add := fakeSys(t)
	add("nbd7", "0", 0)
	k := newFakeKernel(t, "nbd7")
	mem := nbdtest.NewMemBackend(1 << 20)
	mem.OnFlush = func() error { k.event("flush"); return nil }
	ready := make(chan struct{})
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	result := startAttach(t, ctx, k, mem, Options{
		Server:      server.Options{Size: 1 << 20, FUA: true},
		Connections: 2,
		Ready: func() {
			if _, running, _ := devicePID("nbd7"); !running {
				t.Error("Ready called before the pid file appeared")
			}
			close(ready)
		},
	})
	select {
	case <-ready:
	case err := <-result:
		t.Fatalf("attach returned before Ready: %v", err)
	}
	exercise(t, k)

	cancel()
	if err := <-result; err != nil {
		t.Fatalf("attach after cancel: %v", err)
	}
	for _, p := range k.connected() {
		p.Finish()
	}

	log := k.log()
	want := []string{
		"NBD_SET_BLKSIZE 0x200",
		"NBD_SET_SIZE_BLOCKS 0x800",
		"NBD_CLEAR_SOCK 0x0",
		"NBD_SET_FLAGS 0x10d", // HAS_FLAGS|SEND_FLUSH|SEND_FUA|CAN_MULTI_CONN
		"NBD_SET_TIMEOUT 0x0",
		"NBD_SET_SOCK",
		"NBD_SET_SOCK",
		"NBD_DO_IT 0x0",
		"flush", // before the kernel is asked to disconnect
		"NBD_DISCONNECT 0x0",
	}
	if len(log) < len(want) || !slices.Equal(log[:len(want)], want) {
		t.Fatalf("events:\n%s\nwant them to begin with:\n%s", strings.Join(log, "\n"), strings.Join(want, "\n"))
	}
	if last := log[len(log)-1]; last != "NBD_CLEAR_SOCK 0x0" {
		t.Errorf("last event %q, want NBD_CLEAR_SOCK after DO_IT", last)
	}

	// Everything but DISCONNECT came from the one locked thread.
	k.mu.Lock()
	defer k.mu.Unlock()
	deviceTid := k.tids[0]
	for i, name := range k.ioctls {
		if (k.tids[i] == deviceTid) != (name != "NBD_DISCONNECT") {
			t.Errorf("%s on thread %d, device thread %d", name, k.tids[i], deviceTid)
		}
	}
}

// TestAttachExternalDisconnect is nbd-client -d from elsewhere: the kernel
// sends DISC while a write is in flight; Attach must answer it, flush,
// and return nil.
func TestAttachExternalDisconnect(t *testing.T) {
	_, add := fakeSys(t)
	add("nbd7", "0", 0)
	k := newFakeKernel(t, "nbd7")
	mem := nbdtest.NewMemBackend(1 << 20)
	entered, release := make(chan struct{}), make(chan struct{})
	mem.OnWrite = func(off int64, n int) error {
		if off == 8192 {
			close(entered)
			<-release
		}
		return nil
	}
	result := startAttach(t, t.Context(), k, mem, Options{Server: server.Options{Size: 1 << 20}})
	<-k.running
	exercise(t, k)

	p := k.connected()[0]
	w := p.Start(server.Request{Command: server.CmdWrite, Offset: 8192, Length: 512}, bytes.Repeat([]byte{9}, 512))
	p.Await(entered)
	if err := k.ioctl(ioctlDisconnect, 0); err != nil {
		t.Fatal(err)
	}
	close(release)
	if err := <-result; err != nil {
		t.Fatalf("attach after external disconnect: %v", err)
	}
	if errno, _, err := p.Wait(w); err != nil || errno != 0 {
		t.Errorf("write in flight at DISC: errno %d, %v", errno, err)
	}
	if mem.Flushes.Load() == 0 {
		t.Error("no flush after DISC although writes were acknowledged")
	}
	p.Finish()
}

func TestAttachSetupFailure(t *testing.T) {
	_, add := fakeSys(t)
	add("nbd7", "0", 0)
	k := newFakeKernel(t, "nbd7")
	k.failOn = ioctlSetFlags
	err := <-startAttach(t, t.Context(), k, nbdtest.NewMemBackend(4096), Options{Server: server.Options{Size: 4096}, Ready: func() { t.Error("Ready called") }})
	if err == nil || !strings.Contains(err.Error(), "NBD_SET_FLAGS") || !errors.Is(err, unix.EINVAL) {
		t.Fatalf("attach: %v, want the NBD_SET_FLAGS failure", err)
	}
	log := k.log()
	if log[len(log)-1] != "NBD_CLEAR_SOCK 0x0" || strings.Contains(strings.Join(log, " "), "DO_IT") {
		t.Errorf("events after a failed setup: %q", log)
	}
}

func TestAttachDoItFailure(t *testing.T) {
	_, add := fakeSys(t)
	add("nbd7", "0", 0)
	k := newFakeKernel(t, "nbd7")
	k.failOn = ioctlDoIt
	err := <-startAttach(t, t.Context(), k, nbdtest.NewMemBackend(4096), Options{Server: server.Options{Size: 4096}, Ready: func() { t.Error("Ready called") }})
	if err == nil || !strings.Contains(err.Error(), "NBD_DO_IT") {
		t.Fatalf("attach: %v, want the NBD_DO_IT failure", err)
	}
}

// TestAttachCancelledEarly cancels before the device runs: Attach must
// not wait for a DISC that will never come, nor call Ready.
func TestAttachCancelledEarly(t *testing.T) {
	_, add := fakeSys(t)
	add("nbd7", "0", 0)
	k := newFakeKernel(t, "nbd7")
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	mem := nbdtest.NewMemBackend(4096)
	if err := <-startAttach(t, ctx, k, mem, Options{Server: server.Options{Size: 4096}, Ready: func() { t.Error("Ready called") }}); err != nil {
		t.Fatalf("attach: %v", err)
	}
	if mem.Flushes.Load() != 1 {
		t.Errorf("%d flushes, want 1", mem.Flushes.Load())
	}
}

func TestAttachRefusesBusyDevice(t *testing.T) {
	_, add := fakeSys(t)
	add("nbd5", "2048", 999)
	err := Attach(t.Context(), filepath.Join(devDir, "nbd5"), nbdtest.NewMemBackend(4096), Options{Server: server.Options{Size: 4096}})
	if err == nil || !strings.Contains(err.Error(), "in use") {
		t.Fatalf("Attach on a served device: %v", err)
	}
	if err := Attach(t.Context(), "/dev/sda", nbdtest.NewMemBackend(4096), Options{Server: server.Options{Size: 4096}}); err == nil {
		t.Fatal("Attach accepted /dev/sda")
	}
}

func TestBlockSignals(t *testing.T) {
	done := make(chan error)
	go func() {
		// This goroutine's thread keeps the mask; it is never unlocked, so
		// the runtime discards the thread when the goroutine ends.
		lockAndBlock := func() error {
			runtime.LockOSThread()
			if err := blockSignals(); err != nil {
				return err
			}
			var cur unix.Sigset_t
			if err := unix.PthreadSigmask(unix.SIG_BLOCK, nil, &cur); err != nil {
				return err
			}
			for _, s := range []unix.Signal{unix.SIGINT, unix.SIGTERM, unix.SIGURG, unix.SIGHUP} {
				if !sigismember(&cur, s) {
					return fmt.Errorf("%v not blocked", s)
				}
			}
			for _, s := range []unix.Signal{unix.SIGSEGV, unix.SIGBUS} {
				if sigismember(&cur, s) {
					return fmt.Errorf("%v blocked", s)
				}
			}
			return nil
		}
		done <- lockAndBlock()
	}()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// sigismember reports whether s is in set.
func sigismember(set *unix.Sigset_t, s unix.Signal) bool {
	const wordBits = uint(unsafe.Sizeof(set.Val[0]) * 8)
	i := uint(s - 1)
	return set.Val[i/wordBits]&(1<<(i%wordBits)) != 0
}

// Every descriptor of a connection is close-on-exec: a child that kept
// one would keep a dead server's connection looking alive to the kernel,
// which then never takes the next server's sockets. And the kernel's end
// has room for all it may queue, so that its sends never block on a
// server that died (see kernelSendBuffer).
func TestSocketPairsCloexecAndRoom(t *testing.T) {
	conns, kernel, err := socketPairs(2)
	if err != nil {
		t.Fatal(err)
	}
	defer closeConns(conns)
	defer closeFds(kernel)
	cloexec := func(fd int) bool {
		flags, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0)
		return err == nil && flags&unix.FD_CLOEXEC != 0
	}
	for i, fd := range kernel {
		if !cloexec(fd) {
			t.Errorf("kernel end %d is not close-on-exec", i)
		}
		if got, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_SNDBUF); err != nil || got < kernelSendBuffer {
			t.Errorf("kernel end %d: send buffer %d (%v), want at least %d", i, got, err, kernelSendBuffer)
		}
	}
	for i, c := range conns {
		raw, err := c.(syscall.Conn).SyscallConn()
		if err != nil {
			t.Fatal(err)
		}
		var ok bool
		raw.Control(func(fd uintptr) { ok = cloexec(int(fd)) })
		if !ok {
			t.Errorf("our end %d is not close-on-exec", i)
		}
	}
}
