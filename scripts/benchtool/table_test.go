package main

import (
	"math"
	"os"
	"strings"
	"testing"
)

// A console as the guest prints it: kernel noise, CR LF line ends, a
// result line glued to other output.
const console = "goaoe-guest: kernel 6.1.0, 1 nic(s), mtu 1500; running /guest.sh\r\n" +
	"BENCH-NOTE mtu=1500: test note\n" +
	"BENCH-VERIFY mtu=1500 name=written-by-ours-read-by-kernel mib=4 result=ok\n" +
	"BENCH workload=seq-read mtu=1500 who=kernel rep=1 first=kernel bytes=268435456 secs=10 mbps=20 cpu_s=5 cpu_s_per_gib=20 tx_frames=262144 rx_frames=262144 tx_fps=26214 rx_fps=26214\r\n" +
	"BENCH workload=seq-read mtu=1500 who=ours rep=1 first=kernel bytes=268435456 secs=20 mbps=10 cpu_s=10 cpu_s_per_gib=40 proc_cpu_s=8 proc_cpu_s_per_gib=32 tx_frames=262200 rx_frames=262200 tx_fps=13110 rx_fps=13110 aoe_retx=56 aoe_lost=3\n" +
	"[   12.3] random: crng init done BENCH workload=seq-read mtu=1500 who=ours rep=2 first=ours bytes=268435456 secs=10 mbps=30 cpu_s=10 cpu_s_per_gib=40\n" +
	"BENCH workload=seq-read mtu=1500 who=kernel rep=2 first=ours bytes=268435456 secs=10 mbps=20 cpu_s=5 cpu_s_per_gib=20\n" +
	"BENCH workload=seq-read mtu=1500 who=kernel rep=3 first=kernel bytes=268435456 secs=10 mbps=10 cpu_s=5 cpu_s_per_gib=20\n" +
	"BENCH workload=seq-read mtu=1500 who=ours rep=3 first=kernel bytes=268435456 secs=10 mbps=20 cpu_s=5 cpu_s_per_gib=20\n" +
	"BENCH workload=randread-qd32 mtu=9000 who=kernel rep=1 first=kernel bs=4096 qd=32 bytes=4096000 secs=2 iops=500 cpu_s=1 cpu_s_per_gib=100\n" +
	"BENCH workload=randread-qd32 mtu=9000 who=ours rep=1 first=kernel bs=4096 qd=32 bytes=4096000 secs=2 iops=250 cpu_s=1 cpu_s_per_gib=100\n" +
	// From the host's wire log, for two of the three seq-read pairs.
	"BENCH-WIRE workload=seq-read mtu=1500 who=kernel rep=1 seconds=10 requests=262144 replies=262144 answered=262144 turnaround_mean_us=50 turnaround_p50_us=40 turnaround_p90_us=90 at_target=1.31\n" +
	"BENCH-WIRE workload=seq-read mtu=1500 who=ours rep=1 seconds=20 requests=262200 replies=262200 answered=262190 turnaround_mean_us=40 turnaround_p50_us=30 turnaround_p90_us=80 at_target=0.52\n" +
	"BENCH-WIRE workload=seq-read mtu=1500 who=kernel rep=2 seconds=10 requests=262144 replies=262144 answered=262144 turnaround_mean_us=70 turnaround_p50_us=40 turnaround_p90_us=90 at_target=1.83\n" +
	"BENCH-WIRE workload=seq-read mtu=1500 who=ours rep=2 seconds=10 requests=262144 replies=262144 answered=262144 turnaround_mean_us=60 turnaround_p50_us=30 turnaround_p90_us=80 at_target=1.57\n"

