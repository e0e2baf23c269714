package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/goaoe/goaoe/internal/cmdtest"
	"github.com/goaoe/goaoe/internal/testbed"
)

// discover builds aoe-discover once per test and runs it as a user
// would, returning stdout, stderr and the exit code.
func discover(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	return cmdtest.Run(t, cmdtest.Build(t), nil, args...)
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

// ip runs ip with args and fails the test if it fails.
func ip(t *testing.T, args ...string) []byte {
	t.Helper()
	out, err := exec.Command("ip", args...).CombinedOutput()
	if err != nil {
		t.Fatalf("ip %s: %v: %s", strings.Join(args, " "), err, out)
	}
	return out
}

// warnings are the lines of out that --check printed for problems.
func warnings(out string) []string {
	var w []string
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, "warning: ") {
			w = append(w, l)
		}
	}
	return w
}

// TestCheckCleanVblade: vblade on a link of one MTU is a SAN without a
// problem: exit 0, no warning, and --json says so with an empty list.
func TestCheckCleanVblade(t *testing.T) {
	bed := testbed.New(t, 1500)
	bed.StartTarget(1, 2, 8<<20)
	out, errOut, code := discover(t, "-i", bed.HostIface(), "--timeout", "1s", "--check")
	if code != 0 || len(warnings(out)) != 0 || !strings.Contains(out, "\nno problems found\n") {
		t.Fatalf("exit %d, stderr %q, stdout:\n%s", code, errOut, out)
	}
	out, errOut, code = discover(t, "-i", bed.HostIface(), "--timeout", "1s", "--check", "--json")
	var got []jsonTarget
	if code != 0 || json.Unmarshal([]byte(out), &got) != nil || len(got) != 1 || got[0].Problems == nil || len(*got[0].Problems) != 0 {
		t.Fatalf("--json: exit %d, stderr %q, stdout:\n%s", code, errOut, out)
	}
	// Without --check, no list: "not checked" is not "fine".
	out, _, _ = discover(t, "-i", bed.HostIface(), "--timeout", "1s", "--json")
	if strings.Contains(out, `"problems"`) {
		t.Errorf("--json without --check lists problems:\n%s", out)
	}
}

// TestCheckMTUMismatch: with the two ends of the veth pair at different
// MTUs, vblade advertises what its own end carries ((MTU-36)/512, read
// for every request) and --check says what does not match, exit 3 (as
// the Description documents: a literal, not exitProblems, so that the
// status scripts see is what is tested).
func TestCheckMTUMismatch(t *testing.T) {
	bed := testbed.New(t, 1500)
	tgt := bed.StartTarget(1, 2, 8<<20)
	host, peer := bed.HostIface(), bed.PeerIface()
	where := "e1.2 via " + host + " -> " + tgt.MAC() + ": "

	// Our NIC jumbo, vblade's standard: 2 sectors a command.
	ip(t, "link", "set", "dev", host, "mtu", "9000")
	out, errOut, code := discover(t, "-i", host, "--timeout", "1s", "--check")
	w := warnings(out)
	if code != 3 || len(w) != 1 || !strings.HasPrefix(w[0], "warning: "+where+host+" has a jumbo MTU of 9000 (17 sectors a frame) but the target advertises 2 sectors a command") ||
		!strings.Contains(errOut, "--check found 1 problem") {
		t.Fatalf("jumbo host, standard target: exit %d, stderr %q, stdout:\n%s", code, errOut, out)
	}

	// The other way round: vblade's end jumbo, 17 sectors, ours 1500.
	ip(t, "link", "set", "dev", host, "mtu", "1500")
	ip(t, "-n", bed.Namespace(), "link", "set", "dev", peer, "mtu", "9000")
	out, errOut, code = discover(t, "-i", host, "--timeout", "1s", "--check", "--json")
	var got []jsonTarget
	if err := json.Unmarshal([]byte(out), &got); err != nil || code != 3 || len(got) != 1 || got[0].Problems == nil {
		t.Fatalf("standard host, jumbo target: exit %d, stderr %q, stdout:\n%s", code, errOut, out)
	}
	ps := *got[0].Problems
	if len(ps) != 1 || ps[0].Kind != kindFrameTooLarge || ps[0].Interface != host || ps[0].MAC != tgt.MAC() ||
		!strings.HasPrefix(ps[0].Message, where+"the target advertises 17 sectors a command, frames that need an MTU of 8740, but "+host+"'s MTU is 1500") {
		t.Fatalf("standard host, jumbo target: %+v", ps)
	}
}

