package main

import (
	"slices"
	"testing"
)

// Each target's serving process gets the flags it was given, without
// what chose the targets.
func TestChildArgs(t *testing.T) {
	for _, tc := range []struct {
		args, positional, want []string
	}{
		{[]string{"--all", "--timeout", "10s"}, nil, []string{"--timeout", "10s"}},
		{[]string{"-i", "eth0", "e1.*", "--scan", "3s", "-r"}, []string{"e1.*"}, []string{"-i", "eth0", "-r"}},
		{[]string{"--scan=1s", "e1", "--reserve"}, []string{"e1"}, []string{"--reserve"}},
		{[]string{"-a", "--nbd-interface", "ioctl"}, nil, []string{"--nbd-interface", "ioctl"}},
	} {
		if got := childArgs(tc.args, tc.positional); !slices.Equal(got, tc.want) {
			t.Errorf("childArgs(%q) = %q, want %q", tc.args, got, tc.want)
		}
	}
}
