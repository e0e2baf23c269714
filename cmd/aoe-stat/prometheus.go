// aoe-stat --prometheus: the sessions' states as Prometheus metrics, for
// node_exporter's textfile collector. This file owns the metric names,
// labels and help texts; the states themselves come from session.List as
// for the table and --json.

package main

import (
	"io"
	"slices"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/expfmt"

	"github.com/goaoe/goaoe/session"
)

// The states a target and a path can be in (session.State.State,
// session.PathState.State). Every one is written, 0 but the current, so
// that a state change moves a value instead of ending one series and
// starting another, which alert rules on the old series would miss.
var (
	targetStates = []string{"up", "reconnecting", "down"}
	pathStates   = []string{"up", "down"}
)

var (
	targetLabels = []string{"target", "device"}
	pathLabels   = []string{"target", "interface", "mac"}
	socketLabels = []string{"target", "interface"}
)

// writePrometheus writes all in the Prometheus text format. Nothing is
// written when the states do not make a valid exposition (two paths with
// the same labels, say): the textfile collector would reject the whole
// file, better the command fails (and the cron line's && mv keeps the
// old file).
func writePrometheus(w io.Writer, all []session.State) error {
	reg := prometheus.NewPedanticRegistry()
	if err := reg.Register(stateCollector(all)); err != nil {
		return err
	}
	families, err := reg.Gather()
	if err != nil {
		return err
	}
	enc := expfmt.NewEncoder(w, expfmt.NewFormat(expfmt.TypeTextPlain))
	for _, f := range families {
		if err := enc.Encode(f); err != nil {
			return err
		}
	}
	if c, ok := enc.(expfmt.Closer); ok {
		return c.Close()
	}
	return nil
}

// stateCollector is one aoe-stat run's states: the registry collects it
// once, so the values are constant metrics made on the spot.
type stateCollector []session.State

// A metric read straight off a state's field.
type (
	targetMetric struct {
		desc  *prometheus.Desc
		kind  prometheus.ValueType
		value func(*session.State) float64
	}
	pathMetric struct {
		desc  *prometheus.Desc
		kind  prometheus.ValueType
		value func(*session.PathState) float64
	}
	socketMetric struct {
		desc  *prometheus.Desc
		kind  prometheus.ValueType
		value func(*session.InterfaceState) float64
	}
)

var (
	targetsDesc = prometheus.NewDesc("aoe_targets",
		"AoE targets attached on this host, in any state (aoe-stat's rows).", nil, nil)
	targetInfoDesc = prometheus.NewDesc("aoe_target_info",
		"Always 1: what the target is and how it is attached. flush is the flush command used: 0xea, 0xe7, or none (attached write-through).",
		append(slices.Clip(targetLabels), "model", "flush", "nbd_interface"), nil)
	targetUpDesc = prometheus.NewDesc("aoe_target_up",
		"1 while the target is up; 0 while it is dead, reconnecting, or its serving process is gone (aoe_target_state says which).",
		targetLabels, nil)
	targetStateDesc = prometheus.NewDesc("aoe_target_state",
		"1 for the target's state (aoe-stat's STATE column), 0 for the others.",
		append(slices.Clip(targetLabels), "state"), nil)
	targetPathsDesc = prometheus.NewDesc("aoe_target_paths",
		"The target's paths (interface and target MAC) in each state; down is a path taken out after losing frames in a row.",
		append(slices.Clip(targetLabels), "state"), nil)
	repliesDroppedDesc = prometheus.NewDesc("aoe_target_replies_dropped_total",
		"Replies from the target that were dropped: unmatched (no such tag in flight: duplicates, strays), foreign (from another path than the frame went out on), malformed (wrong length).",
		append(slices.Clip(targetLabels), "reason"), nil)
	startTimeDesc = prometheus.NewDesc("aoe_target_start_time_seconds",
		"When the serving process attached the target, in seconds since the Unix epoch.", targetLabels, nil)
	updateTimeDesc = prometheus.NewDesc("aoe_target_state_update_time_seconds",
		"When the serving process last wrote the target's state (every second while it runs), in seconds since the Unix epoch: a live process that stops writing is stuck.",
		targetLabels, nil)
	pathStateDesc = prometheus.NewDesc("aoe_path_state",
		"1 for the path's state, 0 for the other: down is a path taken out after losing frames in a row, probed until it answers.",
		append(slices.Clip(pathLabels), "state"), nil)
)

