package multipath

import (
	"time"

	"github.com/goaoe/goaoe/initiator/wire"
)

// Candidate is one path to a target as the balancer sees it when a frame
// is to be sent: the engine fills one in per path, from the path's Window,
// RTT and Health, in a slice it keeps for the purpose.
type Candidate struct {
	// MAC is the target port the path reaches. Paths to one target port
	// share its queue, whichever of our ports they leave from.
	MAC wire.MAC
	// Up is Health.Up.
	Up bool
	// Window, Promised and Ceiling are the path's Window: Size, Promised
	// and Ceiling.
	Window, Promised, Ceiling int
	// Inflight is how many of the path's frames are in flight.
	Inflight int
	// SRTT is RTT.SRTT: 0 while the path is not measured yet.
	SRTT time.Duration
	// Loss is Health.LossRate.
	Loss float64
	// MaxSectors is the most sectors a frame on the path carries.
	MaxSectors int
	// Avoid marks the path a retransmit should not use if another has
	// room: the one its frame timed out on.
	Avoid bool
}

// lossWeight: a path losing 10% of its frames scores about half of a
// clean one as fast; one losing half, a fifth.
const lossWeight = 8

// Pick chooses the path for the next frame of sectors sectors and returns
// its index in paths, or -1 if none can take it now. Of the paths that are
// up and whose frames are that large, it takes the one with the most free
// room in its window, scaled by how fast it answers, so a slow path takes
// a share in proportion to what it can carry:
//
//   - a path's room is its window within what its target port may hold
//     (the buffer count for several paths to it, the window's ceiling for
//     one): when the port's cap binds, the window says nothing of how
//     loaded the path is, and a full port takes nothing;
//   - a path not measured yet is taken to be as fast as the fastest: it
//     must carry frames to be measured at all;
//   - a lossy path keeps its window (see Window), so it is the picking
//     that spares it: each loss costs a frame a timeout;
//   - the path to avoid is taken only when no other has room.
//
// Ties go to the first. Pick allocates nothing.
func Pick(paths []Candidate, sectors int) int {
	var fastest time.Duration
	for i := range paths {
		if d := paths[i].SRTT; d > 0 && (fastest == 0 || d < fastest) {
			fastest = d
		}
	}
	best, bestScore := -1, 0.0
	for i := range paths {
		c := &paths[i]
		if !c.Up || c.Inflight >= c.Window || c.MaxSectors < sectors {
			continue
		}
		capacity, queued := portLoad(paths, c.MAC)
		size := min(c.Window, capacity)
		free := size - c.Inflight
		if free <= 0 || queued >= capacity {
			continue
		}
		score := float64(free) / float64(size)
		switch {
		case c.SRTT > 0:
			score /= c.SRTT.Seconds()
		case fastest > 0:
			score /= fastest.Seconds()
		}
		score /= 1 + lossWeight*c.Loss
		if c.Avoid {
			score /= 1e9
		}
		if best < 0 || score > bestScore {
			best, bestScore = i, score
		}
	}
	return best
}

// portLoad is how many frames the target port mac may have queued from
// us, and how many it has. Through one path, that path's ceiling: it
// probes past the buffer count. Through several, the buffer count: a slow
// link's share of the extra would sit queued on that link, holding up
// whole requests, and a drop could not be told from a link's loss.
func portLoad(paths []Candidate, mac wire.MAC) (capacity, queued int) {
	n, ceiling, promised := 0, 1, 1
	for i := range paths {
		c := &paths[i]
		if c.MAC != mac {
			continue
		}
		queued += c.Inflight
		if c.Up {
			n++
			ceiling, promised = max(ceiling, c.Ceiling), max(promised, c.Promised)
		}
	}
	if n > 1 {
		return promised, queued
	}
	return ceiling, queued
}
