package testbed

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/goaoe/goaoe/rawport"
)

// recordingTB is a testing.TB whose failures and cleanups the test
// controls, to check what a Bed does when the test using it fails. Whatever
// it does not override goes to the real test.
type recordingTB struct {
	testing.TB
	mu       sync.Mutex
	failed   bool
	logs     []string
	cleanups []func()
}

func newRecordingTB(t *testing.T) *recordingTB {
	r := &recordingTB{TB: t}
	t.Cleanup(r.runCleanups) // in case the test stops early
	return r
}

func (r *recordingTB) Cleanup(f func()) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.cleanups = append(r.cleanups, f)
}

func (r *recordingTB) Failed() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.failed
}

func (r *recordingTB) Errorf(format string, args ...any) {
	r.mu.Lock()
	r.failed = true
	r.mu.Unlock()
	r.Logf(format, args...)
}

func (r *recordingTB) Logf(format string, args ...any) {
	r.mu.Lock()
	r.logs = append(r.logs, fmt.Sprintf(format, args...))
	r.mu.Unlock()
	r.TB.Logf(format, args...)
}

func (r *recordingTB) runCleanups() {
	for {
		r.mu.Lock()
		n := len(r.cleanups)
		if n == 0 {
			r.mu.Unlock()
			return
		}
		f := r.cleanups[n-1]
		r.cleanups = r.cleanups[:n-1]
		r.mu.Unlock()
		f()
	}
}

func (tg *Target) pid() int {
	tg.mu.Lock()
	defer tg.mu.Unlock()
	return tg.cmd.Process.Pid
}

// alive reports whether pid runs (a zombie does not count).
func alive(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	// pid (comm) STATE ...
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i < 0 || i+2 >= len(s) || s[i+2] != 'Z'
}

