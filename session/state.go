package session

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/goaoe/goaoe/initiator"
	"github.com/goaoe/goaoe/nbd"
	"github.com/goaoe/goaoe/rawport"
)

// RunDir holds the sessions' files. GOAOE_RUN_DIR overrides it, for tests.
var RunDir = func() string {
	if d := os.Getenv("GOAOE_RUN_DIR"); d != "" {
		return d
	}
	return "/run/goaoe"
}()

// State is what a serving process publishes about its session.
type State struct {
	Target   string `json:"target"`
	Device   string `json:"device"`
	PID      int    `json:"pid"`
	ReadOnly bool   `json:"read_only"`
	// NBDInterface is how the kernel was given the device: "netlink" (it
	// outlives this process and waits DeadConnSecs for the next one) or
	// "ioctl" (it dies with this process).
	NBDInterface string    `json:"nbd_interface"`
	Backend      string    `json:"backend,omitempty"` // the kernel's backend identifier (netlink)
	DeadConnSecs float64   `json:"dead_conn_timeout_s,omitempty"`
	Started      time.Time `json:"started"`
	Updated      time.Time `json:"updated"`
	SizeBytes    int64     `json:"size_bytes"`
	PayloadBytes int       `json:"payload_bytes"`
	Model        string    `json:"model,omitempty"`
	// State is "up", or "down" while the target is dead or the serving
	// process is gone; Reason says why.
	State  string `json:"state"`
	Reason string `json:"reason,omitempty"`
	// What the target is, and what asking it taught (initiator.Learned).
	Flush           string `json:"flush"` // the flush command used: "0xea", "0xe7" or "none"
	Reservations    bool   `json:"reservations"`
	LBA48           bool   `json:"lba48"`
	SectorsPerFrame int    `json:"sectors_per_frame"`
	BufferCount     int    `json:"buffer_count"`
	// TargetReadOnly: the target refused a write (exported read-only).
	TargetReadOnly bool `json:"target_read_only"`
	// FlushStatusEchoes counts flush replies whose status held the
	// command byte, taken as done (see initiator.TargetCounters).
	FlushStatusEchoes uint64 `json:"flush_status_echoes"`
	// Warnings are what an admin should know of this target, one line each.
	Warnings []string `json:"warnings,omitempty"`
	// Revalidated is the last aoe-revalidate's outcome, nil before one.
	Revalidated *Revalidation `json:"revalidated,omitempty"`
	Paths       []PathState   `json:"paths"`
	// Sockets are the raw sockets' counters (all targets' traffic).
	Sockets []InterfaceState `json:"sockets,omitempty"`
	// Dropped replies, by why.
	RepliesUnmatched uint64 `json:"replies_unmatched"`
	RepliesLate      uint64 `json:"replies_late"`
	RepliesForeign   uint64 `json:"replies_foreign"`
	RepliesMalformed uint64 `json:"replies_malformed"`
}

// PathState is one path of a session, for aoe-stat -v.
type PathState struct {
	Interface     string  `json:"interface"`
	MAC           string  `json:"mac"`
	State         string  `json:"state"`
	Window        int     `json:"window"`
	Inflight      int     `json:"inflight"`
	SRTTMicros    float64 `json:"srtt_us"`
	Sent          uint64  `json:"sent"`
	Retransmitted uint64  `json:"retransmitted"`
	Replies       uint64  `json:"replies"`
	Lost          uint64  `json:"lost"` // frames whose timer ran out (initiator.PathCounters.Timeouts)
}

// InterfaceState is one interface's socket counters: how many frames each
// system call moved, which is where a userspace initiator's CPU goes.
type InterfaceState struct {
	NIC           string `json:"nic"` // not "interface": scripts count paths by that key
	FramesOut     uint64 `json:"frames_out"`
	SendCalls     uint64 `json:"send_calls"`
	SendDropped   uint64 `json:"send_dropped"` // the socket or device queue was full
	FramesIn      uint64 `json:"frames_in"`
	ReceiveCalls  uint64 `json:"receive_calls"`
	ReceiveEmpty  uint64 `json:"receive_empty"`
	KernelDropped uint64 `json:"kernel_dropped"`
}

// interfaceStates reads the counters of ports that keep them (rawport's).
func interfaceStates(ports []initiator.Port) []InterfaceState {
	var out []InterfaceState
	for _, p := range ports {
		rp, ok := p.(interface{ Stats() rawport.Stats })
		if !ok {
			continue
		}
		st := rp.Stats()
		out = append(out, InterfaceState{
			NIC: p.Name(), FramesOut: st.Sent, SendCalls: st.SendCalls, SendDropped: st.SendDropped,
			FramesIn: st.Received, ReceiveCalls: st.ReceiveCalls, ReceiveEmpty: st.ReceiveEmpty,
			KernelDropped: st.KernelDropped,
		})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].NIC < out[j].NIC })
	return out
}

// Interfaces lists the session's interfaces, sorted, once each.
func (s *State) Interfaces() []string {
	seen := map[string]bool{}
	var out []string
	for _, p := range s.Paths {
		if !seen[p.Interface] {
			seen[p.Interface] = true
			out = append(out, p.Interface)
		}
	}
	sort.Strings(out)
	return out
}

