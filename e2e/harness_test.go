package e2e

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// The commands the guest scripts use, built once per test binary.
var commands = []string{"aoe-attach", "aoe-detach", "aoe-stat", "aoe-discover", "aoe-revalidate"}

// MiB is a mebibyte; the guest scripts count offsets in it.
const MiB = 1 << 20

// Guest kernels for bootOptions.KernelPkg. "" is the harness default,
// Debian 12's linux-image-amd64 (6.1), unless GOAOE_GUEST_KERNEL_PKG pins
// another one for the whole run.
const (
	// kernel612 is bookworm-security's 6.12 kernel (a meta-package that
	// scripts/guest/prepare resolves to linux-image-6.12.N+deb12-amd64).
	kernel612 = "linux-image-6.12-amd64"
)

var (
	buildOnce sync.Once
	binDir    string
	buildErr  error

	// prepared holds one *preparedKernel per distinct bootOptions.KernelPkg.
	prepared sync.Map
)

// preparedKernel is scripts/guest/prepare's outcome for one kernel package,
// computed once.
type preparedKernel struct {
	once sync.Once
	kver string // GOAOE_GUEST_KVER, the guest's uname -r
	err  error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// repoRoot is the module's root: go test runs in the package directory.
func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "scripts", "guest", "boot")); err != nil {
		t.Fatalf("%s is not the goaoe repository (no scripts/guest/boot): %v", root, err)
	}
	return root
}

// needGuest skips without root and fails, naming the Debian package, when
// a host program the guest harness or the host-side checks need is missing.
func needGuest(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: boots a qemu guest with tap devices")
	}
	for _, p := range []struct{ cmd, pkg string }{
		{"qemu-system-x86_64", "qemu-system-x86"},
		{"vblade", "vblade"},
		{"e2fsck", "e2fsprogs"},
		{"debugfs", "e2fsprogs"},
		{"go", "golang (Go 1.26)"},
	} {
		if _, err := exec.LookPath(p.cmd); err != nil {
			t.Fatalf("%s not found: install the Debian package %s (see scripts/guest/packages.txt)", p.cmd, p.pkg)
		}
	}
}

