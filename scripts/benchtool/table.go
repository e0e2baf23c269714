package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
)

// The lines the guest script prints, found anywhere on a console line:
//
//	BENCH workload=W mtu=M who=kernel|ceiling|ours rep=R first=WHO KEY=VALUE...
//	BENCH-VERIFY mtu=M name=N result=ok|...   (a data check)
//	BENCH-FAIL ...                              (a run failed)
//	BENCH-NOTE free text                        (copied into the report)
//	BENCH-WIRE workload=W mtu=M who=W rep=R ... (benchtool wire, on the host)
//
// The KEY=VALUE pairs of a BENCH line are Result.Line's, plus bs= and qd=
// for random reads and verify= for the hostile-link runs. who=ceiling is
// the NBD ceiling: the same workload on benchtool memdisk's device (our
// NBD server, an in-memory backend, no AoE); it is optional, and a group
// that has it in one repetition must have it in all.

// record is one BENCH line.
type record struct {
	workload, who, first string
	mtu, rep             int
	kv                   map[string]string
}

func (r record) num(key string) (float64, bool) {
	s, ok := r.kv[key]
	if !ok {
		return 0, false
	}
	v, err := strconv.ParseFloat(s, 64)
	return v, err == nil
}

// report is everything read from the console logs.
type report struct {
	records  []record
	wires    map[wireRun]record // BENCH-WIRE lines
	wantWire bool               // a perf run without its BENCH-WIRE line is a problem
	verifies []string           // BENCH-VERIFY lines (key=value text)
	fails    []string
	notes    []string
	problems []string // what makes the report a failure
}

func parseKV(fields []string) map[string]string {
	kv := map[string]string{}
	for _, f := range fields {
		if k, v, ok := strings.Cut(f, "="); ok {
			kv[k] = v
		}
	}
	return kv
}

// afterTag returns the text after "TAG " on the line, if the tag is there.
func afterTag(line, tag string) (string, bool) {
	i := strings.Index(line, tag+" ")
	if i < 0 {
		return "", false
	}
	return strings.TrimSpace(line[i+len(tag)+1:]), true
}

// wireRun names the run a BENCH-WIRE line is about.
type wireRun struct {
	workload, who string
	mtu, rep      int
}

func parseReport(in io.Reader) (*report, error) {
	rep := &report{wires: map[wireRun]record{}}
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		line := strings.TrimRight(sc.Text(), "\r")
		if s, ok := afterTag(line, "BENCH-FAIL"); ok {
			rep.fails = append(rep.fails, s)
			continue
		}
		if s, ok := afterTag(line, "BENCH-NOTE"); ok {
			rep.notes = append(rep.notes, s)
			continue
		}
		if s, ok := afterTag(line, "BENCH-WIRE"); ok {
			kv := parseKV(strings.Fields(s))
			mtu, err1 := strconv.Atoi(kv["mtu"])
			r, err2 := strconv.Atoi(kv["rep"])
			if err1 != nil || err2 != nil {
				rep.problems = append(rep.problems, "unparsable BENCH-WIRE line: "+s)
				continue
			}
			rep.wires[wireRun{kv["workload"], kv["who"], mtu, r}] = record{kv: kv}
			continue
		}
		if s, ok := afterTag(line, "BENCH-VERIFY"); ok {
			rep.verifies = append(rep.verifies, s)
			if parseKV(strings.Fields(s))["result"] != "ok" {
				rep.problems = append(rep.problems, "verification failed: "+s)
			}
			continue
		}
		s, ok := afterTag(line, "BENCH")
		if !ok {
			continue
		}
		kv := parseKV(strings.Fields(s))
		r := record{workload: kv["workload"], who: kv["who"], first: kv["first"], kv: kv}
		var err1, err2 error
		r.mtu, err1 = strconv.Atoi(kv["mtu"])
		r.rep, err2 = strconv.Atoi(kv["rep"])
		if r.workload == "" || (r.who != "kernel" && r.who != "ours" && r.who != "ceiling") || err1 != nil || err2 != nil {
			rep.problems = append(rep.problems, "unparsable BENCH line: "+s)
			continue
		}
		if v, ok := kv["verify"]; ok && v != "ok" {
			rep.problems = append(rep.problems, fmt.Sprintf("%s mtu=%d who=%s rep=%d: verify=%s", r.workload, r.mtu, r.who, r.rep, v))
		}
		rep.records = append(rep.records, r)
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	for _, f := range rep.fails {
		rep.problems = append(rep.problems, "run failed: "+f)
	}
	return rep, nil
}

