// Tests of aoe-stat --prometheus: what prometheus.go makes of states built
// by hand, read back with Prometheus' own parser, and the command as a
// textfile cron job runs it.

package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/goaoe/goaoe/session"

	"github.com/goaoe/goaoe/internal/cmdtest"
)

var (
	started = time.Date(2025, 1, 2, 3, 4, 5, 500_000_000, time.UTC)
	updated = started.Add(90 * time.Second)
)

// states are three targets: e1.2 up on two paths, one of them taken out;
// e1.3 down, its serving process gone (no paths left, as session.List makes
// it); e2.1 up on one path, refusing writes. Every counter has its own
// value, so that a field read for another shows.
func states() []session.State {
	return []session.State{
		{
			Target: "e1.2", Device: "/dev/nbd0", NBDInterface: "netlink", Model: "vblade",
			Started: started, Updated: updated, SizeBytes: 64 << 20, PayloadBytes: 1024,
			State: "up", Flush: "0xea", Reservations: true, BufferCount: 16,
			FlushStatusEchoes: 4, RepliesUnmatched: 3, RepliesLate: 7, RepliesForeign: 2, RepliesMalformed: 1,
			Paths: []session.PathState{
				{Interface: "eth0", MAC: "52:54:00:00:00:01", State: "up", Window: 24, Inflight: 5, SRTTMicros: 1250,
					Sent: 1000, Retransmitted: 12, Replies: 988, Lost: 9},
				{Interface: "eth1", MAC: "52:54:00:00:00:02", State: "down", Window: 1, Inflight: 0, SRTTMicros: 80000,
					Sent: 500, Retransmitted: 40, Replies: 450, Lost: 50},
			},
			Sockets: []session.InterfaceState{
				{NIC: "eth0", FramesOut: 1100, SendCalls: 110, SendDropped: 6, FramesIn: 990, ReceiveCalls: 330, ReceiveEmpty: 33, KernelDropped: 8},
				{NIC: "eth1", FramesOut: 501, SendCalls: 500, SendDropped: 0, FramesIn: 451, ReceiveCalls: 450, ReceiveEmpty: 45, KernelDropped: 0},
			},
		},
		{
			Target: "e1.3", Device: "/dev/nbd1", NBDInterface: "ioctl", Model: "vblade",
			Started: started, Updated: started, SizeBytes: 1 << 30, PayloadBytes: 8192,
			State: "down", Reason: "serving process 42 is gone", Flush: "0xe7", BufferCount: 64,
		},
		{
			Target: "e2.1", Device: "/dev/nbd2", NBDInterface: "netlink", Model: "ggaoed",
			Started: started, Updated: updated, SizeBytes: 2 << 30, PayloadBytes: 1024,
			State: "up", Flush: "none", TargetReadOnly: true, BufferCount: 8,
			Warnings: []string{"refuses writes (ATA ABRT)"},
			Paths: []session.PathState{
				{Interface: "eth0", MAC: "52:54:00:00:00:03", State: "up", Window: 8, Inflight: 2, SRTTMicros: 300,
					Sent: 70, Retransmitted: 1, Replies: 69, Lost: 1},
			},
			Sockets: []session.InterfaceState{
				{NIC: "eth0", FramesOut: 71, SendCalls: 70, FramesIn: 69, ReceiveCalls: 69},
			},
		},
	}
}

// parse reads an exposition with Prometheus' own parser, held to the
// legacy names an older node_exporter or Prometheus server accepts.
func parse(t *testing.T, text string) map[string]*dto.MetricFamily {
	t.Helper()
	p := expfmt.NewTextParser(model.LegacyValidation)
	families, err := p.TextToMetricFamilies(strings.NewReader(text))
	if err != nil {
		t.Fatalf("the exposition does not parse: %v\n%s", err, text)
	}
	return families
}

