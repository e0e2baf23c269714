package initiator

import "time"

// rttEstimator keeps the smoothed round-trip time and its mean deviation
// (Jacobson/Karels, as TCP and the Linux aoe driver do), and derives the
// retransmit timeout from them.
type rttEstimator struct {
	srtt, rttvar time.Duration
	sampled      bool
}

// sample folds one measured round trip in. Callers give only samples of
// frames sent once (Karn's rule): a reply to a retransmitted frame could
// belong to either send.
func (r *rttEstimator) sample(d time.Duration) {
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
func (r *rttEstimator) rto(retries int, min, max time.Duration) time.Duration {
	t := max / 4
	if r.sampled {
		t = r.srtt + 4*r.rttvar
	}
	if t < min {
		t = min
	}
	for i := 0; i < retries && t < max; i++ {
		t *= 2
	}
	if t > max {
		t = max
	}
	return t
}
