package discovery

import (
	"testing"

	"github.com/goaoe/goaoe/initiator"
)

func TestParsePattern(t *testing.T) {
	for _, tc := range []struct {
		in    string
		want  Pattern
		query initiator.Addr
	}{
		{"e1.2", Pattern{1, 2}, initiator.Addr{Shelf: 1, Slot: 2}},
		{"e1", Pattern{1, -1}, initiator.Addr{Shelf: 1, Slot: 0xff}},
		{"e1.*", Pattern{1, -1}, initiator.Addr{Shelf: 1, Slot: 0xff}},
		{"*", Pattern{-1, -1}, initiator.AllTargets},
		{"e*", Pattern{-1, -1}, initiator.AllTargets},
		{"e*.*", Pattern{-1, -1}, initiator.AllTargets},
		{"e0.0", Pattern{0, 0}, initiator.Addr{}},
	} {
		got, err := ParsePattern(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("ParsePattern(%q) = %+v, %v; want %+v", tc.in, got, err, tc.want)
			continue
		}
		if q := got.Query(); q != tc.query {
			t.Errorf("%q: query %v, want %v", tc.in, q, tc.query)
		}
	}
	for _, bad := range []string{"", "1.2", "e", "e1.", "e1.x", "e65535", "e1.255", "e*.1", "ex"} {
		if p, err := ParsePattern(bad); err == nil {
			t.Errorf("ParsePattern(%q) = %+v, want an error", bad, p)
		}
	}
}

func TestPatternMatch(t *testing.T) {
	shelf1, _ := ParsePattern("e1.*")
	one, _ := ParsePattern("e1.2")
	all, _ := ParsePattern("*")
	for _, tc := range []struct {
		p    Pattern
		a    initiator.Addr
		want bool
	}{
		{shelf1, initiator.Addr{Shelf: 1, Slot: 0}, true},
		{shelf1, initiator.Addr{Shelf: 1, Slot: 15}, true},
		{shelf1, initiator.Addr{Shelf: 2, Slot: 1}, false},
		{one, initiator.Addr{Shelf: 1, Slot: 2}, true},
		{one, initiator.Addr{Shelf: 1, Slot: 3}, false},
		{all, initiator.Addr{Shelf: 7, Slot: 9}, true},
	} {
		if got := tc.p.Match(tc.a); got != tc.want {
			t.Errorf("%v matches %v: %v, want %v", tc.p, tc.a, got, tc.want)
		}
	}
}