// pair is the kernel's and our run of one workload in one repetition,
// and the NBD ceiling's if it was measured (nil if not).
type pair struct {
	kernel, ours *record
	ceiling      *record
}

// group is one workload at one MTU: its pairs in repetition order.
type group struct {
	workload string
	mtu      int
	pairs    []pair
}

// groups collects the records into pairs; a pair missing a side is a problem.
func (rep *report) groups() []*group {
	type key struct {
		w   string
		mtu int
	}
	byKey := map[key]*group{}
	var order []key
	reps := map[key]map[int]*pair{}
	for i := range rep.records {
		r := &rep.records[i]
		k := key{r.workload, r.mtu}
		if byKey[k] == nil {
			byKey[k] = &group{workload: r.workload, mtu: r.mtu}
			reps[k] = map[int]*pair{}
			order = append(order, k)
		}
		p := reps[k][r.rep]
		if p == nil {
			p = &pair{}
			reps[k][r.rep] = p
		}
		switch r.who {
		case "kernel":
			p.kernel = r
		case "ceiling":
			p.ceiling = r
		default:
			p.ours = r
		}
	}
	var out []*group
	for _, k := range order {
		g := byKey[k]
		var ns []int
		for n := range reps[k] {
			ns = append(ns, n)
		}
		slices.Sort(ns)
		withCeiling := false
		for _, n := range ns {
			withCeiling = withCeiling || reps[k][n].ceiling != nil
		}
		for _, n := range ns {
			p := reps[k][n]
			if p.kernel == nil || p.ours == nil {
				rep.problems = append(rep.problems, fmt.Sprintf("%s mtu=%d rep=%d: only one initiator's result", k.w, k.mtu, n))
				continue
			}
			if withCeiling && p.ceiling == nil {
				rep.problems = append(rep.problems, fmt.Sprintf("%s mtu=%d rep=%d: no NBD ceiling result (the other repetitions have one)", k.w, k.mtu, n))
			}
			g.pairs = append(g.pairs, *p)
		}
		out = append(out, g)
	}
	// Workloads in a fixed order (as the guest runs them), then MTU.
	rank := func(w string) int {
		for i, p := range []string{"seq-read", "seq-write", "randread-qd1", "randread-qd32", "hostile-write", "hostile-read"} {
			if w == p {
				return i
			}
		}
		return 100
	}
	slices.SortStableFunc(out, func(a, b *group) int {
		if d := rank(a.workload) - rank(b.workload); d != 0 {
			return d
		}
		return a.mtu - b.mtu
	})
	return out
}

func (g *group) hostile() bool { return strings.HasPrefix(g.workload, "hostile-") }
func (g *group) random() bool  { return strings.HasPrefix(g.workload, "randread") }

// label is the workload as the table names it: "seq-read 256MiB",
// "randread 4KiB qd32".
func (g *group) label() string {
	if len(g.pairs) == 0 {
		return g.workload
	}
	r := g.pairs[0].kernel
	if g.random() {
		bs, _ := r.num("bs")
		return fmt.Sprintf("randread %s qd%s", sizeLabel(int64(bs)), r.kv["qd"])
	}
	b, _ := r.num("bytes")
	return g.workload + " " + sizeLabel(int64(b))
}

func sizeLabel(b int64) string {
	switch {
	case b >= 1<<20 && b%(1<<20) == 0:
		return fmt.Sprintf("%dMiB", b>>20)
	case b >= 1<<10 && b%(1<<10) == 0:
		return fmt.Sprintf("%dKiB", b>>10)
	}
	return fmt.Sprintf("%dB", b)
}