func stateFrom(st initiator.TargetStatus) State {
	s := State{
		Target:       st.Addr.String(),
		PayloadBytes: st.MaxSectors * 512,
		State:        "up",

		RepliesUnmatched: st.Unmatched,
		RepliesLate:      st.Late,
		RepliesForeign:   st.Foreign,
		RepliesMalformed: st.Malformed,

		Flush:             initiator.FlushName(st.Learned.FlushCommand),
		Reservations:      st.Learned.Reservations,
		SectorsPerFrame:   st.MaxSectors,
		BufferCount:       st.Config.BufferCount,
		TargetReadOnly:    st.Learned.WritesRefused,
		FlushStatusEchoes: st.EchoedStatus,
	}
	if st.Identity != nil {
		s.SizeBytes, s.Model, s.LBA48 = st.Identity.Size(), st.Identity.Model, st.Identity.LBA48
	}
	if l := st.Learned; l.WritesRefused {
		s.Warnings = append(s.Warnings, "refuses writes (ATA ABRT): probably exported read-only; writes fail at once and the device is read-only")
	}
	if l := st.Learned; l.Probed && l.FlushCommand == 0 {
		s.Warnings = append(s.Warnings, "cannot flush its write cache ("+l.FlushProblem+"): attached write-through")
	}
	if l := st.Learned; l.Probed && !l.Reservations {
		s.Warnings = append(s.Warnings, "has no reservations ("+l.ReservationProblem+")")
	}
	if st.Dead != "" {
		s.State, s.Reason = "down", st.Dead
	}
	for _, p := range st.Paths {
		s.Paths = append(s.Paths, PathState{
			Interface: p.Port, MAC: p.MAC.String(), State: pathState(p.Up), Window: p.Window, Inflight: p.Inflight,
			SRTTMicros: float64(p.SRTT.Nanoseconds()) / 1e3,
			Sent:       p.Sent, Retransmitted: p.Retransmitted, Replies: p.Replies, Lost: p.Timeouts,
		})
	}
	return s
}

func statePath(target string) string { return filepath.Join(RunDir, target+".json") }
func lockPath(target string) string  { return filepath.Join(RunDir, target+".lock") }

// LogPath is where a background session logs.
func LogPath(target string) string { return filepath.Join(RunDir, target+".log") }

// writeState replaces the state file atomically, so readers never see half.
func writeState(s *State) error {
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	tmp := statePath(s.Target) + ".tmp"
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, statePath(s.Target))
}

// List reads every session's state. A session whose serving process is gone
// (its lock is free) is listed as down.
func List() ([]State, error) {
	files, err := filepath.Glob(filepath.Join(RunDir, "*.json"))
	if err != nil {
		return nil, err
	}
	var out []State
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			continue // removed while we looked: detached
		}
		var s State
		if json.Unmarshal(b, &s) != nil {
			continue
		}
		if !alive(s.Target) {
			orphaned(&s, time.Now())
		}
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Target < out[j].Target })
	return out, nil
}

// orphaned describes a session whose serving process is gone: a netlink
// device the kernel still holds waits for a new server ("reconnecting",
// with about how long is left before its I/O fails); anything else is
// down.
func orphaned(s *State, now time.Time) {
	s.Paths = nil
	if s.NBDInterface == "netlink" && s.Backend != "" {
		if b, err := nbd.BackendOf(s.Device); err == nil && b == s.Backend {
			left := time.Duration(s.DeadConnSecs*float64(time.Second)) - now.Sub(s.Updated)
			if left > 0 {
				s.State, s.Reason = "reconnecting", fmt.Sprintf("serving process %d is gone; the kernel holds %s for aoe-attach %s for about %v more, then fails its I/O", s.PID, s.Device, s.Target, left.Round(time.Second))
				return
			}
			s.State, s.Reason = "down", fmt.Sprintf("serving process %d is gone and nothing reconnected in time: %s fails its I/O; aoe-attach %s takes it back, aoe-detach %s releases it", s.PID, s.Device, s.Target, s.Target)
			return
		}
	}
	s.State, s.Reason = "down", fmt.Sprintf("serving process %d is gone; run aoe-detach %s to clean up, then aoe-attach again", s.PID, s.Target)
}

// Find returns the session of a target (eX.Y) or a device (/dev/nbdN).
func Find(which string) (*State, error) {
	all, err := List()
	if err != nil {
		return nil, err
	}
	for i := range all {
		s := &all[i]
		if s.Target == which || s.Device == which || strings.TrimPrefix(s.Device, "/dev/") == which {
			return s, nil
		}
	}
	return nil, fmt.Errorf("%s is not attached on this host (aoe-stat lists what is)", which)
}

// lock takes the session lock of a target, or says who holds it.
func lock(target string) (*os.File, error) {
	if err := os.MkdirAll(RunDir, 0o755); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(lockPath(target), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, err
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, unix.EWOULDBLOCK) {
			if s, err := Find(target); err == nil {
				return nil, fmt.Errorf("%s is already attached on this host as %s (pid %d); aoe-detach %s first", target, s.Device, s.PID, target)
			}
			return nil, fmt.Errorf("%s is already being attached on this host", target)
		}
		return nil, err
	}
	return f, nil
}

// Serving reports whether a live process serves the target on this host.
func Serving(target string) bool { return alive(target) }

// alive reports whether a serving process holds the target's lock.
func alive(target string) bool {
	f, err := os.Open(lockPath(target))
	if err != nil {
		return false
	}
	defer f.Close()
	if err := unix.Flock(int(f.Fd()), unix.LOCK_SH|unix.LOCK_NB); err != nil {
		return true
	}
	unix.Flock(int(f.Fd()), unix.LOCK_UN)
	return false
}

func pathState(up bool) string {
	if up {
		return "up"
	}
	return "down"
}