var targetMetrics = []targetMetric{
	{prometheus.NewDesc("aoe_target_size_bytes", "The target's size.", targetLabels, nil),
		prometheus.GaugeValue, func(s *session.State) float64 { return float64(s.SizeBytes) }},
	{prometheus.NewDesc("aoe_target_frame_payload_bytes", "Data one AoE frame carries to or from the target (aoe-stat's PAYLOAD).", targetLabels, nil),
		prometheus.GaugeValue, func(s *session.State) float64 { return float64(s.PayloadBytes) }},
	{prometheus.NewDesc("aoe_target_buffer_count", "Frames the target says it can queue (its buffer count).", targetLabels, nil),
		prometheus.GaugeValue, func(s *session.State) float64 { return float64(s.BufferCount) }},
	{prometheus.NewDesc("aoe_target_read_only", "1 when the device is read-only: attached --read-only, or the target refuses writes.", targetLabels, nil),
		prometheus.GaugeValue, func(s *session.State) float64 { return bool01(s.ReadOnly || s.TargetReadOnly) }},
	{prometheus.NewDesc("aoe_target_writes_refused", "1 when the target refused a write (ATA ABRT; probably exported read-only): writes fail at once.", targetLabels, nil),
		prometheus.GaugeValue, func(s *session.State) float64 { return bool01(s.TargetReadOnly) }},
	{prometheus.NewDesc("aoe_target_reservations", "1 when the target honours Reserve/Release (aoe-attach --reserve works).", targetLabels, nil),
		prometheus.GaugeValue, func(s *session.State) float64 { return bool01(s.Reservations) }},
	{prometheus.NewDesc("aoe_target_warnings", "Lines aoe-stat prints under the table for the target: things an admin should read.", targetLabels, nil),
		prometheus.GaugeValue, func(s *session.State) float64 { return float64(len(s.Warnings)) }},
	{prometheus.NewDesc("aoe_target_replies_late_total", "Replies to a frame that had already timed out and been sent again: a spurious timeout.", targetLabels, nil),
		prometheus.CounterValue, func(s *session.State) float64 { return float64(s.RepliesLate) }},
	{prometheus.NewDesc("aoe_target_flush_status_echoes_total", "Flush replies whose status held the command byte (the target does not fill it in), taken as done.", targetLabels, nil),
		prometheus.CounterValue, func(s *session.State) float64 { return float64(s.FlushStatusEchoes) }},
}

var pathMetrics = []pathMetric{
	{prometheus.NewDesc("aoe_path_window_frames", "Frames the path may have in flight: its congestion window.", pathLabels, nil),
		prometheus.GaugeValue, func(p *session.PathState) float64 { return float64(p.Window) }},
	{prometheus.NewDesc("aoe_path_inflight_frames", "Frames in flight on the path.", pathLabels, nil),
		prometheus.GaugeValue, func(p *session.PathState) float64 { return float64(p.Inflight) }},
	{prometheus.NewDesc("aoe_path_srtt_seconds", "The path's smoothed round-trip time.", pathLabels, nil),
		prometheus.GaugeValue, func(p *session.PathState) float64 { return p.SRTTMicros / 1e6 }},
	{prometheus.NewDesc("aoe_path_frames_sent_total", "Frames sent on the path, retransmits included.", pathLabels, nil),
		prometheus.CounterValue, func(p *session.PathState) float64 { return float64(p.Sent) }},
	{prometheus.NewDesc("aoe_path_frames_retransmitted_total", "Frames sent again on the path.", pathLabels, nil),
		prometheus.CounterValue, func(p *session.PathState) float64 { return float64(p.Retransmitted) }},
	{prometheus.NewDesc("aoe_path_frames_lost_total", "Frames sent on the path whose timer ran out before a reply came.", pathLabels, nil),
		prometheus.CounterValue, func(p *session.PathState) float64 { return float64(p.Lost) }},
	{prometheus.NewDesc("aoe_path_replies_total", "Replies accepted on the path.", pathLabels, nil),
		prometheus.CounterValue, func(p *session.PathState) float64 { return float64(p.Replies) }},
}