// metric is a per-run number and how to show it.
type metric struct {
	key  string
	unit string
}

func (g *group) metric() metric {
	if g.random() {
		return metric{"iops", "IOPS"}
	}
	return metric{"mbps", "MB/s"}
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// stats are the medians of one metric over a group's pairs; ceiling is
// over the pairs that have it (NaN if none does).
type stats struct {
	kernel, ours, ratio float64
	ceiling             float64
	n                   int
}

func (g *group) stats(key string) stats {
	var k, o, r, c []float64
	for _, p := range g.pairs {
		kv, ok1 := p.kernel.num(key)
		ov, ok2 := p.ours.num(key)
		if !ok1 || !ok2 {
			continue
		}
		k, o = append(k, kv), append(o, ov)
		if kv > 0 {
			r = append(r, ov/kv)
		}
		if p.ceiling != nil {
			if cv, ok := p.ceiling.num(key); ok {
				c = append(c, cv)
			}
		}
	}
	return stats{kernel: median(k), ours: median(o), ratio: median(r), ceiling: median(c), n: len(k)}
}

// hasCeiling reports whether any of the group's pairs has an NBD ceiling run.
func (g *group) hasCeiling() bool {
	for _, p := range g.pairs {
		if p.ceiling != nil {
			return true
		}
	}
	return false
}

// gap splits the gap between the kernel driver (throughput K) and ours
// (O) at the NBD ceiling (C), from the three medians:
//
//	ours/kernel = O/K = C/K × O/C
//	hop         = C/K  what crossing from the kernel's aoe driver to an
//	                   nbd device served by our NBD server costs at best
//	engine      = O/C  what our AoE engine behind that server costs
//
// Below 1 is a cost, above 1 a gain. The shares split the gap on the same
// multiplicative (log) scale, so they add up to 100%:
//
//	hopShare = ln(K/C) / ln(K/O),  engineShare = ln(C/O) / ln(K/O)
//
// clamped to 0..100%: with the ceiling above the kernel (C ≥ K) the whole
// gap is the engine's, with ours at or above the ceiling (O ≥ C) the whole
// gap is the hop's. Without a gap (O ≥ K) there are no shares (NaN).
type gap struct {
	total, hop, engine    float64
	hopShare, engineShare float64
}

func gapOf(k, c, o float64) gap {
	g := gap{math.NaN(), math.NaN(), math.NaN(), math.NaN(), math.NaN()}
	if !(k > 0 && c > 0 && o > 0) { // NaN too
		return g
	}
	g.total, g.hop, g.engine = o/k, c/k, o/c
	if o >= k {
		return g
	}
	switch {
	case c >= k:
		g.hopShare = 0
	case o >= c:
		g.hopShare = 1
	default:
		g.hopShare = math.Log(k/c) / math.Log(k/o)
	}
	g.engineShare = 1 - g.hopShare
	return g
}

// String is the gap line's reading: "NBD hop 30%, ours 70%".
func (g gap) String() string {
	switch {
	case math.IsNaN(g.total):
		return "-"
	case math.IsNaN(g.hopShare):
		return "no gap (ours at or above the kernel)"
	}
	s := fmt.Sprintf("NBD hop %.0f%%, ours %.0f%%", 100*g.hopShare, 100*g.engineShare)
	switch {
	case g.hop >= 1:
		s += " (the ceiling is at or above the kernel)"
	case g.engine >= 1:
		s += " (ours is at or above the ceiling)"
	}
	return s
}

// withCeiling puts the ceiling's column between the kernel's and ours, if
// the table has one.
func withCeiling(has bool, kernel, ceiling, ours string) string {
	if has {
		return kernel + "\t" + ceiling + "\t" + ours
	}
	return kernel + "\t" + ours
}

// ceilingNum is r's value of key, if r is there and has it.
func ceilingNum(r *record, key string) float64 {
	if r == nil {
		return math.NaN()
	}
	if v, ok := r.num(key); ok {
		return v
	}
	return math.NaN()
}

func fmtVal(v float64, unit string) string {
	if math.IsNaN(v) {
		return "-"
	}
	switch {
	case unit == "IOPS" || v >= 1000:
		return fmt.Sprintf("%.0f %s", v, unit)
	case v >= 10:
		return fmt.Sprintf("%.1f %s", v, unit)
	}
	return fmt.Sprintf("%.2f %s", v, unit)
}

func fmtNum(v float64, format string) string {
	if math.IsNaN(v) {
		return "-"
	}
	return fmt.Sprintf(format, v)
}

func fint(v float64) string {
	if math.IsNaN(v) {
		return "-"
	}
	return fmt.Sprintf("%.0f", v)
}

func fmtRatio(v float64) string {
	if math.IsNaN(v) {
		return "-"
	}
	return fmt.Sprintf("%.2f", v)
}

// perMiB is frames per MiB moved, from a record's frame counters.
func perMiB(r *record) (float64, bool) {
	tx, ok1 := r.num("tx_frames")
	rx, ok2 := r.num("rx_frames")
	b, ok3 := r.num("bytes")
	if !ok1 || !ok2 || !ok3 || b == 0 {
		return 0, false
	}
	return (tx + rx) / (b / (1 << 20)), true
}

// ctxPerMiB is the guest's context switches per MiB moved.
func ctxPerMiB(r *record) (float64, bool) {
	c, ok1 := r.num("ctxt")
	b, ok2 := r.num("bytes")
	if !ok1 || !ok2 || b == 0 {
		return 0, false
	}
	return c / (b / (1 << 20)), true
}

func tableCmd(args []string) error {
	fs := flag.NewFlagSet("table", flag.ContinueOnError)
	wantWire := fs.Bool("wire", false, "every run must have its BENCH-WIRE line")
	if err := fs.Parse(args); err != nil {
		return exitError{2, err.Error()}
	}
	rep, err := parseReport(os.Stdin)
	if err != nil {
		return err
	}
	rep.wantWire = *wantWire
	rep.write(os.Stdout)
	if len(rep.problems) > 0 {
		return exitError{1, fmt.Sprintf("%d problem(s), see above", len(rep.problems))}
	}
	return nil
}

func (rep *report) write(w io.Writer) {
	groups := rep.groups()
	if len(rep.records) == 0 {
		rep.problems = append(rep.problems, "no BENCH results found")
	}
	var perf, hostile []*group
	for _, g := range groups {
		if g.hostile() {
			hostile = append(hostile, g)
		} else {
			perf = append(perf, g)
		}
	}

	hasC := false // an NBD ceiling column
	for _, g := range perf {
		hasC = hasC || g.hasCeiling()
	}
	head := "== raw pairs (ratio = ours/kernel; CPU = guest busy seconds per GiB moved; frames = eth0 tx+rx per MiB)"
	if hasC {
		head = "== raw runs (ceiling = the NBD ceiling: our NBD server, in-memory backend; ratio = ours/kernel; CPU = guest busy seconds per GiB moved; frames = eth0 tx+rx per MiB)"
	}
	fmt.Fprintln(w, head)
	tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "workload\tmtu\trep\tfirst\t"+withCeiling(hasC, "kernel", "ceiling", "ours")+"\tratio\t"+withCeiling(hasC, "CPU kernel", "CPU ceiling", "CPU ours")+"\tframes kernel\tframes ours\tours retx/lost\tkernel kicks")
	for _, g := range groups {
		m := g.metric()
		for _, p := range g.pairs {
			kv, _ := p.kernel.num(m.key)
			ov, _ := p.ours.num(m.key)
			ratio := math.NaN()
			if kv > 0 {
				ratio = ov / kv
			}
			kc, _ := p.kernel.num("cpu_s_per_gib")
			oc, _ := p.ours.num("cpu_s_per_gib")
			kf, okk := perMiB(p.kernel)
			of, oko := perMiB(p.ours)
			fstr := func(v float64, ok bool) string {
				if !ok {
					return "-"
				}
				return fmt.Sprintf("%.0f", v)
			}
			retx := "-"
			if x, ok := p.ours.kv["aoe_retx"]; ok {
				retx = x + "/" + p.ours.kv["aoe_lost"]
			}
			kicks := "-"
			if x, ok := p.kernel.kv["kicks"]; ok {
				kicks = x
			}
			first := p.kernel.first
			if p.ceiling != nil {
				first = p.ceiling.first // all three say it; the ceiling's is the newest format
			}
			fmt.Fprintf(tw, "%s\t%d\t%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", g.label(), g.mtu, p.kernel.rep, first,
				withCeiling(hasC, fmtVal(kv, m.unit), fmtVal(ceilingNum(p.ceiling, m.key), m.unit), fmtVal(ov, m.unit)), fmtRatio(ratio),
				withCeiling(hasC, fmt.Sprintf("%.1f", kc), fmtNum(ceilingNum(p.ceiling, "cpu_s_per_gib"), "%.1f"), fmt.Sprintf("%.1f", oc)),
				fstr(kf, okk), fstr(of, oko), retx, kicks)
		}
	}
	tw.Flush()

	if len(perf) > 0 {
		fmt.Fprintln(w)
		tw = tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
		n := 0
		for _, g := range perf {
			n = max(n, len(g.pairs))
		}
		cols := "kernel\tours"
		if hasC {
			cols = "kernel aoe\tNBD ceiling\tours"
		}
		fmt.Fprintf(tw, "workload\tmtu\t%s\tratio(ours/kernel, median of %d pairs)\n", cols, n)
		for _, g := range perf {
			m := g.metric()
			s := g.stats(m.key)
			note := ""
			if s.n != n {
				note = fmt.Sprintf(" (of %d)", s.n)
			}
			fmt.Fprintf(tw, "%s\t%d\t%s\t%s%s\n", g.label(), g.mtu,
				withCeiling(hasC, fmtVal(s.kernel, m.unit), fmtVal(s.ceiling, m.unit), fmtVal(s.ours, m.unit)), fmtRatio(s.ratio), note)
		}
		tw.Flush()

		if hasC {
			fmt.Fprintln(w)
			fmt.Fprintln(w, "Gap to the kernel driver, from the medians above (K kernel aoe, C NBD ceiling, O ours): O/K = C/K (the NBD hop) x O/C (our engine);")
			fmt.Fprintln(w, "the shares split the gap on that scale, ln(K/C) and ln(C/O) of ln(K/O), clamped to 0-100% (scripts/bench's header)")
			tw = tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
			fmt.Fprintln(tw, "workload\tmtu\tours/kernel\tNBD hop (ceiling/kernel)\tour engine (ours/ceiling)\tgap to kernel")
			for _, g := range perf {
				s := g.stats(g.metric().key)
				d := gapOf(s.kernel, s.ceiling, s.ours)
				fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\t%s\n", g.label(), g.mtu, fmtRatio(d.total), fmtRatio(d.hop), fmtRatio(d.engine), d)
			}
			tw.Flush()
		}

		fmt.Fprintln(w)
		fmt.Fprintln(w, "CPU seconds per GiB moved (guest /proc/stat user+nice+system+irq+softirq, both vCPUs, whole guest; lower is better)")
		tw = tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
		ceilingProc := ""
		if hasC {
			ceilingProc = "\tceiling: memdisk process"
		}
		fmt.Fprintln(tw, "workload\tmtu\t"+withCeiling(hasC, "kernel", "ceiling", "ours")+"\tratio(ours/kernel)\tours: aoe-attach process"+ceilingProc+"\tkernel runs: aoe-attach process")
		for _, g := range perf {
			s := g.stats("cpu_s_per_gib")
			var pc, kc, cc []float64
			for _, p := range g.pairs {
				if v, ok := p.ours.num("proc_cpu_s_per_gib"); ok {
					pc = append(pc, v)
				}
				if v, ok := p.kernel.num("proc_cpu_s_per_gib"); ok {
					kc = append(kc, v)
				}
				if v := ceilingNum(p.ceiling, "proc_cpu_s_per_gib"); !math.IsNaN(v) {
					cc = append(cc, v)
				}
			}
			if hasC {
				ceilingProc = "\t" + fmtVal(median(cc), "s/GiB")
			}
			fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s%s\t%s\n", g.label(), g.mtu,
				withCeiling(hasC, fmtVal(s.kernel, "s/GiB"), fmtVal(s.ceiling, "s/GiB"), fmtVal(s.ours, "s/GiB")),
				fmtRatio(s.ratio), fmtVal(median(pc), "s/GiB"), ceilingProc, fmtVal(median(kc), "s/GiB"))
		}
		tw.Flush()

		fmt.Fprintln(w)
		fmt.Fprintln(w, "Wire and scheduler (medians; frames = eth0 tx+rx; ctxsw = context switches in the whole guest; ours retx/lost = aoe-attach counters, summed over pairs; ours frames per send/receive = per sendmmsg/recvmmsg call, empty receives included)")
		tw = tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
		fmt.Fprintln(tw, "workload\tmtu\tframes/MiB kernel\tframes/MiB ours\tframes/s kernel\tframes/s ours\t"+withCeiling(hasC, "ctxsw/MiB kernel", "ctxsw/MiB ceiling", "ctxsw/MiB ours")+"\tours retx/lost\tours frames per send/receive")
		for _, g := range perf {
			var kc, oc, cc []float64
			for _, p := range g.pairs {
				if v, ok := ctxPerMiB(p.kernel); ok {
					kc = append(kc, v)
				}
				if v, ok := ctxPerMiB(p.ours); ok {
					oc = append(oc, v)
				}
				if p.ceiling != nil {
					if v, ok := ctxPerMiB(p.ceiling); ok {
						cc = append(cc, v)
					}
				}
			}
			var kf, of, kr, or, ps, pr []float64
			var retx, lost float64
			for _, p := range g.pairs {
				if v, ok := perMiB(p.kernel); ok {
					kf = append(kf, v)
				}
				if v, ok := perMiB(p.ours); ok {
					of = append(of, v)
				}
				fps := func(r *record) (float64, bool) {
					a, ok1 := r.num("tx_fps")
					b, ok2 := r.num("rx_fps")
					return a + b, ok1 && ok2
				}
				if v, ok := fps(p.kernel); ok {
					kr = append(kr, v)
				}
				if v, ok := fps(p.ours); ok {
					or = append(or, v)
				}
				x, _ := p.ours.num("aoe_retx")
				l, _ := p.ours.num("aoe_lost")
				retx, lost = retx+x, lost+l
				if v, ok := p.ours.num("aoe_frames_per_send"); ok {
					ps = append(ps, v)
				}
				if v, ok := p.ours.num("aoe_frames_per_receive"); ok {
					pr = append(pr, v)
				}
			}
			batching := "-"
			if len(ps) > 0 && len(pr) > 0 {
				batching = fmt.Sprintf("%.1f/%.1f", median(ps), median(pr))
			}
			fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\t%s\t%s\t%.0f/%.0f\t%s\n", g.label(), g.mtu, fint(median(kf)), fint(median(of)),
				fint(median(kr)), fint(median(or)), withCeiling(hasC, fint(median(kc)), fint(median(cc)), fint(median(oc))), retx, lost, batching)
		}
		tw.Flush()
	}

	if len(rep.wires) > 0 || rep.wantWire {
		rep.writeWire(w, perf)
	}

	if len(hostile) > 0 {
		fmt.Fprintln(w)
		fmt.Fprintln(w, "Hostile link (every byte verified: sha256 of what was written vs what was read back)")
		tw = tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
		fmt.Fprintln(tw, "workload\tmtu\tkernel\tours\tratio(ours/kernel MB/s)")
		for _, g := range hostile {
			for _, p := range g.pairs {
				show := func(r *record) string {
					secs, _ := r.num("secs")
					mbps, _ := r.num("mbps")
					s := fmt.Sprintf("%.1f s (%s)", secs, fmtVal(mbps, "MB/s"))
					if v, ok := r.kv["verify"]; ok {
						s += " " + v
					}
					if x, ok := r.kv["aoe_retx"]; ok {
						s += fmt.Sprintf(" retx %s", x)
					}
					return s
				}
				km, _ := p.kernel.num("mbps")
				om, _ := p.ours.num("mbps")
				ratio := math.NaN()
				if km > 0 {
					ratio = om / km
				}
				fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\n", g.label(), g.mtu, show(p.kernel), show(p.ours), fmtRatio(ratio))
			}
		}
		tw.Flush()
	}

	var kicks, kicked float64
	for _, g := range groups {
		for _, p := range g.pairs {
			if v, ok := p.kernel.num("kicks"); ok {
				kicks += v
				if v > 0 {
					kicked++
				}
			}
		}
	}
	if kicks > 0 {
		rep.notes = append(rep.notes, fmt.Sprintf("the kernel aoe driver stalled (no frame out, a request waiting) and was kicked with a 4 KiB read %.0f times, in %.0f of its runs: see scripts/benchtool/kick.go", kicks, kicked))
	}
	if len(rep.notes) > 0 {
		fmt.Fprintln(w)
		for _, n := range rep.notes {
			fmt.Fprintln(w, "note:", n)
		}
	}
	if len(rep.verifies) > 0 {
		fmt.Fprintln(w)
		for _, v := range rep.verifies {
			fmt.Fprintln(w, "verify:", v)
		}
	}
	if len(rep.problems) > 0 {
		fmt.Fprintln(w)
		for _, p := range rep.problems {
			fmt.Fprintln(w, "PROBLEM:", p)
		}
	}
}