func waitGone(t *testing.T, pid int) {
	t.Helper()
	for deadline := time.Now().Add(3 * time.Second); alive(pid); {
		if time.Now().After(deadline) {
			t.Fatalf("process %d still runs", pid)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func namespaceExists(t *testing.T, ns string) bool {
	t.Helper()
	_, err := os.Stat("/run/netns/" + ns)
	return err == nil
}

func ifaceExists(name string) bool {
	return exec.Command("ip", "link", "show", "dev", name).Run() == nil
}

func TestNamesFitTheKernelLimit(t *testing.T) {
	bed := New(t, 1500)
	bed.AddPeer()
	for _, l := range bed.Links() {
		for _, name := range []string{l.Host, l.Peer} {
			if len(name) > 15 {
				t.Errorf("interface name %q is longer than 15 bytes", name)
			}
		}
		if len(l.PeerMAC) != 17 {
			t.Errorf("peer MAC %q of %s is not a MAC", l.PeerMAC, l.Peer)
		}
		if !ifaceExists(l.Host) {
			t.Errorf("host end %s does not exist", l.Host)
		}
	}
	if !strings.HasPrefix(bed.Namespace(), nsPrefix) || !namespaceExists(t, bed.Namespace()) {
		t.Errorf("namespace %q missing", bed.Namespace())
	}
}

// TestCleanupAfterFailure runs a bed on a TB that fails, then its cleanups:
// vblade must be gone, the namespace and interfaces too, and vblade's
// output logged.
func TestCleanupAfterFailure(t *testing.T) {
	rt := newRecordingTB(t)
	bed := New(rt, 1500)
	tg := bed.StartTarget(1, 2, 1<<20)
	pid, ns, host := tg.pid(), bed.Namespace(), bed.HostIface()
	if !alive(pid) || !namespaceExists(t, ns) || !ifaceExists(host) {
		t.Fatalf("bed not set up: vblade alive %v, namespace %v, %s %v",
			alive(pid), namespaceExists(t, ns), host, ifaceExists(host))
	}

	rt.Errorf("a deliberate failure")
	rt.runCleanups()

	if alive(pid) {
		t.Errorf("vblade %d outlived the test", pid)
	}
	if namespaceExists(t, ns) {
		t.Errorf("namespace %s outlived the test", ns)
	}
	if ifaceExists(host) {
		t.Errorf("interface %s outlived the test", host)
	}
	logs := strings.Join(rt.logs, "\n")
	if !strings.Contains(logs, "vblade e1.2 output:") || !strings.Contains(logs, "e1.2, 2048 sectors O_RDWR") {
		t.Errorf("vblade's output was not logged on failure; logs:\n%s", logs)
	}
}

// TestHeldTarget is the child of TestTargetDiesWithTestBinary: it starts a
// target, says so, and waits to be killed. Run on its own, it passes at
// once: not a skip, which scripts/test counts as a failure under root.
func TestHeldTarget(t *testing.T) {
	if os.Getenv("TESTBED_HOLD_TARGET") == "" {
		return // only a helper process for TestTargetDiesWithTestBinary
	}
	bed := New(t, 1500)
	tg := bed.StartTarget(1, 2, 1<<20)
	fmt.Printf("HOLDING %d %s %s\n", tg.pid(), bed.Namespace(), bed.HostIface())
	time.Sleep(time.Minute)
}

// TestTargetDiesWithTestBinary kills a test binary holding a target, as a
// go test timeout would: vblade must die with it (Pdeathsig), and the next
// New removes the namespace it left.
func TestTargetDiesWithTestBinary(t *testing.T) {
	New(t, 1500) // skips when a bed is impossible
	// The orphaned vblade is reparented to us rather than to PID 1, which
	// in some containers never reaps it; we reap it below.
	if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
		t.Fatalf("PR_SET_CHILD_SUBREAPER: %v", err)
	}
	defer unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0)
	child := exec.Command(os.Args[0], "-test.run=^TestHeldTarget$", "-test.v")
	child.Env = append(os.Environ(), "TESTBED_HOLD_TARGET=1")
	out, err := child.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	defer child.Process.Kill()

	var pid int
	var ns, host string
	lines := bufio.NewScanner(out)
	for lines.Scan() {
		if _, err := fmt.Sscanf(lines.Text(), "HOLDING %d %s %s", &pid, &ns, &host); err == nil {
			break
		}
	}
	if pid == 0 {
		child.Wait()
		t.Fatal("the child never said it holds a target")
	}
	if err := child.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	child.Wait()

	waitGone(t, pid)
	var ws unix.WaitStatus
	if _, err := unix.Wait4(pid, &ws, 0, nil); err != nil {
		t.Errorf("reaping vblade %d: %v", pid, err)
	} else if ws.Signal() != syscall.SIGKILL {
		t.Errorf("vblade ended with %v, want SIGKILL from Pdeathsig", ws)
	}
	if !namespaceExists(t, ns) {
		t.Fatalf("namespace %s vanished by itself; the sweep test below proves nothing", ns)
	}
	sweepStale()
	if namespaceExists(t, ns) {
		t.Errorf("sweepStale left %s of a dead test binary", ns)
	}
	for deadline := time.Now().Add(3 * time.Second); ifaceExists(host); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Errorf("interface %s outlived its namespace", host)
			break
		}
	}
}

// queryConfig asks on port for the config of every target and returns the
// answer with tag: buffer count, sector count, source MAC.
func queryConfig(t *testing.T, p *rawport.Port, tag uint32) (bufCount int, sectors int, src string) {
	t.Helper()
	q := make([]byte, 32)
	copy(q, []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff})
	mac := p.MAC()
	copy(q[6:12], mac[:])
	binary.BigEndian.PutUint16(q[12:], rawport.EtherType)
	q[14], q[16], q[17], q[18], q[19] = 0x10, 0xff, 0xff, 0xff, 1
	binary.BigEndian.PutUint32(q[20:], tag)
	if err := p.Send([][]byte{q}); err != nil {
		t.Fatalf("Send: %v", err)
	}
	type result struct {
		f   []byte
		err error
	}
	res := make(chan result, 1)
	go func() {
		buf := make([]byte, 9014)
		size := []int{0}
		for {
			if _, err := p.Receive([][]byte{buf}, size); err != nil {
				res <- result{err: err}
				return
			}
			f := buf[:size[0]]
			if len(f) >= 32 && binary.BigEndian.Uint32(f[20:]) == tag {
				res <- result{f: append([]byte(nil), f...)}
				return
			}
		}
	}()
	select {
	case r := <-res:
		if r.err != nil {
			t.Fatalf("Receive: %v", r.err)
		}
		f := r.f
		return int(binary.BigEndian.Uint16(f[24:])), int(f[28]),
			fmt.Sprintf("%02x:%02x:%02x:%02x:%02x:%02x", f[6], f[7], f[8], f[9], f[10], f[11])
	case <-time.After(2 * time.Second):
		p.Close() // ends the receiving goroutine
		t.Fatalf("no answer to query %#x on %s", tag, p.Name())
	}
	return 0, 0, ""
}

