package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/goaoe/goaoe/session"
)

// userHZ is the unit of /proc/stat and /proc/PID/stat times (USER_HZ,
// which is 100 on every Linux architecture that matters here).
const userHZ = 100

const gib = 1 << 30

// measureFlags are shared by the subcommands that measure something.
type measureFlags struct {
	pid        int
	iface      string
	state      string
	timeout    time.Duration
	kick       string // block device to kick when the aoe driver stalls (see kick.go)
	kickDebugf string
	kicker     *kicker
}

func (m *measureFlags) register(fs *flag.FlagSet) {
	fs.IntVar(&m.pid, "pid", 0, "serving process whose utime+stime to count (0: none)")
	fs.StringVar(&m.iface, "iface", "", "network interface whose frames to count")
	fs.StringVar(&m.state, "state", "", "aoe-attach state file (/run/goaoe/eX.Y.json) for its frame counters")
	fs.DurationVar(&m.timeout, "timeout", 10*time.Minute, "give up on a run that takes longer than this")
	fs.StringVar(&m.kick, "kick", "", "block device of the Linux aoe driver to kick out of a stall (see kick.go)")
	fs.StringVar(&m.kickDebugf, "kick-debugfs", "", "the aoe driver's debugfs file for the target, to tell a stall from a wait")
}

// startKick starts the kicker if --kick was given.
func (m *measureFlags) startKick() error {
	if m.kick == "" {
		return nil
	}
	k, err := startKicker(m.kick, m.kickDebugf, m.iface)
	m.kicker = k
	return err
}

// stopKick stops the kicker and returns how often it kicked (-1: none ran).
func (m *measureFlags) stopKick() int64 {
	if m.kicker == nil {
		return -1
	}
	n := m.kicker.close()
	m.kicker = nil
	return n
}

// snapshot is what the counters said at one moment.
type snapshot struct {
	at        time.Time
	busy      uint64 // /proc/stat: user+nice+system+irq+softirq, in USER_HZ ticks
	idle      uint64 // /proc/stat: idle+iowait, in USER_HZ ticks
	ncpu      int
	ctxt      uint64 // /proc/stat: context switches, whole system
	intr      uint64 // /proc/stat: interrupts, whole system
	procCtxt  uint64 // context switches of the serving process's threads
	proc      uint64 // the serving process's utime+stime, in ticks
	procOK    bool
	tx, rx    uint64 // packets on the interface
	netOK     bool
	aoe       aoeCounters
	aoeOK     bool
	aoeUpdate time.Time
}

// aoeCounters are aoe-attach's per-session frame counters, summed over paths.
type aoeCounters struct {
	Sent, Retransmitted, Replies, Lost uint64
	// The raw sockets' counters: frames and the system calls that moved them.
	FramesOut, SendCalls, FramesIn, ReceiveCalls uint64
}

func (m *measureFlags) snap() snapshot {
	s := snapshot{at: time.Now()}
	s.busy, s.idle, s.ncpu, s.ctxt, s.intr, _ = cpuTicks()
	if m.pid > 0 {
		if t, err := procTicks(m.pid); err == nil {
			s.proc, s.procOK = t, true
			s.procCtxt = procCtxtSwitches(m.pid)
		}
	}
	if m.iface != "" {
		tx, err1 := readUint(fmt.Sprintf("/sys/class/net/%s/statistics/tx_packets", m.iface))
		rx, err2 := readUint(fmt.Sprintf("/sys/class/net/%s/statistics/rx_packets", m.iface))
		if err1 == nil && err2 == nil {
			s.tx, s.rx, s.netOK = tx, rx, true
		}
	}
	if m.state != "" {
		if c, upd, err := readState(m.state); err == nil {
			s.aoe, s.aoeUpdate, s.aoeOK = c, upd, true
		}
	}
	return s
}

// finish is the snapshot at the end of a run that ended at end. The
// aoe-attach counters are taken once the state file has been rewritten
// after the end (it is rewritten every second), so that the run's last
// frames are counted; the other counters are taken at once.
func (m *measureFlags) finish(end time.Time) snapshot {
	s := m.snap()
	if !s.aoeOK || s.aoeUpdate.After(end) {
		return s
	}
	deadline := time.Now().Add(3 * time.Second)
	for time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
		c, upd, err := readState(m.state)
		if err != nil {
			break
		}
		s.aoe, s.aoeUpdate = c, upd
		if upd.After(end) {
			break
		}
	}
	return s
}

