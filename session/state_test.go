package session

import (
	"encoding/json"
	"testing"
	"time"
)

// TestStateKeys pins the state file's JSON: guest scripts, aoe-stat --json
// users and scripts/benchtool read these keys, so renaming a field must
// not change one.
func TestStateKeys(t *testing.T) {
	s := State{
		Target: "e1.2", Device: "/dev/nbd0", PID: 1, ReadOnly: true, NBDInterface: "netlink", Backend: "aoe:e1.2", DeadConnSecs: 10, Started: time.Unix(1, 0).UTC(), Updated: time.Unix(2, 0).UTC(),
		SizeBytes: 3, PayloadBytes: 4, Model: "m", State: "up", Reason: "r", Flush: "0xea", Reservations: true, LBA48: true,
		SectorsPerFrame: 5, BufferCount: 6, TargetReadOnly: true, FlushStatusEchoes: 7, Warnings: []string{"w"},
		Paths: []PathState{{Interface: "eth0", MAC: "m", State: "up", Window: 1, Inflight: 2, SRTTMicros: 3,
			Sent: 4, Retransmitted: 5, Replies: 6, Lost: 7}},
		Sockets: []InterfaceState{{NIC: "eth0", FramesOut: 1, SendCalls: 2, SendDropped: 3, FramesIn: 4,
			ReceiveCalls: 5, ReceiveEmpty: 6, KernelDropped: 7}},
		RepliesUnmatched: 8, RepliesLate: 9, RepliesForeign: 10, RepliesMalformed: 11,
	}
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if got := string(b); got != wantStateJSON {
		t.Errorf("state file changed:\n%s\nwant:\n%s", got, wantStateJSON)
	}
	// And what is left out when empty.
	b, err = json.Marshal(State{})
	if err != nil {
		t.Fatal(err)
	}
	const empty = `{"target":"","device":"","pid":0,"read_only":false,"nbd_interface":"","started":"0001-01-01T00:00:00Z","updated":"0001-01-01T00:00:00Z",` +
		`"size_bytes":0,"payload_bytes":0,"state":"","flush":"","reservations":false,"lba48":false,"sectors_per_frame":0,` +
		`"buffer_count":0,"target_read_only":false,"flush_status_echoes":0,"paths":null,` +
		`"replies_unmatched":0,"replies_late":0,"replies_foreign":0,"replies_malformed":0}`
	if got := string(b); got != empty {
		t.Errorf("empty state:\n%s\nwant:\n%s", got, empty)
	}
}

const wantStateJSON = `{
  "target": "e1.2",
  "device": "/dev/nbd0",
  "pid": 1,
  "read_only": true,
  "nbd_interface": "netlink",
  "backend": "aoe:e1.2",
  "dead_conn_timeout_s": 10,
  "started": "1970-01-01T00:00:01Z",
  "updated": "1970-01-01T00:00:02Z",
  "size_bytes": 3,
  "payload_bytes": 4,
  "model": "m",
  "state": "up",
  "reason": "r",
  "flush": "0xea",
  "reservations": true,
  "lba48": true,
  "sectors_per_frame": 5,
  "buffer_count": 6,
  "target_read_only": true,
  "flush_status_echoes": 7,
  "warnings": [
    "w"
  ],
  "paths": [
    {
      "interface": "eth0",
      "mac": "m",
      "state": "up",
      "window": 1,
      "inflight": 2,
      "srtt_us": 3,
      "sent": 4,
      "retransmitted": 5,
      "replies": 6,
      "lost": 7
    }
  ],
  "sockets": [
    {
      "nic": "eth0",
      "frames_out": 1,
      "send_calls": 2,
      "send_dropped": 3,
      "frames_in": 4,
      "receive_calls": 5,
      "receive_empty": 6,
      "kernel_dropped": 7
    }
  ],
  "replies_unmatched": 8,
  "replies_late": 9,
  "replies_foreign": 10,
  "replies_malformed": 11
}`
