package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/goaoe/goaoe/internal/testbed"
)

// run builds aoe-discover once per test and runs it as a user would,
// returning stdout, stderr and the exit code.
func discover(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "aoe-discover")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return stdout.String(), stderr.String(), code
}

func TestDiscoverFindsVblade(t *testing.T) {
	bed := testbed.New(t, 1500)
	tgt := bed.StartTarget(1, 2, 64<<20)
	out, errOut, code := discover(t, "-i", bed.HostIface(), "--timeout", "1s")
	if code != 0 {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
	// e1.2, 64 MiB = 0.067 GB, our interface, vblade's MAC, 2 sectors.
	row := regexp.MustCompile(`(?m)^e1\.2\s+0\.067GB\s+` + regexp.QuoteMeta(bed.HostIface()) + `\s+` + regexp.QuoteMeta(tgt.MAC()) + `\s+1024\s+16\s+0x4019`)
	if !row.MatchString(out) {
		t.Fatalf("output lacks the e1.2 row:\n%s", out)
	}
	if !strings.HasPrefix(out, "TARGET") {
		t.Errorf("no header line:\n%s", out)
	}

	out, _, code = discover(t, "-i", bed.HostIface(), "--json", "e1.2")
	var got []jsonTarget
	if code != 0 || json.Unmarshal([]byte(out), &got) != nil {
		t.Fatalf("--json: exit %d, output %q", code, out)
	}
	if len(got) != 1 || got[0].Target != "e1.2" || got[0].SizeBytes != 64<<20 || got[0].MACs[0] != tgt.MAC() || got[0].BufferCount != 16 {
		t.Fatalf("--json gave %+v", got)
	}
}

func TestDiscoverNothingAnswers(t *testing.T) {
	bed := testbed.New(t, 1500)
	bed.StartTarget(1, 2, 1<<20)
	_, errOut, code := discover(t, "-i", bed.HostIface(), "--timeout", "500ms", "e9.9")
	if code != 1 {
		t.Fatalf("exit %d for a target that does not exist, want 1", code)
	}
	if want := "AoE target e9.9 did not answer on " + bed.HostIface() + " within 500ms"; !strings.Contains(errOut, want) {
		t.Fatalf("stderr %q does not say which target and interface", errOut)
	}
}

func TestDiscoverBadInterface(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: opens raw sockets")
	}
	_, errOut, code := discover(t, "-i", "nosuch0")
	if code != 2 || !strings.Contains(errOut, "nosuch0") {
		t.Fatalf("exit %d, stderr %q; want exit 2 naming the interface", code, errOut)
	}
	_, errOut, code = discover(t, "-i", "lo")
	if code != 2 || !strings.Contains(errOut, "lo") {
		t.Fatalf("loopback: exit %d, stderr %q; want exit 2", code, errOut)
	}
	_, errOut, code = discover(t, "e1")
	if code != 2 || !strings.Contains(errOut, "eSHELF.SLOT") {
		t.Fatalf("bad target: exit %d, stderr %q", code, errOut)
	}
}

// TestDiscoverLearnsWhatTargetsDo: next to vblade, two targets of our own
// that behave like others seen in the field (internal/testbed/quirktarget):
// one drops Reserve/Release without a word, echoes the flush command as its
// status and advertises 16 sectors a command at MTU 1500; one answers
// Reserve/Release with AoE error 1, aborts every flush and advertises a
// buffer count and firmware of 0. aoe-discover --json shows what probing
// each taught, and the probes' silence costs seconds, not the deadline.
func TestDiscoverLearnsWhatTargetsDo(t *testing.T) {
	bed := testbed.New(t, 1500)
	bed.StartTarget(1, 2, 8<<20)
	bed.StartQuirkyTarget(1, 3, 8<<20, []string{"silent-control", "echo-flush-status"}, testbed.Extra("-s", "16"))
	bed.StartQuirkyTarget(1, 4, 8<<20, []string{"control-error1", "abort-flush", "bufcnt0", "firmware0"})
	start := time.Now()
	out, errOut, code := discover(t, "-i", bed.HostIface(), "--timeout", "2s", "--json")
	if code != 0 {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
	if took := time.Since(start); took > 10*time.Second {
		t.Errorf("aoe-discover took %v: the probes of silent targets must be short", took)
	}
	var got []jsonTarget
	if err := json.Unmarshal([]byte(out), &got); err != nil || len(got) != 3 {
		t.Fatalf("--json: %v, %d targets:\n%s", err, len(got), out)
	}
	want := []struct {
		target       string
		flush        string
		reservations bool
		sectors      int // per frame
		maxSectors   int // advertised
		bufferCount  int
		firmware     uint16
	}{
		{"e1.2", "0xe7", true, 2, 2, 16, 0x4019},
		{"e1.3", "0xe7", false, 2, 16, 16, 0x4019},
		{"e1.4", "none", false, 2, 2, 0, 0},
	}
	for i, w := range want {
		g := got[i]
		if g.Target != w.target || g.Flush != w.flush || g.Reservations != w.reservations || g.SectorsPerFrame != w.sectors ||
			g.SectorCount != w.maxSectors || g.BufferCount != w.bufferCount || g.Firmware != w.firmware || g.Error != "" {
			t.Errorf("%s: got %+v, want %+v", w.target, g, w)
		}
	}
	if !strings.Contains(got[2].FlushProblem, "aborted") {
		t.Errorf("e1.4 flush_problem %q does not say the flush was aborted", got[2].FlushProblem)
	}
}