// cpuTicks reads /proc/stat: from the "cpu" line busy
// (user+nice+system+irq+softirq) and idle (idle+iowait), the number of
// cpuN lines, and the context switch and interrupt totals.
func cpuTicks() (busy, idle uint64, ncpu int, ctxt, intr uint64, err error) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, 0, 0, 0, 0, err
	}
	found := false
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) >= 2 && f[0] == "ctxt" {
			ctxt, _ = strconv.ParseUint(f[1], 10, 64)
		}
		if len(f) >= 2 && f[0] == "intr" {
			intr, _ = strconv.ParseUint(f[1], 10, 64)
		}
		if len(f) < 8 || !strings.HasPrefix(f[0], "cpu") {
			continue
		}
		if f[0] != "cpu" {
			ncpu++
			continue
		}
		var v [8]uint64
		for i := 1; i < 8; i++ { // user nice system idle iowait irq softirq
			if v[i], err = strconv.ParseUint(f[i], 10, 64); err != nil {
				return 0, 0, 0, 0, 0, fmt.Errorf("/proc/stat: %w", err)
			}
		}
		busy, idle, found = v[1]+v[2]+v[3]+v[6]+v[7], v[4]+v[5], true
	}
	if !found {
		return 0, 0, 0, 0, 0, errors.New("/proc/stat: no cpu line")
	}
	return busy, idle, ncpu, ctxt, intr, nil
}

// procCtxtSwitches sums the voluntary and involuntary context switches of
// every thread of a process (/proc/PID/status counts only the thread it
// names). Threads that ended meanwhile are not counted.
func procCtxtSwitches(pid int) uint64 {
	tasks, _ := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
	var sum uint64
	for _, t := range tasks {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%s/status", pid, t.Name()))
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(b), "\n") {
			k, v, ok := strings.Cut(line, ":")
			if ok && (k == "voluntary_ctxt_switches" || k == "nonvoluntary_ctxt_switches") {
				n, _ := strconv.ParseUint(strings.TrimSpace(v), 10, 64)
				sum += n
			}
		}
	}
	return sum
}

// procTicks is utime+stime of a process (fields 14 and 15 of /proc/PID/stat).
func procTicks(pid int) (uint64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')') // the command name may hold spaces
	if i < 0 {
		return 0, fmt.Errorf("/proc/%d/stat: unexpected format", pid)
	}
	f := strings.Fields(s[i+1:]) // f[0] is field 3 (state)
	if len(f) < 13 {
		return 0, fmt.Errorf("/proc/%d/stat: too few fields", pid)
	}
	u, err1 := strconv.ParseUint(f[11], 10, 64)
	st, err2 := strconv.ParseUint(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("/proc/%d/stat: bad utime/stime", pid)
	}
	return u + st, nil
}

func readUint(path string) (uint64, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	return strconv.ParseUint(strings.TrimSpace(string(b)), 10, 64)
}

// readState reads the counters from aoe-attach's state file (the
// session's own schema, session.State).
func readState(path string) (aoeCounters, time.Time, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return aoeCounters{}, time.Time{}, err
	}
	var st session.State
	if err := json.Unmarshal(b, &st); err != nil {
		return aoeCounters{}, time.Time{}, err
	}
	var c aoeCounters
	for _, p := range st.Paths {
		c.Sent += p.Sent
		c.Retransmitted += p.Retransmitted
		c.Replies += p.Replies
		c.Lost += p.Lost
	}
	for _, k := range st.Sockets {
		c.FramesOut += k.FramesOut
		c.SendCalls += k.SendCalls
		c.FramesIn += k.FramesIn
		c.ReceiveCalls += k.ReceiveCalls
	}
	return c, st.Updated, nil
}