func TestReport(t *testing.T) {
	rep, err := parseReport(strings.NewReader(console))
	if err != nil {
		t.Fatal(err)
	}
	gs := rep.groups()
	if len(rep.problems) != 0 {
		t.Fatalf("problems: %q", rep.problems)
	}
	if len(gs) != 2 {
		t.Fatalf("%d groups, want 2", len(gs))
	}
	seq, rnd := gs[0], gs[1]
	if got := seq.label(); got != "seq-read 256MiB" {
		t.Errorf("label %q", got)
	}
	if got := rnd.label(); got != "randread 4KiB qd32" {
		t.Errorf("label %q", got)
	}
	// Ratios 0.5, 1.5, 2: the median of the ratios, not the ratio of the
	// medians (which would be 20/20).
	s := seq.stats("mbps")
	if s.n != 3 || s.kernel != 20 || s.ours != 20 || s.ratio != 1.5 {
		t.Errorf("seq stats %+v, want n=3 kernel=20 ours=20 ratio=1.5", s)
	}
	if s := rnd.stats("iops"); s.ratio != 0.5 || rnd.metric().unit != "IOPS" {
		t.Errorf("random-read stats %+v", s)
	}
	var out strings.Builder
	rep.write(&out)
	for _, want := range []string{
		"ratio(ours/kernel, median of 3 pairs)",
		"seq-read 256MiB     1500  20.0 MB/s  20.0 MB/s  1.50",
		"randread 4KiB qd32  9000  500 IOPS   250 IOPS   0.50 (of 1)",
		"note: mtu=1500: test note",
		// Medians of the two pairs the wire log has: 26214 and 19662
		// replies/s, 60 and 50 us, 1.57 and 1.04 frames at the target.
		"seq-read 256MiB     1500  26214             19662           60.0 us            50.0 us          1.57              1.04",
		"randread 4KiB qd32  9000  -                 -               -                  -                -                 -",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, out.String())
		}
	}
	if len(rep.problems) != 0 {
		t.Errorf("problems: %q", rep.problems)
	}
}

