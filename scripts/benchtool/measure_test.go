package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/goaoe/goaoe/session"
)

// TestReadState sums a state file's path and socket counters.
func TestReadState(t *testing.T) {
	upd := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	st := session.State{
		Target: "e1.2", Updated: upd, State: "up",
		Paths: []session.PathState{
			{Interface: "eth0", Sent: 10, Retransmitted: 1, Replies: 9, Lost: 1},
			{Interface: "eth1", Sent: 20, Retransmitted: 2, Replies: 18, Lost: 2},
		},
		Sockets: []session.InterfaceState{
			{NIC: "eth0", FramesOut: 10, SendCalls: 5, FramesIn: 9, ReceiveCalls: 3},
			{NIC: "eth1", FramesOut: 20, SendCalls: 4, FramesIn: 18, ReceiveCalls: 6},
		},
	}
	b, err := json.Marshal(st)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "e1.2.json")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	c, got, err := readState(path)
	if err != nil {
		t.Fatal(err)
	}
	want := aoeCounters{Sent: 30, Retransmitted: 3, Replies: 27, Lost: 3, FramesOut: 30, SendCalls: 9, FramesIn: 27, ReceiveCalls: 9}
	if c != want || !got.Equal(upd) {
		t.Errorf("readState = %+v, %v; want %+v, %v", c, got, want, upd)
	}
	if _, _, err := readState(filepath.Join(t.TempDir(), "missing.json")); err == nil {
		t.Error("readState of a missing file: no error")
	}
}
