package main

import (
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/goaoe/goaoe/internal/memnet"
)

func TestParseArgs(t *testing.T) {
	tests := []struct {
		args []string
		want options
	}{
		{
			args: []string{"1", "2", "eth0", "/tmp/disk"},
			want: options{bufCount: 16, sectorCount: -1, shelf: 1, slot: 2, iface: "eth0", file: "/tmp/disk"},
		},
		{
			args: []string{"-r", "-b", "1", "-s", "16", "65534", "254", "br0", "f"},
			want: options{readOnly: true, bufCount: 1, sectorCount: 16, shelf: 65534, slot: 254, iface: "br0", file: "f"},
		},
		{
			args: []string{"-q", "silent-control,echo-flush-status", "-q", "bufcnt0", "0", "0", "e", "f"},
			want: options{bufCount: 16, sectorCount: -1, iface: "e", file: "f",
				quirks: memnet.Quirks{Control: memnet.ControlSilent, EchoFlushStatus: true, ZeroBufferCount: true}},
		},
		{
			args: []string{"-q", "control-error1,abort-flush,claim-no-flush,flush-ext,firmware0,announce-v0", "-s", "0", "3", "4", "e", "f"},
			want: options{bufCount: 16, sectorCount: 0, shelf: 3, slot: 4, iface: "e", file: "f",
				quirks: memnet.Quirks{Control: memnet.ControlUnrecognized, AbortFlush: true, ClaimNoFlush: true,
					FlushExt: true, FirmwareZero: true, AnnounceVersion0: true}},
		},
	}
	for _, tt := range tests {
		o, err := parseArgs(tt.args, io.Discard)
		if err != nil {
			t.Errorf("%q: %v", tt.args, err)
			continue
		}
		if *o != tt.want {
			t.Errorf("%q:\n got %+v\nwant %+v", tt.args, *o, tt.want)
		}
	}
}

func TestUsageErrors(t *testing.T) {
	for _, tt := range []struct {
		args []string
		msg  string
	}{
		{[]string{"-q", "bogus", "1", "2", "e", "f"}, "valid quirks: abort-flush, announce-v0, bufcnt0, claim-no-flush, control-error1, echo-flush-status, firmware0, flush-ext, silent-control"},
		{[]string{"-q", "silent-control", "-q", "control-error1", "1", "2", "e", "f"}, "contradict"},
		{[]string{"1", "2", "e"}, "want SHELF SLOT IFACE FILE"},
		{[]string{"65535", "2", "e", "f"}, "bad shelf"},
		{[]string{"1", "255", "e", "f"}, "bad slot"},
		{[]string{"-b", "0", "1", "2", "e", "f"}, "bad -b"},
		{[]string{"-s", "256", "1", "2", "e", "f"}, "want 0..255"},
		{[]string{"-d", "1", "2", "e", "f"}, "not defined: -d"},
	} {
		var stderr strings.Builder
		if code := run(tt.args, io.Discard, &stderr); code != 2 {
			t.Errorf("%q: exit status %d, want 2", tt.args, code)
		}
		if !strings.Contains(stderr.String(), tt.msg) || !strings.Contains(stderr.String(), usageLine) {
			t.Errorf("%q: message %q, want %q and the usage line", tt.args, stderr.String(), tt.msg)
		}
		if _, err := parseArgs(tt.args, io.Discard); !errors.Is(err, errUsage) {
			t.Errorf("%q: parseArgs error %v is not a usage error", tt.args, err)
		}
	}
}
