package initiator

import "time"

// rttEstimator keeps the smoothed round-trip time and its mean deviation
// (Jacobson/Karels, as TCP and the Linux aoe driver do), and derives the
// retransmit timeout from them. It also keeps the peak round trip of the
// last two windows of peakWindow: a path that stalls now and then (a busy
// target, a descheduled VM) answers far beyond srtt+4*rttvar once in fifty
// frames, and each such stall would otherwise cost a spurious retransmit.
type rttEstimator struct {
	srtt, rttvar time.Duration
	sampled      bool

	peakNow, peakBefore time.Duration // this window's and the last one's
	windowStart         time.Time
}

// peakWindow is how long a stall keeps the timeout up: one to two of these.
const peakWindow = 2 * time.Second

// sample folds one measured round trip in. Every send carries its own
// tag, so a reply names the send it answers and every reply is a clean
// sample: Karn's rule, needed where a retransmit looks like the original,
// is not.
func (r *rttEstimator) sample(d time.Duration, now time.Time) {
	if now.Sub(r.windowStart) >= peakWindow {
		r.peakBefore, r.peakNow, r.windowStart = r.peakNow, 0, now
	}
	r.peakNow = max(r.peakNow, d)
	if !r.sampled {
		r.srtt, r.rttvar, r.sampled = d, d/2, true
		return
	}
	diff := d - r.srtt
	if diff < 0 {
		diff = -diff
	}
	r.rttvar += (diff - r.rttvar) / 4
	r.srtt += (d - r.srtt) / 8
}

// rto is the retransmit timeout after the given number of retries: the
// estimate plus four deviations, doubled per retry, kept within bounds.
func (r *rttEstimator) rto(retries int, floor, ceiling time.Duration) time.Duration {
	t := ceiling / 4
	if r.sampled {
		peak := max(r.peakNow, r.peakBefore)
		t = max(r.srtt+4*r.rttvar, peak+peak/4)
	}
	t = max(t, floor)
	for i := 0; i < retries && t < ceiling; i++ {
		t *= 2
	}
	return min(t, ceiling)
}