func openPort(t *testing.T, name string) *rawport.Port {
	t.Helper()
	p, err := rawport.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

func TestTargetKillAndRestart(t *testing.T) {
	bed := New(t, 1500)
	path := t.TempDir() + "/disk.img"
	tg := bed.StartTarget(3, 4, 1<<20, BackingFile(path), Extra("-b", "4"))
	if tg.Path() != path {
		t.Errorf("Path() = %q, want %q", tg.Path(), path)
	}
	if fi, err := os.Stat(path); err != nil || fi.Size() != 1<<20 {
		t.Errorf("backing file: %v, size %v, want 1 MiB", err, fi)
	}
	p := openPort(t, bed.HostIface())
	bufs, _, src := queryConfig(t, p, 0x5A5A0001)
	if bufs != 4 {
		t.Errorf("buffer count %d, want 4 from Extra(\"-b\", \"4\")", bufs)
	}
	if src != tg.MAC() {
		t.Errorf("answer from %s, want Target.MAC() %s", src, tg.MAC())
	}

	first := tg.pid()
	tg.Kill()
	if alive(first) {
		t.Fatalf("vblade %d alive after Kill", first)
	}
	tg.Kill() // again: nothing to do

	tg.Restart()
	if tg.pid() == first || !alive(tg.pid()) {
		t.Fatalf("Restart: pid %d (was %d), alive %v", tg.pid(), first, alive(tg.pid()))
	}
	if bufs, _, _ := queryConfig(t, p, 0x5A5A0002); bufs != 4 {
		t.Errorf("after Restart: buffer count %d, want 4: the arguments were not kept", bufs)
	}
	if n := strings.Count(tg.Output(), "e3.4, 2048 sectors"); n != 2 {
		t.Errorf("output shows %d starts, want 2:\n%s", n, tg.Output())
	}
}

func TestReadOnlyTarget(t *testing.T) {
	bed := New(t, 1500)
	tg := bed.StartTarget(1, 1, 1<<20, ReadOnly())
	if !strings.Contains(tg.Output(), "O_RDONLY") {
		t.Errorf("vblade does not say it is read-only:\n%s", tg.Output())
	}
}

// TestSecondPair starts a target on a pair added with AddPeer: the answer
// comes on that pair's host end, from its namespace end.
func TestSecondPair(t *testing.T) {
	bed := New(t, 1500)
	second := bed.AddPeer()
	tg := bed.StartTarget(5, 6, 1<<20, OnIface(second.Peer))
	if tg.MAC() != second.PeerMAC || tg.Iface() != second.Peer {
		t.Errorf("target on %s/%s, want %s/%s", tg.Iface(), tg.MAC(), second.Peer, second.PeerMAC)
	}
	p := openPort(t, second.Host)
	if _, _, src := queryConfig(t, p, 0x5A5A0003); src != second.PeerMAC {
		t.Errorf("answer from %s, want %s", src, second.PeerMAC)
	}

	bed.SetMTU(9000)
	if _, sectors, _ := queryConfig(t, p, 0x5A5A0004); sectors != 17 {
		t.Errorf("after SetMTU(9000): sector count %d, want 17: the second pair kept its MTU", sectors)
	}
}
