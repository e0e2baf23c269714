package e2e

import (
	"strconv"
	"testing"
	"time"
)

// TestMultipath: with three NICs to one vblade, reads use every NIC and
// add up; a slow NIC added to a fast one helps instead of holding it back;
// a NIC whose host end goes down mid-write costs no I/O error and carries
// traffic again within 2 s of coming back; a NIC that was down at attach
// joins when it comes up. The host hook rate-limits and downs the taps.
// Jumbo frames keep the TCG guest's own per-frame cost (about 4.5 MB/s at
// 1 KiB frames) below the links' rates, so the links are what is measured.
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
	num := func(key string) float64 {
		t.Helper()
		v, err := strconv.ParseFloat(r.must(t, key), 64)
		if err != nil {
			t.Fatalf("%s = %q, not a number", key, r.last(key))
		}
		return v
	}
	agg1, agg2, agg3 := num("agg1"), num("agg2"), num("agg3")
	t.Logf("equal NICs at 20 Mbit/s: 1 NIC %.2f MB/s, 2 NICs %.2f (%.2fx), 3 NICs %.2f (%.2fx)", agg1, agg2, agg2/agg1, agg3, agg3/agg1)
	r.expect(t, "paths_used2", "2")
	r.expect(t, "paths_used3", "3")
	// The benchmark reports the ratio; here only a floor that a path
	// carrying nothing, or round robin held back, would miss.
	if agg2 < 1.7*agg1 || agg3 < 2.4*agg1 {
		t.Errorf("aggregation too low: 2 NICs %.2fx, 3 NICs %.2fx of one", agg2/agg1, agg3/agg1)
	}
	fast, both := num("fast"), num("both")
	t.Logf("unequal NICs (40 and 10 Mbit/s): fast alone %.2f MB/s, both %.2f (%.2fx; their sum would be 1.25x)", fast, both, both/fast)
	if both < 1.15*fast {
		t.Errorf("adding a 10 Mbit/s NIC to a 40 Mbit/s one gave %.2fx, want at least 1.15x", both/fast)
	}
	r.expect(t, "failover_write_rc", "0")
	r.expect(t, "failover_sha_match", "yes")
	r.expect(t, "failover_eth1_state", "down")
	if back, err := strconv.ParseFloat(r.must(t, "failover_back_secs"), 64); err != nil || back > 2 {
		t.Errorf("eth1 carried traffic again after %s s, want within 2", r.last("failover_back_secs"))
	}
	r.expect(t, "join_paths_before", "2")
	if j, err := strconv.ParseFloat(r.must(t, "join_secs"), 64); err != nil || j > 2 {
		t.Errorf("eth2 joined after %s s, want within 2", r.last("join_secs"))
	}
	if n, _ := strconv.Atoi(r.must(t, "join_eth2_replies")); n == 0 {
		t.Error("eth2 carried no traffic after it joined")
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
