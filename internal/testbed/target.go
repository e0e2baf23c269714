package testbed

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"sync"
	"testing"
	"time"
)

// readyTimeout bounds how long StartTarget waits for vblade to bind.
const readyTimeout = 10 * time.Second

// readyLine is what vblade (and quirktarget) prints once its socket is
// bound: "pid 8651: e1.2, 131072 sectors O_RDWR".
var readyLine = regexp.MustCompile(`pid \d+: e\d+\.\d+, \d+ sectors`)

// A TargetOption changes how StartTarget runs vblade (and
// StartQuirkyTarget quirktarget).
type TargetOption func(*targetConfig)

type targetConfig struct {
	readOnly bool
	path     string
	iface    string
	extra    []string
}

// ReadOnly exports the file read-only (vblade -r): writes fail with ABRT.
func ReadOnly() TargetOption { return func(c *targetConfig) { c.readOnly = true } }

// BackingFile serves the file at path. If it exists it is used as it is
// (size is ignored), so a test can restart a target on the same data or
// prepare the contents; if not, a sparse file of the given size is created
// there.
func BackingFile(path string) TargetOption { return func(c *targetConfig) { c.path = path } }

// OnIface runs the target on another namespace interface than the first
// pair's peer, e.g. one from AddPeer.
func OnIface(peer string) TargetOption { return func(c *targetConfig) { c.iface = peer } }

// Extra adds vblade flags before the positional arguments, e.g.
// Extra("-b", "4") for a buffer count of 4, Extra("-m", mac) to serve one
// initiator only.
func Extra(args ...string) TargetOption {
	return func(c *targetConfig) { c.extra = append(c.extra, args...) }
}

// Target is one vblade process serving a file in a Bed's namespace (or a
// quirktarget process, from StartQuirkyTarget).
type Target struct {
	t     testing.TB
	bed   *Bed
	Shelf int
	Slot  int
	prog  string // "vblade" or "quirktarget", for messages
	iface string
	path  string
	args  []string // ip netns exec ... vblade ...
	out   *syncBuffer

	mu     sync.Mutex // guards cmd and done
	cmd    *exec.Cmd
	done   chan struct{} // closed when cmd has exited
	killed bool          // the last exit was asked for by Kill
}

// StartTarget runs vblade SHELF SLOT IFACE FILE in the namespace and returns
// once it listens. The file is a sparse file of size bytes in t.TempDir()
// unless BackingFile says otherwise. t.Cleanup kills vblade; if the test
// failed, vblade's output is logged. StartTarget skips the test when vblade
// is not installed.
func (b *Bed) StartTarget(shelf, slot int, size int64, opts ...TargetOption) *Target {
	t := b.t
	t.Helper()
	if _, err := exec.LookPath("vblade"); err != nil {
		t.Skip("needs vblade (Debian package vblade)")
	}
	return b.launch("vblade", "vblade", nil, shelf, slot, size, opts)
}

// launch runs the target program bin (named prog in messages) as
// StartTarget describes, with flags before the options' own.
func (b *Bed) launch(prog, bin string, flags []string, shelf, slot int, size int64, opts []TargetOption) *Target {
	t := b.t
	t.Helper()
	var c targetConfig
	for _, o := range opts {
		o(&c)
	}
	if c.iface == "" {
		c.iface = b.PeerIface()
	}
	if c.path == "" {
		c.path = filepath.Join(t.TempDir(), fmt.Sprintf("e%d.%d.img", shelf, slot))
	}
	if _, err := os.Stat(c.path); os.IsNotExist(err) {
		if err := createSparse(c.path, size); err != nil {
			t.Fatalf("testbed: %v", err)
		}
	}

	args := []string{"netns", "exec", b.ns, bin}
	if c.readOnly {
		args = append(args, "-r")
	}
	args = append(args, flags...)
	args = append(args, c.extra...)
	args = append(args, strconv.Itoa(shelf), strconv.Itoa(slot), c.iface, c.path)

	tg := &Target{t: t, bed: b, Shelf: shelf, Slot: slot, prog: prog, iface: c.iface, path: c.path,
		args: args, out: new(syncBuffer)}
	t.Cleanup(func() {
		exitedAlone := tg.exited()
		tg.Kill()
		if exitedAlone {
			t.Logf("testbed: %s e%d.%d had exited on its own before the end of the test", prog, shelf, slot)
		}
		if t.Failed() {
			t.Logf("testbed: %s e%d.%d output:\n%s", prog, shelf, slot, tg.Output())
		}
	})
	tg.start()
	return tg
}

func createSparse(path string, size int64) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := f.Truncate(size); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// start runs vblade and waits until it prints that it listens.
func (tg *Target) start() {
	tg.t.Helper()
	mark := tg.out.Len()
	cmd := exec.Command("ip", tg.args...)
	cmd.Stdout = tg.out
	cmd.Stderr = tg.out
	cmd.SysProcAttr = dieWithParent()
	if err := cmd.Start(); err != nil {
		tg.t.Fatalf("testbed: starting %s: %v", tg.prog, err)
	}
	done := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(done)
	}()
	tg.mu.Lock()
	tg.cmd, tg.done, tg.killed = cmd, done, false
	tg.mu.Unlock()

	deadline := time.After(readyTimeout)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for !readyLine.Match(tg.out.Since(mark)) {
		select {
		case <-done:
			tg.t.Fatalf("testbed: %s e%d.%d exited at start (%v):\n%s",
				tg.prog, tg.Shelf, tg.Slot, cmd.ProcessState, tg.Output())
		case <-deadline:
			tg.Kill()
			tg.t.Fatalf("testbed: %s e%d.%d did not say it listens within %v:\n%s",
				tg.prog, tg.Shelf, tg.Slot, readyTimeout, tg.Output())
		case <-tick.C:
		}
	}
}

// exited reports whether vblade exited without Kill.
func (tg *Target) exited() bool {
	tg.mu.Lock()
	defer tg.mu.Unlock()
	if tg.done == nil || tg.killed {
		return false
	}
	select {
	case <-tg.done:
		return true
	default:
		return false
	}
}

// Kill sends vblade SIGKILL and waits until it has exited. Killing a target
// that is not running does nothing.
func (tg *Target) Kill() {
	tg.mu.Lock()
	cmd, done := tg.cmd, tg.done
	tg.killed = true
	tg.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Kill()
	<-done
}

// Restart kills vblade if it runs and starts it again with the same
// arguments and file, waiting until it listens.
func (tg *Target) Restart() {
	tg.t.Helper()
	tg.Kill()
	tg.start()
}

// Path returns the backing file.
func (tg *Target) Path() string { return tg.path }

// Iface returns the namespace interface vblade listens on.
func (tg *Target) Iface() string { return tg.iface }

// MAC returns the MAC of the namespace interface vblade listens on: the
// source of its replies, as "02:...".
func (tg *Target) MAC() string {
	for _, l := range tg.bed.Links() {
		if l.Peer == tg.iface {
			return l.PeerMAC
		}
	}
	return ""
}

// Output returns everything vblade printed, over all restarts.
func (tg *Target) Output() string { return string(tg.out.Since(0)) }

// syncBuffer is a bytes.Buffer that vblade's output copier and the test can
// use at once.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) Len() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Len()
}

// Since returns a copy of what was written after the first off bytes.
func (b *syncBuffer) Since(off int) []byte {
	b.mu.Lock()
	defer b.mu.Unlock()
	return bytes.Clone(b.buf.Bytes()[off:])
}
