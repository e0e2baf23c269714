package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/goaoe/goaoe/internal/cmdtest"
	"github.com/goaoe/goaoe/internal/testbed"
)

// cfg runs the aoe-cfg binary as a user would.
func cfg(t *testing.T, bin string, args ...string) (string, string, int) {
	t.Helper()
	return cmdtest.Run(t, bin, nil, args...)
}

func build(t *testing.T) string { return cmdtest.Build(t) }

// TestConfigAgainstVblade: a real vblade's string is read, set if empty,
// refused a second set-if-empty, force-set, and tested, exact and by
// prefix, for one target and for the whole segment.
func TestConfigAgainstVblade(t *testing.T) {
	bed := testbed.New(t, 1500)
	bed.StartTarget(1, 2, 1<<20)
	bin := build(t)
	i := []string{"-i", bed.HostIface()}
	steps := []struct {
		args []string
		code int
		out  string
		// err is what stderr holds, all of it when empty.
		err string
	}{
		{[]string{"e1.2"}, 0, "e1.2: \"\"\n", ""},
		{[]string{"--set", "hello", "e1.2"}, 0, "e1.2: \"hello\"\n", ""},
		{[]string{"e1.2"}, 0, "e1.2: \"hello\"\n", ""},
		// vblade answers AoE error 4, which the engine never passes on:
		// the read after the unconfirmed set finds the string.
		{[]string{"--set", "other", "e1.2"}, 1, "", `e1.2: config string set-if-empty: the target already has a config string "hello"; use --force to replace it`},
		{[]string{"e1.2"}, 0, "e1.2: \"hello\"\n", ""},
		// vblade 25 takes a set-if-empty of the string it has (the spec
		// says error 4); aoe-cfg calls it done either way.
		{[]string{"--set", "hello", "e1.2"}, 0, "e1.2: \"hello\"\n", ""},
		{[]string{"--set", "other", "--force", "e1.2"}, 0, "e1.2: \"other\"\n", ""},
		{[]string{"e1.2"}, 0, "e1.2: \"other\"\n", ""},
		{[]string{"--test", "other", "e1.2"}, 0, "e1.2: \"other\" matches \"other\"\n", ""},
		{[]string{"--test", "oth", "e1.2"}, 1, "e1.2: \"other\" does not match \"oth\"\n", ""},
		{[]string{"--test-prefix", "oth", "e1.2"}, 0, "e1.2: \"other\" starts with \"oth\"\n", ""},
		{[]string{"--test-prefix", "others", "e1.2"}, 1, "e1.2: \"other\" does not start with \"others\"\n", ""},
		// No target: every target on the segment is asked.
		{nil, 0, "e1.2: \"other\"\n", ""},
		{[]string{"--test-prefix", "ot"}, 0, "e1.2: \"other\"\n", ""},
		{[]string{"--test", "nobody"}, 1, "", `no target's config string is "nobody"`},
	}
	for _, s := range steps {
		out, errOut, code := cfg(t, bin, append(i, s.args...)...)
		if code != s.code || out != s.out || (s.err == "" && errOut != "") || !strings.Contains(errOut, s.err) {
			t.Fatalf("aoe-cfg %q: exit %d, stdout %q, stderr %q; want exit %d, %q, stderr %q", s.args, code, out, errOut, s.code, s.out, s.err)
		}
	}

	out, _, code := cfg(t, bin, append(i, "--test", "other", "--json", "e1.2")...)
	var got answer
	if err := json.Unmarshal([]byte(out), &got); err != nil || code != 0 {
		t.Fatalf("--json: exit %d, %v: %q", code, err, out)
	}
	// vblade 25: buffer count 16 (-b), firmware 0x4019, (1500-36)/512 sectors.
	if got.Target != "e1.2" || got.Config != "other" || got.Match == nil || !*got.Match ||
		got.BufferCount != 16 || got.Firmware != 0x4019 || got.MaxSectors != 2 || got.Interface != bed.HostIface() {
		t.Fatalf("--json: %+v", got)
	}
	out, _, code = cfg(t, bin, append(i, "--test", "oth", "--json", "e1.2")...)
	got = answer{}
	if err := json.Unmarshal([]byte(out), &got); err != nil || code != 1 || got.Match == nil || *got.Match || got.Config != "other" {
		t.Fatalf("--json of a mismatch: exit %d, %v: %q", code, err, out)
	}
}

// TestConfigMissingTarget: a target nobody exports is said to be missing,
// not to mismatch.
func TestConfigMissingTarget(t *testing.T) {
	bed := testbed.New(t, 1500)
	bin := build(t)
	_, errOut, code := cfg(t, bin, "-i", bed.HostIface(), "-t", "500ms", "--test", "x", "e1.9")
	if code != 1 || !strings.Contains(errOut, "e1.9: config string read: no answer on "+bed.HostIface()) {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
}

// TestConfigUsage: command lines that make no sense exit 2, before any
// frame is sent.
func TestConfigUsage(t *testing.T) {
	bin := build(t)
	for _, s := range []struct {
		args []string
		want string
	}{
		{[]string{"--set", "a", "--test", "a", "e1.2"}, "pick one"},
		{[]string{"--force", "e1.2"}, "--force goes with --set"},
		{[]string{"--set", "a"}, "--set needs a target"},
		{[]string{"--set", strings.Repeat("x", 1025), "e1.2"}, "at most 1024 bytes"},
		{[]string{"e1.2", "e1.3"}, "one target at most"},
		{[]string{"e1.2", "--set", "a"}, "options go before the target"},
		{[]string{"shelf1"}, "bad AoE target"},
	} {
		if _, errOut, code := cfg(t, bin, s.args...); code != 2 || !strings.Contains(errOut, s.want) {
			t.Errorf("aoe-cfg %.60q: exit %d, stderr %q; want exit 2, %q", s.args, code, errOut, s.want)
		}
	}
}