// Result is one measured run.
type Result struct {
	Bytes int64
	Secs  float64
	IOs   int64 // randread only
	// Latencies in microseconds (randread only).
	LatP50, LatP99, LatMax float64
	Kicks                  int64 // -1: no kicker
	before, after          snapshot
}

// Line is the machine-parsable result: key=value pairs separated by
// spaces. Keys that could not be measured are left out.
func (r Result) Line() string {
	var b strings.Builder
	kv := func(k, format string, v any) { fmt.Fprintf(&b, " %s="+format, k, v) }
	kv("bytes", "%d", r.Bytes)
	kv("secs", "%.3f", r.Secs)
	kv("mbps", "%.2f", float64(r.Bytes)/1e6/r.Secs)
	if r.IOs > 0 {
		kv("ios", "%d", r.IOs)
		kv("iops", "%.1f", float64(r.IOs)/r.Secs)
		kv("lat_p50_us", "%.0f", r.LatP50)
		kv("lat_p99_us", "%.0f", r.LatP99)
		kv("lat_max_us", "%.0f", r.LatMax)
	}
	gibs := float64(r.Bytes) / gib
	cpu := float64(r.after.busy-r.before.busy) / userHZ
	kv("cpu_s", "%.2f", cpu)
	if gibs > 0 {
		kv("cpu_s_per_gib", "%.2f", cpu/gibs)
	}
	// The same from the other side: CPUs x elapsed time minus idle time.
	// Busy time is sampled at each tick and idle time is clocked, so under
	// an emulator that loses ticks the two can disagree.
	if r.after.ncpu > 0 {
		idle := float64(r.after.idle-r.before.idle) / userHZ
		kv("ncpu", "%d", r.after.ncpu)
		kv("cpu_nonidle_s", "%.2f", float64(r.after.ncpu)*r.Secs-idle)
	}
	kv("ctxt", "%d", r.after.ctxt-r.before.ctxt)
	kv("intr", "%d", r.after.intr-r.before.intr)
	if r.before.procOK && r.after.procOK {
		p := float64(r.after.proc-r.before.proc) / userHZ
		kv("proc_cpu_s", "%.2f", p)
		if gibs > 0 {
			kv("proc_cpu_s_per_gib", "%.2f", p/gibs)
		}
		kv("proc_ctxt", "%d", r.after.procCtxt-r.before.procCtxt)
	}
	if r.before.netOK && r.after.netOK {
		tx, rx := r.after.tx-r.before.tx, r.after.rx-r.before.rx
		kv("tx_frames", "%d", tx)
		kv("rx_frames", "%d", rx)
		kv("tx_fps", "%.0f", float64(tx)/r.Secs)
		kv("rx_fps", "%.0f", float64(rx)/r.Secs)
	}
	if r.before.aoeOK && r.after.aoeOK {
		a, z := r.before.aoe, r.after.aoe
		kv("aoe_sent", "%d", z.Sent-a.Sent)
		kv("aoe_retx", "%d", z.Retransmitted-a.Retransmitted)
		kv("aoe_replies", "%d", z.Replies-a.Replies)
		kv("aoe_lost", "%d", z.Lost-a.Lost)
		if calls := z.SendCalls - a.SendCalls; calls > 0 {
			kv("aoe_frames_per_send", "%.2f", float64(z.FramesOut-a.FramesOut)/float64(calls))
		}
		if calls := z.ReceiveCalls - a.ReceiveCalls; calls > 0 {
			kv("aoe_frames_per_receive", "%.2f", float64(z.FramesIn-a.FramesIn)/float64(calls))
		}
	}
	if r.Kicks >= 0 {
		kv("kicks", "%d", r.Kicks)
	}
	return strings.TrimPrefix(b.String(), " ")
}

// aoeOutstanding sums the frames outstanding over the targets in the aoe
// driver's debugfs file: lines "MAC:NOUT:MAXOUT:NFRAMES".
func aoeOutstanding(path string) (int, bool) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, false
	}
	sum, found := 0, false
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Split(strings.TrimSpace(line), ":")
		if len(f) != 4 || len(f[0]) != 12 {
			continue
		}
		n, err := strconv.Atoi(f[1])
		if err != nil {
			continue
		}
		sum, found = sum+n, true
	}
	return sum, found
}