func TestReportProblems(t *testing.T) {
	in := "BENCH workload=seq-read mtu=1500 who=kernel rep=1 first=kernel bytes=1048576 secs=1 mbps=1\n" +
		"BENCH-VERIFY mtu=1500 name=x result=mismatch\n" +
		"BENCH workload=hostile-read mtu=1500 who=ours rep=1 first=kernel verify=mismatch bytes=1048576 secs=1 mbps=1\n" +
		"BENCH workload=hostile-read mtu=1500 who=kernel rep=1 first=kernel verify=ok bytes=1048576 secs=1 mbps=1\n" +
		"BENCH-FAIL mtu=1500 workload=seq-write who=ours: exit status 1\n"
	rep, err := parseReport(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	rep.write(&out)
	// The mismatch, the hostile mismatch, the failure, the lone half pair.
	if len(rep.problems) != 4 {
		t.Errorf("%d problems, want 4: %q", len(rep.problems), rep.problems)
	}
	// Wire lines wanted: rep 1 of seq-read has none.
	noWire, _ := parseReport(strings.NewReader("BENCH workload=seq-read mtu=1500 who=kernel rep=1 first=kernel bytes=1048576 secs=1 mbps=1\n" +
		"BENCH workload=seq-read mtu=1500 who=ours rep=1 first=kernel bytes=1048576 secs=1 mbps=1\n" +
		"BENCH-WIRE workload=seq-read mtu=1500 who=ours rep=1 seconds=1 replies=10 turnaround_mean_us=50 at_target=0.5\n"))
	noWire.wantWire = true
	noWire.write(&out)
	if len(noWire.problems) != 1 || !strings.Contains(noWire.problems[0], "no BENCH-WIRE line for workload=seq-read mtu=1500 who=kernel rep=1") {
		t.Errorf("a run without its wire line: problems %q", noWire.problems)
	}
	empty, _ := parseReport(strings.NewReader("nothing here\n"))
	empty.write(&out)
	if len(empty.problems) != 1 {
		t.Errorf("no results: problems %q", empty.problems)
	}
}

func TestMedian(t *testing.T) {
	for _, c := range []struct {
		in   []float64
		want float64
	}{{[]float64{3, 1, 2}, 2}, {[]float64{4, 1, 3, 2}, 2.5}, {[]float64{7}, 7}} {
		if got := median(c.in); got != c.want {
			t.Errorf("median(%v) = %v, want %v", c.in, got, c.want)
		}
	}
	if !math.IsNaN(median(nil)) {
		t.Error("median of nothing is not NaN")
	}
}

func TestProcTicks(t *testing.T) {
	// Our own process: the parser copes with the real format.
	if _, err := procTicks(1); err != nil {
		t.Skip("needs /proc (procfs): parses /proc/1/stat:", err)
	}
	busy, idle, ncpu, ctxt, intr, err := cpuTicks()
	if err != nil || busy == 0 || idle == 0 || ncpu < 1 || ctxt == 0 || intr == 0 {
		t.Errorf("cpuTicks = %d, %d, %d, %d, %d, %v", busy, idle, ncpu, ctxt, intr, err)
	}
	if procCtxtSwitches(os.Getpid()) == 0 {
		t.Error("no context switches counted for this process")
	}
}

func TestAoeOutstanding(t *testing.T) {
	dir := t.TempDir()
	p := dir + "/e1.2"
	os.WriteFile(p, []byte("rttavg: 1873 rttdev: 1305\nnskbpool: 9\nkicked: 1\nmaxbcnt: 1024\nref: 0\nfalloc: 512\nffree: 00000000dadfc428\n"+
		"e6517e85b54e:0:16:16\n\tssthresh:8\n\ttaint:0\n\tr:604576\n\tw:392705\n\teth0\n"+
		"e6517e85b54f:3:16:16\n"), 0o644)
	if n, ok := aoeOutstanding(p); !ok || n != 3 {
		t.Errorf("aoeOutstanding = %d, %v; want 3, true", n, ok)
	}
	if _, ok := aoeOutstanding(dir + "/missing"); ok {
		t.Error("a missing file reads as ok")
	}
}

func TestGap(t *testing.T) {
	near := func(a, b float64) bool { return math.Abs(a-b) < 1e-9 }
	for _, c := range []struct {
		k, c, o                      float64
		total, hop, engine, hopShare float64
		reading                      string
	}{
		// Halved twice: half the gap each, on the multiplicative scale.
		{100, 50, 25, 0.25, 0.5, 0.5, 0.5, "NBD hop 50%, ours 50%"},
		// ln(100/80) / ln(100/40) = 0.2435.
		{100, 80, 40, 0.4, 0.8, 0.5, math.Log(1.25) / math.Log(2.5), "NBD hop 24%, ours 76%"},
		// The ceiling above the kernel: the whole gap is ours.
		{100, 150, 50, 0.5, 1.5, 1.0 / 3, 0, "NBD hop 0%, ours 100% (the ceiling is at or above the kernel)"},
		// Ours above the ceiling (noise): the whole gap is the hop's.
		{100, 50, 60, 0.6, 0.5, 1.2, 1, "NBD hop 100%, ours 0% (ours is at or above the ceiling)"},
		// No gap at all.
		{100, 120, 110, 1.1, 1.2, 110.0 / 120, math.NaN(), "no gap (ours at or above the kernel)"},
		// No ceiling measured.
		{100, math.NaN(), 50, math.NaN(), math.NaN(), math.NaN(), math.NaN(), "-"},
		{0, 50, 50, math.NaN(), math.NaN(), math.NaN(), math.NaN(), "-"},
	} {
		g := gapOf(c.k, c.c, c.o)
		same := func(a, b float64) bool { return math.IsNaN(a) && math.IsNaN(b) || near(a, b) }
		if !same(g.total, c.total) || !same(g.hop, c.hop) || !same(g.engine, c.engine) || !same(g.hopShare, c.hopShare) {
			t.Errorf("gapOf(%v, %v, %v) = %+v, want total %v hop %v engine %v hop share %v", c.k, c.c, c.o, g, c.total, c.hop, c.engine, c.hopShare)
		}
		if !math.IsNaN(g.hopShare) && !near(g.hopShare+g.engineShare, 1) {
			t.Errorf("gapOf(%v, %v, %v): shares %v + %v are not 100%%", c.k, c.c, c.o, g.hopShare, g.engineShare)
		}
		if !math.IsNaN(g.total) && !near(g.hop*g.engine, g.total) {
			t.Errorf("gapOf(%v, %v, %v): hop x engine = %v, not ours/kernel %v", c.k, c.c, c.o, g.hop*g.engine, g.total)
		}
		if got := g.String(); got != c.reading {
			t.Errorf("gapOf(%v, %v, %v) reads %q, want %q", c.k, c.c, c.o, got, c.reading)
		}
	}
}

// A console with the NBD ceiling as a third member of each group.
const ceilingConsole = "BENCH workload=seq-read mtu=1500 who=kernel rep=1 first=kernel bytes=268435456 secs=10 mbps=20 cpu_s=5 cpu_s_per_gib=20\n" +
	"BENCH workload=seq-read mtu=1500 who=ceiling rep=1 first=kernel bytes=268435456 secs=5 mbps=16 cpu_s=3 cpu_s_per_gib=12 proc_cpu_s=1 proc_cpu_s_per_gib=4 ctxt=2560\n" +
	"BENCH workload=seq-read mtu=1500 who=ours rep=1 first=kernel bytes=268435456 secs=20 mbps=8 cpu_s=10 cpu_s_per_gib=40\n" +
	"BENCH workload=seq-read mtu=1500 who=ours rep=2 first=ours bytes=268435456 secs=20 mbps=12 cpu_s=10 cpu_s_per_gib=40\n" +
	"BENCH workload=seq-read mtu=1500 who=ceiling rep=2 first=ours bytes=268435456 secs=5 mbps=12 cpu_s=3 cpu_s_per_gib=14 proc_cpu_s=1 proc_cpu_s_per_gib=6 ctxt=2560\n" +
	"BENCH workload=seq-read mtu=1500 who=kernel rep=2 first=ours bytes=268435456 secs=10 mbps=20 cpu_s=5 cpu_s_per_gib=20\n" +
	"BENCH workload=randread-qd1 mtu=1500 who=kernel rep=1 first=kernel bs=4096 qd=1 bytes=4096000 secs=2 iops=500\n" +
	"BENCH workload=randread-qd1 mtu=1500 who=ceiling rep=1 first=kernel bs=4096 qd=1 bytes=4096000 secs=2 iops=1000\n" +
	"BENCH workload=randread-qd1 mtu=1500 who=ours rep=1 first=kernel bs=4096 qd=1 bytes=4096000 secs=2 iops=250\n" +
	"BENCH workload=hostile-read mtu=1500 who=kernel rep=1 first=kernel verify=ok bytes=4194304 secs=2 mbps=2\n" +
	"BENCH workload=hostile-read mtu=1500 who=ours rep=1 first=kernel verify=ok bytes=4194304 secs=2 mbps=1\n"

func TestReportCeiling(t *testing.T) {
	rep, err := parseReport(strings.NewReader(ceilingConsole))
	if err != nil {
		t.Fatal(err)
	}
	gs := rep.groups()
	if len(rep.problems) != 0 {
		t.Fatalf("problems: %q", rep.problems)
	}
	// K 20, C 14 (median of 16 and 12), O 10 (of 8 and 12).
	if s := gs[0].stats("mbps"); s.kernel != 20 || s.ceiling != 14 || s.ours != 10 {
		t.Errorf("seq-read stats %+v, want kernel 20 ceiling 14 ours 10", s)
	}
	var out strings.Builder
	rep.write(&out)
	for _, want := range []string{
		"workload           mtu   kernel aoe  NBD ceiling  ours       ratio(ours/kernel, median of 2 pairs)",
		"seq-read 256MiB    1500  20.0 MB/s   14.0 MB/s    10.0 MB/s  0.50",
		"randread 4KiB qd1  1500  500 IOPS    1000 IOPS    250 IOPS   0.50 (of 1)",
		// The gap lines: C/K 0.70 x O/C 0.71 = 0.50, ln(20/14)/ln(2) =
		// 51% of the gap the hop's; at qd1 the ceiling is above the kernel.
		"seq-read 256MiB    1500  0.50         0.70                      0.71                       NBD hop 51%, ours 49%",
		"randread 4KiB qd1  1500  0.50         2.00                      0.25                       NBD hop 0%, ours 100% (the ceiling is at or above the kernel)",
		// CPU: the ceiling's and its process's columns.
		"seq-read 256MiB    1500  20.0 s/GiB  13.0 s/GiB  40.0 s/GiB  2.00                -                         5.00 s/GiB                -",
		// Raw runs: the ceiling's column, and "-" for hostile runs without one.
		"seq-read 256MiB    1500  2    ours    20.0 MB/s  12.0 MB/s  12.0 MB/s  0.60   20.0        14.0         40.0",
		"hostile-read 4MiB  1500  1    kernel  2.00 MB/s  -          1.00 MB/s  0.50",
		// Context switches per MiB: 2560 over 256 MiB.
		"ctxsw/MiB ceiling",
		"-                 10                 -",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, out.String())
		}
	}
	if len(rep.problems) != 0 {
		t.Errorf("problems: %q", rep.problems)
	}

	// A group with the ceiling in one repetition but not in another.
	missing := strings.Replace(ceilingConsole, "BENCH workload=seq-read mtu=1500 who=ceiling rep=2", "BENCH-IGNORED", 1)
	rep, _ = parseReport(strings.NewReader(missing))
	rep.groups()
	if len(rep.problems) != 1 || !strings.Contains(rep.problems[0], "seq-read mtu=1500 rep=2: no NBD ceiling result") {
		t.Errorf("a missing ceiling run: problems %q", rep.problems)
	}
}

func TestParseSize(t *testing.T) {
	for in, want := range map[string]int64{"512M": 512 << 20, "1G": 1 << 30, "64K": 64 << 10, "1073741824": 1 << 30} {
		if got, err := parseSize(in); err != nil || got != want {
			t.Errorf("parseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "0", "-1M", "1000", "1T", "M", "9999999999999G"} {
		if got, err := parseSize(in); err == nil {
			t.Errorf("parseSize(%q) = %d, no error", in, got)
		}
	}
}
