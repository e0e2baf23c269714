package main

import (
	"net"
	"strings"
	"testing"

	"github.com/goaoe/goaoe/internal/cmdtest"
	"github.com/goaoe/goaoe/internal/testbed"
)

// mask runs aoe-mask as a user would.
func mask(t *testing.T, bin string, args ...string) (string, string, int) {
	t.Helper()
	return cmdtest.Run(t, bin, nil, args...)
}

func build(t *testing.T) string { return cmdtest.Build(t) }

// TestMaskAgainstVblade: the list of a real vblade is read and grown; its
// broken removals (vblade 25 skips all but the first entry, and aborts on
// that one; it also mangles its list when a MAC is added twice, so the
// test does not) are reported as such; a list without this host makes the
// target ignore this host (aoe-mask warns, and the target then answers
// nothing) until vblade is restarted with its list empty.
func TestMaskAgainstVblade(t *testing.T) {
	bed := testbed.New(t, 1500)
	tgt := bed.StartTarget(1, 2, 1<<20)
	bin := build(t)
	ifi, err := net.InterfaceByName(bed.HostIface())
	if err != nil {
		t.Fatal(err)
	}
	me, other := ifi.HardwareAddr.String(), "02:77:77:77:77:77"
	i := []string{"-i", bed.HostIface()}
	steps := []struct {
		args []string
		want string
	}{
		{nil, "e1.2: empty (every initiator is served)\n"},
		{[]string{"+" + me, "+" + other}, "e1.2: " + me + " " + other + "\n"},
		{nil, "e1.2: " + me + " " + other + "\n"},
	}
	for _, s := range steps {
		out, errOut, code := mask(t, bin, append(append(i, "e1.2"), s.args...)...)
		if code != 0 || out != s.want || errOut != "" {
			t.Fatalf("aoe-mask e1.2 %v: exit %d, stdout %q, stderr %q; want %q", s.args, code, out, errOut, s.want)
		}
	}
	// vblade 25 removes nothing but the first MAC of its list, and says
	// it did: the edit is checked against the list it answers with.
	_, errOut, code := mask(t, bin, append(i, "e1.2", "-"+other)...)
	if code != 1 || !strings.Contains(errOut, "kept "+other) || !strings.Contains(errOut, "its list now: "+me+" "+other) {
		t.Fatalf("a removal the target did not do: exit %d, stderr %q; want exit 1 naming it", code, errOut)
	}
	// And it dies removing the first: no answer, said as such.
	_, errOut, code = mask(t, bin, append(i, "e1.2", "-"+me)...)
	if code != 1 || !strings.Contains(errOut, "no answer to the edit") {
		t.Fatalf("a removal that kills vblade: exit %d, stderr %q", code, errOut)
	}
	tgt.Restart()

	// Only another host on the list: the target refuses us from now on.
	out, errOut, code := mask(t, bin, append(i, "e1.2", "+"+other)...)
	if code != 0 || out != "e1.2: "+other+"\n" || !strings.Contains(errOut, "ignores this host") {
		t.Fatalf("locking ourselves out: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	if _, errOut, code := mask(t, bin, append(i, "e1.2")...); code != 1 || !strings.Contains(errOut, "did not answer") {
		t.Fatalf("a target that masks us out: exit %d, stderr %q; want exit 1, no answer", code, errOut)
	}
	tgt.Restart()
	if out, _, code := mask(t, bin, append(i, "e1.2")...); code != 0 || !strings.Contains(out, "empty") {
		t.Fatalf("after vblade restarted: exit %d, %q", code, out)
	}
}

// TestMaskWithoutMaskList: a target that drops the command without a word
// is said not to have a mask list, within the probe's seconds.
func TestMaskWithoutMaskList(t *testing.T) {
	bed := testbed.New(t, 1500)
	bed.StartQuirkyTarget(1, 3, 1<<20, []string{"silent-control"})
	bin := build(t)
	_, errOut, code := mask(t, bin, "-i", bed.HostIface(), "e1.3")
	if code != 1 || !strings.Contains(errOut, "does not implement the MAC mask list") {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
	if _, errOut, code := mask(t, bin, "e1.3", "02:00:00:00:00:01"); code != 2 || !strings.Contains(errOut, "+MAC") {
		t.Fatalf("a MAC without + or -: exit %d, stderr %q", code, errOut)
	}
}