// The sockets carry all the serving process's traffic; target names the
// process (one per target).
var socketMetrics = []socketMetric{
	{prometheus.NewDesc("aoe_socket_frames_sent_total", "Frames the target's serving process sent on the interface's raw socket.", socketLabels, nil),
		prometheus.CounterValue, func(k *session.InterfaceState) float64 { return float64(k.FramesOut) }},
	{prometheus.NewDesc("aoe_socket_send_calls_total", "System calls that sent those frames (frames per call is where a userspace initiator's CPU goes).", socketLabels, nil),
		prometheus.CounterValue, func(k *session.InterfaceState) float64 { return float64(k.SendCalls) }},
	{prometheus.NewDesc("aoe_socket_send_dropped_frames_total", "Frames not sent because the socket or device queue was full.", socketLabels, nil),
		prometheus.CounterValue, func(k *session.InterfaceState) float64 { return float64(k.SendDropped) }},
	{prometheus.NewDesc("aoe_socket_frames_received_total", "Frames the target's serving process received on the interface's raw socket.", socketLabels, nil),
		prometheus.CounterValue, func(k *session.InterfaceState) float64 { return float64(k.FramesIn) }},
	{prometheus.NewDesc("aoe_socket_receive_calls_total", "System calls that received those frames.", socketLabels, nil),
		prometheus.CounterValue, func(k *session.InterfaceState) float64 { return float64(k.ReceiveCalls) }},
	{prometheus.NewDesc("aoe_socket_empty_receive_calls_total", "Receive system calls that returned no frame.", socketLabels, nil),
		prometheus.CounterValue, func(k *session.InterfaceState) float64 { return float64(k.ReceiveEmpty) }},
	{prometheus.NewDesc("aoe_socket_kernel_dropped_frames_total", "Frames the kernel dropped because the socket's receive queue was full.", socketLabels, nil),
		prometheus.CounterValue, func(k *session.InterfaceState) float64 { return float64(k.KernelDropped) }},
}

// Describe lists every metric, so that the pedantic registry checks what
// Collect makes against it.
func (stateCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{targetsDesc, targetInfoDesc, targetUpDesc, targetStateDesc,
		targetPathsDesc, repliesDroppedDesc, startTimeDesc, updateTimeDesc, pathStateDesc} {
		ch <- d
	}
	for _, m := range targetMetrics {
		ch <- m.desc
	}
	for _, m := range pathMetrics {
		ch <- m.desc
	}
	for _, m := range socketMetrics {
		ch <- m.desc
	}
}

func (c stateCollector) Collect(ch chan<- prometheus.Metric) {
	send(ch, targetsDesc, prometheus.GaugeValue, float64(len(c)))
	for i := range c {
		s := &c[i]
		t := []string{s.Target, s.Device}
		send(ch, targetInfoDesc, prometheus.GaugeValue, 1, s.Target, s.Device, s.Model, s.Flush, s.NBDInterface)
		send(ch, targetUpDesc, prometheus.GaugeValue, bool01(s.State == "up"), t...)
		sendStates(ch, targetStateDesc, targetStates, s.State, t)
		for _, m := range targetMetrics {
			send(ch, m.desc, m.kind, m.value(s), t...)
		}
		for reason, n := range map[string]uint64{"unmatched": s.RepliesUnmatched, "foreign": s.RepliesForeign, "malformed": s.RepliesMalformed} {
			send(ch, repliesDroppedDesc, prometheus.CounterValue, float64(n), s.Target, s.Device, reason)
		}
		// Go's zero time is no instant (its UnixNano overflows): better
		// no series than a nonsense one.
		if !s.Started.IsZero() {
			send(ch, startTimeDesc, prometheus.GaugeValue, float64(s.Started.UnixNano())/1e9, t...)
		}
		if !s.Updated.IsZero() {
			send(ch, updateTimeDesc, prometheus.GaugeValue, float64(s.Updated.UnixNano())/1e9, t...)
		}

		paths := map[string]int{}
		for _, st := range pathStates {
			paths[st] = 0
		}
		for j := range s.Paths {
			p := &s.Paths[j]
			paths[p.State]++
			l := []string{s.Target, p.Interface, p.MAC}
			sendStates(ch, pathStateDesc, pathStates, p.State, l)
			for _, m := range pathMetrics {
				send(ch, m.desc, m.kind, m.value(p), l...)
			}
		}
		for st, n := range paths {
			send(ch, targetPathsDesc, prometheus.GaugeValue, float64(n), s.Target, s.Device, st)
		}
		for j := range s.Sockets {
			k := &s.Sockets[j]
			for _, m := range socketMetrics {
				send(ch, m.desc, m.kind, m.value(k), s.Target, k.NIC)
			}
		}
	}
}

// sendStates writes 1 for current and 0 for the other known states; a
// state this aoe-stat does not know still gets its 1.
func sendStates(ch chan<- prometheus.Metric, d *prometheus.Desc, known []string, current string, labels []string) {
	for _, st := range known {
		send(ch, d, prometheus.GaugeValue, bool01(st == current), append(slices.Clip(labels), st)...)
	}
	if !slices.Contains(known, current) {
		send(ch, d, prometheus.GaugeValue, 1, append(slices.Clip(labels), current)...)
	}
}

// send hands a bad label value (not UTF-8) to the registry as an error
// rather than panicking, so Gather reports it.
func send(ch chan<- prometheus.Metric, d *prometheus.Desc, kind prometheus.ValueType, v float64, labels ...string) {
	m, err := prometheus.NewConstMetric(d, kind, v, labels...)
	if err != nil {
		m = prometheus.NewInvalidMetric(d, err)
	}
	ch <- m
}

func bool01(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