// flat gives every sample as `name{label="value",...}`, labels sorted.
func flat(families map[string]*dto.MetricFamily) map[string]float64 {
	out := map[string]float64{}
	for name, f := range families {
		for _, m := range f.GetMetric() {
			var labels []string
			for _, l := range m.GetLabel() {
				labels = append(labels, fmt.Sprintf("%s=%q", l.GetName(), l.GetValue()))
			}
			sort.Strings(labels)
			var v float64
			switch f.GetType() {
			case dto.MetricType_COUNTER:
				v = m.GetCounter().GetValue()
			case dto.MetricType_GAUGE:
				v = m.GetGauge().GetValue()
			default:
				v = m.GetUntyped().GetValue()
			}
			out[name+"{"+strings.Join(labels, ",")+"}"] = v
		}
	}
	return out
}

// sorted sorts the labels of a `name{label="value",...}` written by hand
// the way flat does; no value here holds a comma.
func sorted(key string) string {
	name, labels, _ := strings.Cut(strings.TrimSuffix(key, "}"), "{")
	l := strings.Split(labels, ",")
	sort.Strings(l)
	return name + "{" + strings.Join(l, ",") + "}"
}

func TestPrometheus(t *testing.T) {
	var buf bytes.Buffer
	if err := writePrometheus(&buf, states()); err != nil {
		t.Fatal(err)
	}
	families := parse(t, buf.String())

	// How many series each family has: per target (3), per reason or
	// state, per path (3) and per socket (3). An extra series, or one
	// for the pathless e1.3, shows here.
	count := map[string]int{
		"aoe_targets": 1, "aoe_target_info": 3, "aoe_target_up": 3, "aoe_target_state": 9, "aoe_target_paths": 6,
		"aoe_target_size_bytes": 3, "aoe_target_frame_payload_bytes": 3, "aoe_target_buffer_count": 3,
		"aoe_target_read_only": 3, "aoe_target_writes_refused": 3, "aoe_target_reservations": 3, "aoe_target_warnings": 3,
		"aoe_target_replies_late_total": 3, "aoe_target_replies_dropped_total": 9, "aoe_target_flush_status_echoes_total": 3,
		"aoe_target_start_time_seconds": 3, "aoe_target_state_update_time_seconds": 3,
		"aoe_path_state": 6, "aoe_path_window_frames": 3, "aoe_path_inflight_frames": 3, "aoe_path_srtt_seconds": 3,
		"aoe_path_frames_sent_total": 3, "aoe_path_frames_retransmitted_total": 3, "aoe_path_frames_lost_total": 3,
		"aoe_path_replies_total":       3,
		"aoe_socket_frames_sent_total": 3, "aoe_socket_send_calls_total": 3, "aoe_socket_send_dropped_frames_total": 3,
		"aoe_socket_frames_received_total": 3, "aoe_socket_receive_calls_total": 3, "aoe_socket_empty_receive_calls_total": 3,
		"aoe_socket_kernel_dropped_frames_total": 3,
	}
	got := map[string]int{}
	for name, f := range families {
		got[name] = len(f.GetMetric())
		if f.GetHelp() == "" {
			t.Errorf("%s has no HELP", name)
		}
		if counter := strings.HasSuffix(name, "_total"); counter != (f.GetType() == dto.MetricType_COUNTER) || !counter && f.GetType() != dto.MetricType_GAUGE {
			t.Errorf("%s is a %v", name, f.GetType())
		}
	}
	if d := cmp.Diff(count, got); d != "" {
		t.Errorf("series per family (-want +got):\n%s", d)
	}

	const (
		e12  = `device="/dev/nbd0",target="e1.2"`
		e13  = `device="/dev/nbd1",target="e1.3"`
		e21  = `device="/dev/nbd2",target="e2.1"`
		eth0 = `interface="eth0",mac="52:54:00:00:00:01",target="e1.2"`
		eth1 = `interface="eth1",mac="52:54:00:00:00:02",target="e1.2"`
		e21p = `interface="eth0",mac="52:54:00:00:00:03",target="e2.1"`
		k12  = `interface="eth0",target="e1.2"`
	)
	want := map[string]float64{
		`aoe_targets{}`: 3,
		`aoe_target_info{` + `device="/dev/nbd0",flush="0xea",model="vblade",nbd_interface="netlink",target="e1.2"}`: 1,
		`aoe_target_info{` + `device="/dev/nbd2",flush="none",model="ggaoed",nbd_interface="netlink",target="e2.1"}`: 1,

		// Down, and why it is not up.
		`aoe_target_up{` + e12 + `}`:                         1,
		`aoe_target_up{` + e13 + `}`:                         0,
		`aoe_target_up{` + e21 + `}`:                         1,
		`aoe_target_state{` + e13 + `,state="down"}`:         1,
		`aoe_target_state{` + e13 + `,state="up"}`:           0,
		`aoe_target_state{` + e13 + `,state="reconnecting"}`: 0,
		`aoe_target_state{` + e12 + `,state="up"}`:           1,
		`aoe_target_state{` + e12 + `,state="down"}`:         0,

		// A path taken out; no path at all.
		`aoe_target_paths{` + e12 + `,state="up"}`:   1,
		`aoe_target_paths{` + e12 + `,state="down"}`: 1,
		`aoe_target_paths{` + e13 + `,state="up"}`:   0,
		`aoe_target_paths{` + e13 + `,state="down"}`: 0,
		`aoe_path_state{` + eth0 + `,state="up"}`:    1,
		`aoe_path_state{` + eth0 + `,state="down"}`:  0,
		`aoe_path_state{` + eth1 + `,state="up"}`:    0,
		`aoe_path_state{` + eth1 + `,state="down"}`:  1,

		`aoe_target_size_bytes{` + e13 + `}`:          1 << 30,
		`aoe_target_frame_payload_bytes{` + e13 + `}`: 8192,
		`aoe_target_buffer_count{` + e13 + `}`:        64,
		`aoe_target_read_only{` + e12 + `}`:           0,
		`aoe_target_read_only{` + e21 + `}`:           1,
		`aoe_target_writes_refused{` + e21 + `}`:      1,
		`aoe_target_reservations{` + e12 + `}`:        1,
		`aoe_target_reservations{` + e21 + `}`:        0,
		`aoe_target_warnings{` + e21 + `}`:            1,
		`aoe_target_warnings{` + e12 + `}`:            0,

		`aoe_target_replies_late_total{` + e12 + `}`:                             7,
		`aoe_target_replies_dropped_total{` + e12 + `,reason="unmatched"}`:       3,
		`aoe_target_replies_dropped_total{` + e12 + `,reason="foreign"}`:         2,
		`aoe_target_replies_dropped_total{` + e12 + `,reason="malformed"}`:       1,
		`aoe_target_flush_status_echoes_total{` + e12 + `}`:                      4,
		`aoe_target_start_time_seconds{` + e12 + `}`:                             1735787045.5,
		`aoe_target_state_update_time_seconds{` + e12 + `}`:                      1735787135.5,
		`aoe_path_window_frames{` + eth0 + `}`:                                   24,
		`aoe_path_inflight_frames{` + eth0 + `}`:                                 5,
		`aoe_path_srtt_seconds{` + eth0 + `}`:                                    0.00125,
		`aoe_path_srtt_seconds{` + eth1 + `}`:                                    0.08,
		`aoe_path_frames_sent_total{` + eth0 + `}`:                               1000,
		`aoe_path_frames_retransmitted_total{` + eth0 + `}`:                      12,
		`aoe_path_frames_lost_total{` + eth0 + `}`:                               9,
		`aoe_path_replies_total{` + eth0 + `}`:                                   988,
		`aoe_path_frames_lost_total{` + eth1 + `}`:                               50,
		`aoe_path_frames_retransmitted_total{` + e21p + `}`:                      1,
		`aoe_socket_frames_sent_total{` + k12 + `}`:                              1100,
		`aoe_socket_send_calls_total{` + k12 + `}`:                               110,
		`aoe_socket_send_dropped_frames_total{` + k12 + `}`:                      6,
		`aoe_socket_frames_received_total{` + k12 + `}`:                          990,
		`aoe_socket_receive_calls_total{` + k12 + `}`:                            330,
		`aoe_socket_empty_receive_calls_total{` + k12 + `}`:                      33,
		`aoe_socket_kernel_dropped_frames_total{` + k12 + `}`:                    8,
		`aoe_socket_frames_sent_total{interface="eth1",target="e1.2"}`:           501,
		`aoe_socket_frames_received_total{interface="eth0",target="e2.1"}`:       69,
		`aoe_socket_kernel_dropped_frames_total{interface="eth0",target="e2.1"}`: 0,
	}
	samples := flat(families)
	for key, v := range want {
		key = sorted(key)
		if g, ok := samples[key]; !ok {
			t.Errorf("no sample %s", key)
		} else if g != v {
			t.Errorf("%s = %v, want %v", key, g, v)
		}
	}
	for key := range samples {
		if strings.HasPrefix(key, "aoe_path_") && strings.Contains(key, `target="e1.3"`) {
			t.Errorf("pathless e1.3 has %s", key)
		}
	}
}