// TestCheckMixedMTUs: one target (two vblades, one per veth pair, as
// one target with two NICs) over two NICs of ours at different MTUs.
func TestCheckMixedMTUs(t *testing.T) {
	bed := testbed.New(t, 9000)
	second := bed.AddPeer()
	bed.StartTarget(1, 2, 8<<20)
	bed.StartTarget(1, 2, 8<<20, testbed.OnIface(second.Peer))
	ip(t, "link", "set", "dev", second.Host, "mtu", "1500")
	out, errOut, code := discover(t, "-i", bed.HostIface(), "-i", second.Host, "--timeout", "1s", "--check")
	w := warnings(out)
	first, other := bed.HostIface(), second.Host
	mixed := "warning: e1.2: reached over interfaces of different MTUs, " + first + " MTU 9000 (17 sectors a frame), " + other + " MTU 1500 (2 sectors a frame): " +
		"every frame is cut to fit the smallest, 2 sectors, on every path"
	if code != 3 || len(w) != 2 || !strings.Contains(w[0], "via "+other+" -> "+second.PeerMAC+": the target advertises 17 sectors") || !strings.HasPrefix(w[1], mixed) {
		t.Fatalf("exit %d, stderr %q, stdout:\n%s", code, errOut, out)
	}
}

// TestCheckPathWithoutIO: the same target on two MACs of one segment:
// vblade, and a quirktarget on a macvlan of the same veth end whose
// MTU (1500) is less than its advertised 17 sectors need. Both answer
// config queries and IDENTIFY; only vblade can send a full frame's
// answer. --check names the other path, although the scan's engine,
// which routes around it, identifies the target fine.
func TestCheckPathWithoutIO(t *testing.T) {
	bed := testbed.New(t, 9000)
	good := bed.StartTarget(1, 2, 8<<20)
	mv := "mv" + bed.PeerIface()[2:8]
	ns := []string{"-n", bed.Namespace()}
	ip(t, append(ns, "link", "add", "link", bed.PeerIface(), "name", mv, "mtu", "1500", "type", "macvlan", "mode", "bridge")...)
	ip(t, append(ns, "link", "set", "dev", mv, "up")...)
	var info []struct {
		Address string `json:"address"`
	}
	if err := json.Unmarshal(ip(t, append(append([]string{"-j"}, ns...), "link", "show", "dev", mv)...), &info); err != nil || len(info) != 1 {
		t.Fatalf("reading %s's MAC: %v", mv, err)
	}
	bad := info[0].Address
	bed.StartQuirkyTarget(1, 2, 8<<20, nil, testbed.OnIface(mv), testbed.Extra("-s", "17"))

	start := time.Now()
	out, errOut, code := discover(t, "-i", bed.HostIface(), "--timeout", "1s", "--check", "--json")
	var got []jsonTarget
	if err := json.Unmarshal([]byte(out), &got); err != nil || code != 3 || len(got) != 1 || got[0].Problems == nil {
		t.Fatalf("exit %d, stderr %q, stdout:\n%s", code, errOut, out)
	}
	if len(got[0].MACs) != 2 || got[0].Error != "" {
		t.Fatalf("the scan should find e1.2 on %s and %s and identify it: %+v", good.MAC(), bad, got[0])
	}
	ps := *got[0].Problems
	if len(ps) != 1 || ps[0].Kind != kindNoAnswer || ps[0].MAC != bad ||
		!strings.Contains(ps[0].Message, "e1.2 via "+bed.HostIface()+" -> "+bad+": answers config queries but carries no I/O: no answer to a read of 17 sectors") {
		t.Fatalf("want one warning, for %s: %+v", bad, ps)
	}
	// The build included; the engine's default deadline would be 60 s.
	if took := time.Since(start); took > 15*time.Second {
		t.Errorf("--check took %v: a silent path must cost about the --timeout", took)
	}
}