// binaries builds the commands (static, as the guest needs) once and
// returns their paths.
func binaries(t *testing.T) []string {
	t.Helper()
	root := repoRoot(t)
	buildOnce.Do(func() {
		binDir, buildErr = os.MkdirTemp("", "goaoe-e2e-bin.")
		if buildErr != nil {
			return
		}
		for _, c := range commands {
			cmd := exec.Command("go", "build", "-o", filepath.Join(binDir, c), "./cmd/"+c)
			cmd.Dir = root
			cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
			if out, err := cmd.CombinedOutput(); err != nil {
				buildErr = fmt.Errorf("go build ./cmd/%s: %v\n%s", c, err, out)
				return
			}
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	var paths []string
	for _, c := range commands {
		paths = append(paths, filepath.Join(binDir, c))
	}
	return paths
}

// prepareGuest runs scripts/guest/prepare once per distinct kernel package
// (kernel and base initramfs, cached across runs; "" is the default kernel)
// and returns that kernel's release, the guest's uname -r.
func prepareGuest(t *testing.T, kernelPkg string) string {
	t.Helper()
	root := repoRoot(t)
	v, _ := prepared.LoadOrStore(kernelPkg, &preparedKernel{})
	p := v.(*preparedKernel)
	p.once.Do(func() {
		start := time.Now()
		cmd := exec.Command(filepath.Join(root, "scripts", "guest", "prepare"))
		if kernelPkg != "" {
			cmd.Env = append(os.Environ(), "GOAOE_GUEST_KERNEL_PKG="+kernelPkg)
		}
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		if err := cmd.Run(); err != nil {
			p.err = fmt.Errorf("scripts/guest/prepare (kernel package %q): %v\n%s", kernelPkg, err, stderr.String())
			return
		}
		for _, l := range strings.Split(stdout.String(), "\n") {
			if v, ok := strings.CutPrefix(l, "GOAOE_GUEST_KVER="); ok {
				p.kver = v
			}
		}
		if p.kver == "" {
			p.err = fmt.Errorf("scripts/guest/prepare (kernel package %q) printed no GOAOE_GUEST_KVER:\n%s", kernelPkg, stdout.String())
			return
		}
		t.Logf("scripts/guest/prepare (kernel %s) took %v", p.kver, time.Since(start).Round(time.Millisecond))
	})
	if p.err != nil {
		t.Fatal(p.err)
	}
	return p.kver
}

// target is one vblade export of a boot.
type target struct {
	Addr     string // "1.2"
	File     string // backing file on the host
	ReadOnly bool   // vblade -r
	Bridge   int    // the host bridge vblade listens on (boot --bridges)
	// Args go to the target program before its positional arguments
	// (vblade's -b 1; "prog=PATH" runs PATH instead of vblade, e.g. the
	// quirky target; a -q list is joined with "+").
	Args []string
}

// bootOptions are scripts/guest/boot's options for one run.
type bootOptions struct {
	Script  string // file name in testdata/
	Targets []target
	Files   []string // SRC:DEST
	Env     []string // NAME=VALUE
	MTU     int
	NICs    int // guest NICs (boot --nics); 0 means the harness default (1)
	// Bridges is how many host bridges (boot --bridges): NIC K joins
	// bridge K%Bridges; 0 means one.
	Bridges int
	// HostHook is a script in testdata/ (or an absolute path) that boot
	// runs on the host with the state file (boot --host-hook).
	HostHook string
	Timeout  time.Duration
	// KernelPkg is the guest kernel package (boot --kernel-pkg), e.g.
	// kernel612; "" is the default kernel.
	KernelPkg string
}

// bootResult is what a boot produced.
type bootResult struct {
	// Kver is the guest kernel's release (its uname -r).
	Kver     string
	ExitCode int
	Elapsed  time.Duration
	Lines    []string
	// Results holds the "E2E key=value" lines, every value of a key in
	// order.
	Results map[string][]string
}

// value returns the last value of key.
func (r *bootResult) value(key string) (string, bool) {
	v := r.Results[key]
	if len(v) == 0 {
		return "", false
	}
	return v[len(v)-1], true
}

// last returns key's last value, or "?" when there is none (for logs).
func (r *bootResult) last(key string) string {
	if v, ok := r.value(key); ok {
		return v
	}
	return "?"
}

// expect checks that key's last value is want.
func (r *bootResult) expect(t *testing.T, key, want string) bool {
	t.Helper()
	got, ok := r.value(key)
	switch {
	case !ok:
		t.Errorf("the guest printed no %q result (want %q)", key, want)
		return false
	case got != want:
		t.Errorf("%s = %q, want %q", key, got, want)
		return false
	}
	return true
}

// must returns key's last value, failing the test now if it is missing.
func (r *bootResult) must(t *testing.T, key string) string {
	t.Helper()
	v, ok := r.value(key)
	if !ok {
		t.Fatalf("the guest printed no %q result", key)
	}
	return v
}

// failures are the guest script's own "E2E-FAIL" lines.
func (r *bootResult) failures() []string {
	var out []string
	for _, l := range r.Lines {
		if strings.HasPrefix(l, "E2E-FAIL ") {
			out = append(out, l)
		}
	}
	return out
}

// boot runs one guest: the binaries, testdata/lib.sh and opts.Files in it,
// opts.Script as its script. The console is streamed to t.Log line by
// line (go test -v shows it live) and, with GOAOE_E2E_LOGDIR, saved.
func boot(t *testing.T, opts bootOptions) *bootResult {
	t.Helper()
	root := repoRoot(t)
	bins := binaries(t)
	kver := prepareGuest(t, opts.KernelPkg)

	if opts.Timeout == 0 {
		opts.Timeout = 5 * time.Minute
	}
	args := []string{"--timeout", fmt.Sprint(int(opts.Timeout.Seconds()))}
	if opts.KernelPkg != "" {
		args = append(args, "--kernel-pkg", opts.KernelPkg)
	}
	for _, b := range bins {
		args = append(args, "--bin", b)
	}
	lib, err := filepath.Abs(filepath.Join("testdata", "lib.sh"))
	if err != nil {
		t.Fatal(err)
	}
	args = append(args, "--file", lib+":/e2e/lib.sh")
	for _, f := range opts.Files {
		args = append(args, "--file", f)
	}
	for _, e := range opts.Env {
		args = append(args, "--env", e)
	}
	if opts.MTU != 0 {
		args = append(args, "--mtu", fmt.Sprint(opts.MTU))
	}
	if opts.NICs != 0 {
		args = append(args, "--nics", fmt.Sprint(opts.NICs))
	}
	if opts.Bridges != 0 {
		args = append(args, "--bridges", fmt.Sprint(opts.Bridges))
	}
	if opts.HostHook != "" {
		hook := opts.HostHook
		if !filepath.IsAbs(hook) {
			if hook, err = filepath.Abs(filepath.Join("testdata", hook)); err != nil {
				t.Fatal(err)
			}
		}
		args = append(args, "--host-hook", hook)
	}
	for _, tg := range opts.Targets {
		spec := tg.Addr + ":" + tg.File
		if tg.ReadOnly {
			spec += ":ro"
		}
		if tg.Bridge != 0 {
			spec += fmt.Sprintf("@%d", tg.Bridge)
		}
		if len(tg.Args) > 0 {
			spec += "," + strings.Join(tg.Args, ",")
		}
		args = append(args, "--target", spec)
	}
	script, err := filepath.Abs(filepath.Join("testdata", opts.Script))
	if err != nil {
		t.Fatal(err)
	}
	args = append(args, script)

	// The harness has its own timeout; this one only guards against the
	// harness itself hanging.
	ctx, cancel := context.WithTimeout(context.Background(), opts.Timeout+2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(root, "scripts", "guest", "boot"), args...)
	cmd.Dir = root
	pr, pw := io.Pipe()
	cmd.Stdout, cmd.Stderr = pw, pw
	// On timeout, SIGTERM: boot's trap then tears down qemu, vblade, the
	// bridge and the taps, which SIGKILL would leave behind.
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = 30 * time.Second

	var logFile *os.File
	if dir := os.Getenv("GOAOE_E2E_LOGDIR"); dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		name := strings.NewReplacer("/", "_", " ", "_").Replace(t.Name()) + ".log"
		if logFile, err = os.Create(filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
		defer logFile.Close()
	}

	res := &bootResult{Kver: kver, Results: map[string][]string{}}
	scanned := make(chan struct{})
	go func() {
		defer close(scanned)
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 64*1024), 1024*1024)
		for sc.Scan() {
			line := strings.TrimRight(sc.Text(), "\r")
			res.Lines = append(res.Lines, line)
			t.Log("guest| " + line)
			if logFile != nil {
				fmt.Fprintln(logFile, line)
			}
			if kv, ok := strings.CutPrefix(line, "E2E "); ok {
				if k, v, ok := strings.Cut(kv, "="); ok {
					res.Results[k] = append(res.Results[k], v)
				}
			}
		}
		io.Copy(io.Discard, pr)
	}()

	t.Logf("scripts/guest/boot %s", strings.Join(args, " "))
	start := time.Now()
	err = cmd.Run()
	res.Elapsed = time.Since(start)
	pw.Close()
	<-scanned
	var exit *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exit):
		res.ExitCode = exit.ExitCode()
	default:
		t.Fatalf("scripts/guest/boot: %v", err)
	}
	t.Logf("boot of %s (kernel %s) took %v, exit status %d", opts.Script, kver, res.Elapsed.Round(time.Second/10), res.ExitCode)
	switch res.ExitCode {
	case 0:
	case 124:
		t.Errorf("the guest timed out after %v (boot exit 124)", opts.Timeout)
	case 125:
		t.Errorf("the guest harness failed (boot exit 125); see the harness messages above")
	default:
		t.Errorf("guest script %s exited with status %d", opts.Script, res.ExitCode)
	}
	for _, f := range res.failures() {
		t.Errorf("guest: %s", f)
	}
	return res
}