// A path listed twice would be two samples with one label set, which
// Prometheus rejects with the whole file: nothing is written instead.
func TestPrometheusRefusesDuplicates(t *testing.T) {
	all := states()
	all[0].Paths = append(all[0].Paths, all[0].Paths[0])
	var buf bytes.Buffer
	if err := writePrometheus(&buf, all); err == nil {
		t.Fatalf("no error; wrote:\n%s", buf.String())
	}
	if buf.Len() != 0 {
		t.Errorf("wrote %d bytes of a broken exposition", buf.Len())
	}
}

// bin is aoe-stat, built once by TestMain for the tests that run it.
var bin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "aoe-stat-test")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	bin = filepath.Join(dir, "aoe-stat")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "build: %v\n%s", err, out)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// aoeStat runs aoe-stat as a cron job would, with its run directory in
// runDir; it returns stdout, stderr and the exit code.
func aoeStat(t *testing.T, runDir string, args ...string) (string, string, int) {
	t.Helper()
	return cmdtest.Run(t, bin, []string{"GOAOE_RUN_DIR=" + runDir}, args...)
}

func TestPrometheusCommand(t *testing.T) {
	t.Run("no targets", func(t *testing.T) {
		out, errOut, code := aoeStat(t, t.TempDir(), "--prometheus")
		if code != 0 {
			t.Fatalf("exit %d, stderr %q", code, errOut)
		}
		if d := cmp.Diff(map[string]float64{"aoe_targets{}": 0}, flat(parse(t, out))); d != "" {
			t.Errorf("(-want +got):\n%s", d)
		}
	})

	// A state file left by a serving process that is gone (nobody holds
	// its lock): listed down, with no paths, as the table shows it.
	t.Run("orphan", func(t *testing.T) {
		dir := t.TempDir()
		s := states()[0]
		b, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, s.Target+".json"), b, 0o644); err != nil {
			t.Fatal(err)
		}
		out, errOut, code := aoeStat(t, dir, "--prometheus")
		if code != 0 {
			t.Fatalf("exit %d, stderr %q", code, errOut)
		}
		samples := flat(parse(t, out))
		for key, v := range map[string]float64{
			`aoe_targets{}`: 1,
			`aoe_target_up{device="/dev/nbd0",target="e1.2"}`:                 0,
			`aoe_target_state{device="/dev/nbd0",state="down",target="e1.2"}`: 1,
			`aoe_target_paths{device="/dev/nbd0",state="up",target="e1.2"}`:   0,
		} {
			key = sorted(key)
			if g, ok := samples[key]; !ok || g != v {
				t.Errorf("%s = %v (present %v), want %v\n%s", key, g, ok, v, out)
			}
		}
	})

	t.Run("with --json", func(t *testing.T) {
		out, errOut, code := aoeStat(t, t.TempDir(), "--prometheus", "--json")
		if code != 2 || out != "" || !strings.Contains(errOut, "--json and --prometheus") {
			t.Errorf("exit %d, stdout %q, stderr %q; want exit 2 and a word on the two flags", code, out, errOut)
		}
	})
}

// The Description is what man aoe-stat opens with: it names the command
// it stands in for.
func TestDescription(t *testing.T) {
	out, _, code := aoeStat(t, t.TempDir(), "--help")
	if help := strings.Join(strings.Fields(out), " "); code != 0 || !strings.Contains(help, "counterpart of aoetools' aoe-stat") {
		t.Errorf("exit %d, help:\n%s", code, out)
	}
}