// writeWire is the table of what benchtool wire saw on the host end of the
// guest's NIC: how fast the target answered, and so how much of the
// window waited at the target. The rest of the window waits in the guest.
func (rep *report) writeWire(w io.Writer, perf []*group) {
	if rep.wantWire {
		rep.checkWire(perf)
	}
	rate := func(r record) (float64, bool) {
		n, ok1 := r.num("replies")
		s, ok2 := r.num("seconds")
		return n / s, ok1 && ok2 && s > 0
	}
	key := func(k string) func(record) (float64, bool) { return func(r record) (float64, bool) { return r.num(k) } }
	frames := func(v float64) string {
		if math.IsNaN(v) {
			return "-"
		}
		return fmt.Sprintf("%.2f", v)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "At the target (benchtool wire on the host tap; medians over pairs): turnaround = request seen to reply seen; at target = frames waiting there, on average, of the window (vblade's buffer count: 16)")
	tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "workload\tmtu\treplies/s kernel\treplies/s ours\tturnaround kernel\tturnaround ours\tat target kernel\tat target ours")
	for _, g := range perf {
		col := func(who string, f func(record) (float64, bool)) float64 {
			var xs []float64
			for _, p := range g.pairs {
				if v, ok := f(rep.wires[wireRun{g.workload, who, g.mtu, p.kernel.rep}]); ok {
					xs = append(xs, v)
				}
			}
			return median(xs)
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\t%s\t%s\t%s\n", g.label(), g.mtu,
			fint(col("kernel", rate)), fint(col("ours", rate)),
			fmtVal(col("kernel", key("turnaround_mean_us")), "us"), fmtVal(col("ours", key("turnaround_mean_us")), "us"),
			frames(col("kernel", key("at_target"))), frames(col("ours", key("at_target"))))
	}
	tw.Flush()
}

// checkWire makes a problem of each perf run without its BENCH-WIRE line.
func (rep *report) checkWire(perf []*group) {
	for _, g := range perf {
		for _, p := range g.pairs {
			for _, r := range []*record{p.kernel, p.ours} {
				if _, ok := rep.wires[wireRun{r.workload, r.who, r.mtu, r.rep}]; !ok {
					rep.problems = append(rep.problems, fmt.Sprintf("no BENCH-WIRE line for workload=%s mtu=%d who=%s rep=%d: the host's wire watcher did not see the run's marks", r.workload, r.mtu, r.who, r.rep))
				}
			}
		}
	}
}
