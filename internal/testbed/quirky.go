package testbed

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// quirkTargetPkg is the quirky target's package, built by QuirkTargetBinary.
const quirkTargetPkg = "github.com/goaoe/goaoe/internal/testbed/quirktarget"

// StartQuirkyTarget runs quirktarget (see internal/testbed/quirktarget)
// instead of vblade, with the quirks named (silent-control,
// echo-flush-status, ...: its -q flag), and otherwise exactly as
// StartTarget runs vblade: same options (Extra("-b", "1"), Extra("-s",
// "16") pass its flags through), same wait for the ready line, same Target.
// It builds quirktarget on first use (QuirkTargetBinary).
func (b *Bed) StartQuirkyTarget(shelf, slot int, size int64, quirks []string, opts ...TargetOption) *Target {
	b.t.Helper()
	bin := QuirkTargetBinary(b.t)
	var flags []string
	if len(quirks) > 0 {
		flags = []string{"-q", strings.Join(quirks, ",")}
	}
	return b.launch("quirktarget", bin, flags, shelf, slot, size, opts)
}

// quirkBuild is the one build of quirktarget per test binary.
var quirkBuild struct {
	once sync.Once
	path string // the binary, when built
	skip string // why it cannot be built here (no go command)
	err  error
}

// QuirkTargetBinary returns the path of a quirktarget binary, static
// (CGO_ENABLED=0, so it also runs in the guest harness), built with go
// build the first time a test of this test binary asks. It lives in a
// temporary directory that is removed once the test binary has exited. It
// skips the test when no go command is found (PATH, then
// /usr/local/go/bin/go) and fails it when the build fails.
func QuirkTargetBinary(t testing.TB) string {
	t.Helper()
	quirkBuild.once.Do(buildQuirkTarget)
	switch {
	case quirkBuild.skip != "":
		t.Skip(quirkBuild.skip)
	case quirkBuild.err != nil:
		t.Fatalf("testbed: %v", quirkBuild.err)
	}
	return quirkBuild.path
}

func buildQuirkTarget() {
	goBin, err := exec.LookPath("go")
	if err != nil {
		goBin = "/usr/local/go/bin/go"
		if _, err := os.Stat(goBin); err != nil {
			quirkBuild.skip = "needs the go command to build quirktarget (not on PATH, no /usr/local/go/bin/go)"
			return
		}
	}
	dir, err := os.MkdirTemp("", "goaoe-quirktarget-")
	if err != nil {
		quirkBuild.err = err
		return
	}
	bin := filepath.Join(dir, "quirktarget")
	cmd := exec.Command(goBin, "build", "-o", bin, quirkTargetPkg)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	// From this package's source directory, in the module, if it is
	// there (it is unless the test binary was built with -trimpath or
	// moved): the test may run from anywhere.
	if _, file, _, ok := runtime.Caller(0); ok {
		if fi, err := os.Stat(filepath.Dir(file)); err == nil && fi.IsDir() {
			cmd.Dir = filepath.Dir(file)
		}
	}
	if out, err := cmd.CombinedOutput(); err != nil {
		os.RemoveAll(dir)
		quirkBuild.err = fmt.Errorf("building quirktarget: go build %s: %v\n%s", quirkTargetPkg, err, out)
		return
	}
	removeAfterExit(dir)
	quirkBuild.path = bin
}

// removeAfterExit has dir removed once this process has exited. The binary
// must outlive the test that built it (later tests of the same binary use
// it), and a test binary has no hook at its end outside TestMain, so a
// small shell watcher does it. It ignores the signals a Ctrl-C or a closed
// terminal sends the test's process group, so it outlives the test binary
// then, and has no stdio (go test waits for whoever holds the test
// binary's output open). If it cannot start, the directory stays.
func removeAfterExit(dir string) {
	w := exec.Command("/bin/sh", "-c", `trap '' INT HUP; while kill -0 "$1" 2>/dev/null; do sleep 1; done; rm -rf -- "$2"`,
		"goaoe-quirktarget-cleanup", strconv.Itoa(os.Getpid()), dir)
	if w.Start() == nil {
		_ = w.Process.Release()
	}
}