// sparseFile makes a sparse backing file of size bytes in dir.
func sparseFile(t *testing.T, dir, name string, size int64) string {
	t.Helper()
	p := filepath.Join(dir, name)
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	if err := os.Truncate(p, size); err != nil {
		t.Fatal(err)
	}
	return p
}

// pattern is n deterministic pseudo-random bytes for seed.
func pattern(seed uint64, n int) []byte {
	var key [32]byte
	binary.LittleEndian.PutUint64(key[:], seed)
	b := make([]byte, n)
	rand.NewChaCha8(key).Read(b)
	return b
}

// writePattern writes pattern(seed, n) to dir/name and returns the path and
// the bytes.
func writePattern(t *testing.T, dir, name string, seed uint64, n int) (string, []byte) {
	t.Helper()
	b := pattern(seed, n)
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p, b
}

// region reads n bytes of a file at off.
func region(t *testing.T, path string, off int64, n int) []byte {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b := make([]byte, n)
	if _, err := f.ReadAt(b, off); err != nil {
		t.Fatalf("read %d bytes of %s at %d: %v", n, path, off, err)
	}
	return b
}

func sha256hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// firstDiff describes where two byte slices first differ, for messages.
func firstDiff(got, want []byte) string {
	for i := range min(len(got), len(want)) {
		if got[i] != want[i] {
			return fmt.Sprintf("first difference at byte %d (MiB %d): got %#02x, want %#02x", i, i/MiB, got[i], want[i])
		}
	}
	return fmt.Sprintf("lengths %d and %d", len(got), len(want))
}

// allZero reports whether b is all zero bytes.
func allZero(b []byte) bool {
	return bytes.Count(b, []byte{0}) == len(b)
}
