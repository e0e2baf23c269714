package multipath

import (
	"math"
	"testing"
	"time"
)

// outcome is one thing that happens to a path's frames.
type outcome int

const (
	reply outcome = iota
	loss
	late
)

// repeat is n times o.
func repeat(o outcome, n int) []outcome {
	s := make([]outcome, n)
	for i := range s {
		s[i] = o
	}
	return s
}

// apply counts the outcomes in h.
func apply(h *Health, outcomes []outcome) {
	for _, o := range outcomes {
		switch o {
		case reply:
			h.OnReply()
		case loss:
			h.OnLoss()
		case late:
			h.OnLate()
		}
	}
}

func TestHealthEjection(t *testing.T) {
	lost := func(n int) []outcome { return repeat(loss, n) }
	for _, tc := range []struct {
		name     string
		outcomes []outcome
		othersUp bool
		eject    bool
	}{
		{"eight lost in a row", lost(EjectAfter), true, true},
		{"more than eight", lost(EjectAfter + 3), true, true},
		{"seven lost", lost(EjectAfter - 1), true, false},
		{"the last path up stays", lost(EjectAfter), false, false},
		{"a reply starts the count again", append(append(lost(EjectAfter-1), reply), lost(EjectAfter-1)...), true, false},
		{"a late reply starts it again too", append(append(lost(EjectAfter-1), late), lost(EjectAfter-1)...), true, false},
		{"no losses", []outcome{reply, reply}, true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var h Health
			apply(&h, tc.outcomes)
			if got := h.ShouldEject(tc.othersUp); got != tc.eject {
				t.Fatalf("ShouldEject(%v) = %v after %d in a row, want %v", tc.othersUp, got, h.LostInRow(), tc.eject)
			}
			if tc.eject {
				h.Eject()
				if h.Up() || h.ShouldEject(tc.othersUp) {
					t.Fatalf("ejected: up %v, ejected again %v", h.Up(), h.ShouldEject(tc.othersUp))
				}
				h.Readmit()
				if !h.Up() || h.LostInRow() != 0 {
					t.Fatalf("readmitted: up %v, %d lost in a row", h.Up(), h.LostInRow())
				}
			}
		})
	}
}

func TestHealthProbes(t *testing.T) {
	t0 := time.Unix(1000, 0)
	var h Health
	if h.ProbeDue(t0) {
		t.Fatal("a path that is up is probed")
	}
	h.Eject()
	for _, tc := range []struct {
		at  time.Duration // after t0
		due bool
	}{
		{0, true}, // at once when it goes down
		{time.Millisecond, false},
		{ProbeInterval - time.Nanosecond, false},
		{ProbeInterval, true},
		{ProbeInterval + 100*time.Millisecond, false},
		{3 * ProbeInterval, true}, // late ticks: no catching up
		{3*ProbeInterval + ProbeInterval/2, false},
	} {
		if got := h.ProbeDue(t0.Add(tc.at)); got != tc.due {
			t.Errorf("probe due at +%v: %v, want %v", tc.at, got, tc.due)
		}
	}
	h.Readmit()
	if h.ProbeDue(t0.Add(time.Hour)) {
		t.Fatal("a readmitted path is probed")
	}
}

func TestHealthLossRate(t *testing.T) {
	// keep is what of the rate each outcome keeps.
	const keep = 1 - 1.0/lossSpan
	for _, tc := range []struct {
		name     string
		outcomes []outcome
		want     float64
		// tolerance: a moving average of a mix is close, not exact.
		tolerance float64
	}{
		{"clean", repeat(reply, 100), 0, 0},
		{"one loss", []outcome{loss}, 1.0 / lossSpan, 0},
		{"a span of losses", repeat(loss, lossSpan), 1 - math.Pow(keep, lossSpan), 1e-12},
		{"a late reply takes a loss back", []outcome{loss, late}, 0, 0},
		{"and never below nothing", []outcome{late, late}, 0, 0},
		{"losses fade out", append(repeat(loss, 4), repeat(reply, 10*lossSpan)...), (1 - math.Pow(keep, 4)) * math.Pow(keep, 10*lossSpan), 1e-12},
		{"one in ten lost", tenth(1000), 0.1, 0.05},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var h Health
			apply(&h, tc.outcomes)
			if got := h.LossRate(); math.Abs(got-tc.want) > tc.tolerance {
				t.Fatalf("loss rate %v, want %v", got, tc.want)
			}
		})
	}
}

// tenth is n outcomes, every tenth lost.
func tenth(n int) []outcome {
	s := make([]outcome, n)
	for i := range s {
		if i%10 == 9 {
			s[i] = loss
		}
	}
	return s
}
