package multipath

import (
	"testing"
	"time"
)

func TestRTO(t *testing.T) {
	const min, max = 5 * time.Millisecond, 2 * time.Second
	var r RTT
	if got := r.RTO(0, min, max); got != max/4 {
		t.Fatalf("before any sample: %v, want %v", got, max/4)
	}
	now := time.Unix(1000, 0)
	for i := 0; i < 50; i++ {
		now = now.Add(10 * time.Millisecond)
		r.Sample(10*time.Millisecond, now)
	}
	if r.SRTT() != 10*time.Millisecond {
		t.Fatalf("srtt %v after steady 10ms samples", r.SRTT())
	}
	if got := r.RTO(0, min, max); got != 12500*time.Microsecond {
		t.Fatalf("rto %v with steady 10ms samples, want 12.5ms (the peak and a quarter)", got)
	}
	r.Sample(50*time.Millisecond, now)
	if r.rttvar <= time.Millisecond {
		t.Fatalf("rttvar %v did not grow after an outlier", r.rttvar)
	}
	if got := r.RTO(0, min, max); got != 62500*time.Microsecond {
		t.Fatalf("rto %v after a 50ms stall, want 62.5ms: the stall is remembered", got)
	}
	// Two quiet windows later the stall is forgotten.
	for i := 0; i < 500; i++ {
		now = now.Add(10 * time.Millisecond)
		r.Sample(10*time.Millisecond, now)
	}
	if got := r.RTO(0, min, max); got != 12500*time.Microsecond {
		t.Fatalf("rto %v 5s after the stall, want 12.5ms again", got)
	}
	base := r.RTO(0, min, max)
	if got := r.RTO(2, min, max); got != 4*base {
		t.Fatalf("rto after 2 retries %v, want 4x %v", got, base)
	}
	if got := r.RTO(20, min, max); got != max {
		t.Fatalf("backoff %v, want capped at %v", got, max)
	}
	var fast RTT
	fast.Sample(20*time.Microsecond, now)
	if got := fast.RTO(0, min, max); got != min {
		t.Fatalf("rto %v on a 20us link, want the floor %v", got, min)
	}
}

// TestRTTFirstSample: the first sample is the estimate, its half the
// deviation; before it the path counts as unmeasured.
func TestRTTFirstSample(t *testing.T) {
	var r RTT
	if r.Sampled() || r.SRTT() != 0 {
		t.Fatalf("unmeasured: sampled %v srtt %v", r.Sampled(), r.SRTT())
	}
	r.Sample(8*time.Millisecond, time.Unix(1000, 0))
	if !r.Sampled() || r.SRTT() != 8*time.Millisecond || r.rttvar != 4*time.Millisecond {
		t.Fatalf("after one 8ms sample: sampled %v srtt %v rttvar %v", r.Sampled(), r.SRTT(), r.rttvar)
	}
}
