package multipath

import "time"

// RTT keeps a path's smoothed round-trip time and its mean deviation
// (Jacobson/Karels, as TCP and the Linux aoe driver do), and derives the
// retransmit timeout from them. It also keeps the peak round trip of the
// last two windows of peakWindow: a path that stalls now and then (a busy
// target, a descheduled VM) answers far beyond srtt+4*rttvar once in fifty
// frames, and each such stall would otherwise cost a spurious retransmit.
//
// Time is passed in; an RTT reads no clock and takes no lock.
type RTT struct {
	srtt, rttvar time.Duration
	sampled      bool

	peakNow, peakBefore time.Duration // this window's and the last one's
	windowStart         time.Time
}

// peakWindow is how long a stall keeps the timeout up: one to two of these.
const peakWindow = 2 * time.Second

// Sampled reports whether any round trip was measured yet.
func (r *RTT) Sampled() bool { return r.sampled }

// SRTT is the smoothed round trip, 0 before the first sample.
func (r *RTT) SRTT() time.Duration { return r.srtt }

// Sample folds in one round trip d, measured at now. Every send carries
// its own tag, so a reply names the send it answers and every reply is a
// clean sample: Karn's rule, needed where a retransmit looks like the
// original, is not.
func (r *RTT) Sample(d time.Duration, now time.Time) {
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

// RTO is the retransmit timeout after the given number of retries: the
// estimate plus four deviations (or the recent peak and a quarter, if
// more), doubled per retry, within floor and ceiling. Before any sample
// it is a quarter of ceiling.
func (r *RTT) RTO(retries int, floor, ceiling time.Duration) time.Duration {
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
