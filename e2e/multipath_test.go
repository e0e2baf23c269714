package e2e

import (
	"strconv"
	"testing"
	"time"
)

// TestMultipath: with three NICs to one vblade, reads use every NIC, and
// a slow NIC added to a fast one carries its share; a NIC whose host end
// goes down mid-write costs no I/O error and no byte (sha256), and carries
// traffic again once it is back; a NIC that was down at attach joins when
// it comes up and carries traffic. The host hook rate-limits and downs the
// taps. Jumbo frames keep the TCG guest's own per-frame cost (about 4.5 MB/s
// at 1 KiB frames) below the links' rates, so the links are what is
// measured.
//
// Only what is deterministic passes or fails: which paths carried frames,
// no I/O error, equal sha256. Throughput ratios and how many seconds a NIC
// took to come back or to join depend on how busy the machine is (CI saw
// 0.95x against a 1.15x bar): they are logged here, and
// scripts/bench-multipath reports the ratios.
func TestMultipath(t *testing.T) {
	needGuest(t)
	img := sparseFile(t, t.TempDir(), "e1.2.img", 512<<20)
	r := boot(t, bootOptions{
		Script:   "multipath.sh",
		Targets:  []target{{Addr: "1.2", File: img}},
		NICs:     3,
		MTU:      9000,
		HostHook: "host-hook.sh",
		Timeout:  8 * time.Minute,
	})
	// num is a timing the guest measured, for the log only: "?" if the
	// guest printed none or not a number.
	num := func(key string) string {
		v, err := strconv.ParseFloat(r.last(key), 64)
		if err != nil {
			return "?"
		}
		return strconv.FormatFloat(v, 'f', 2, 64)
	}
	ratio := func(a, b string) string {
		x, errx := strconv.ParseFloat(a, 64)
		y, erry := strconv.ParseFloat(b, 64)
		if errx != nil || erry != nil || y == 0 {
			return "?"
		}
		return strconv.FormatFloat(x/y, 'f', 2, 64) + "x"
	}
	agg1, agg2, agg3 := num("agg1"), num("agg2"), num("agg3")
	t.Logf("equal NICs at 20 Mbit/s (not checked): 1 NIC %s MB/s, 2 NICs %s (%s), 3 NICs %s (%s)",
		agg1, agg2, ratio(agg2, agg1), agg3, ratio(agg3, agg1))
	r.expect(t, "paths_used2", "2")
	r.expect(t, "paths_used3", "3")
	join := num("aggjoin")
	t.Logf("2 equal NICs, the second up after attach (not checked): %s MB/s (%s of one NIC)", join, ratio(join, agg1))
	r.expect(t, "paths_used_join", "2")
	fast, both := num("fast"), num("both")
	t.Logf("unequal NICs, 40 and 10 Mbit/s (not checked): fast alone %s MB/s, both %s (%s; their sum would be 1.25x)",
		fast, both, ratio(both, fast))
	r.expect(t, "paths_used_both", "2")

	r.expect(t, "failover_write_rc", "0")
	r.expect(t, "failover_sha_match", "yes")
	r.expect(t, "failover_eth1_state", "down")
	if back := r.must(t, "failover_back_secs"); back == "never" {
		t.Error("eth1 carried no traffic again within 30 s of coming back")
	} else {
		t.Logf("eth1 carried traffic again after %s s (not checked)", back)
	}

	r.expect(t, "join_paths_before", "2")
	if j := r.must(t, "join_secs"); j == "never" {
		t.Error("eth2 did not join within 30 s of coming up")
	} else {
		t.Logf("eth2 joined after %s s (not checked)", j)
	}
	if n, err := strconv.Atoi(r.must(t, "join_eth2_replies")); err != nil || n == 0 {
		t.Errorf("eth2 carried no traffic after it joined (replies %q)", r.last("join_eth2_replies"))
	}
}

// TestDualPortTarget: the same file exported by two vblade processes on
// two host bridges is one target with two MACs; both carry traffic.
func TestDualPortTarget(t *testing.T) {
	needGuest(t)
	img := sparseFile(t, t.TempDir(), "e1.2.img", 256<<20)
	r := boot(t, bootOptions{
		Script:  "dualport.sh",
		Targets: []target{{Addr: "1.2", File: img}, {Addr: "1.2", File: img, Bridge: 1}},
		NICs:    2,
		Bridges: 2,
		Timeout: 4 * time.Minute,
	})
	r.expect(t, "macs", "2")
	r.expect(t, "macs_used", "2")
	r.expect(t, "sha_match", "yes")
}
