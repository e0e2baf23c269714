package initiator

import (
	"time"

	"github.com/goaoe/goaoe/initiator/wire"
	"github.com/goaoe/goaoe/multipath"
)

// path is one way to a target: a local port and one of the target's MACs.
// It has its own window, RTT and health (package multipath, where the
// choice among paths is made too), because two NICs (or two target ports)
// need not be alike.
type path struct {
	port       Port
	mac        wire.MAC
	maxSectors int
	win        multipath.Window
	rtt        multipath.RTT
	health     multipath.Health
	inflight   int
	counters   PathCounters
	outbox     [][]byte // frames to send at the end of a pump
	// With a port that sends frames in parts, outbox holds their heads
	// and outdata their data.
	parts   PartsSender
	outdata [][]byte
}

// PathCounters count a path's frames.
type PathCounters struct {
	Sent          uint64 // frames put on the wire, retransmits included
	Retransmitted uint64
	Replies       uint64 // replies accepted
	Timeouts      uint64 // frames whose timer ran out
	SendErrors    uint64
}

// otherPathUpLocked reports whether a path other than p could carry
// frames: taking out the last path would only stall I/O.
func (t *Target) otherPathUpLocked(p *path) bool {
	for _, q := range t.paths {
		if q != p && q.health.Up() {
			return true
		}
	}
	return false
}

// pickPathLocked chooses the path for the next frame of count sectors
// (multipath.Pick says how); avoid is the path a retransmit should not
// take if another has room. It fills the target's scratch slice of
// candidates, so that nothing is allocated per frame.
func (t *Target) pickPathLocked(avoid *path, count int) *path {
	n := len(t.paths)
	if cap(t.candidates) < n {
		t.candidates = make([]multipath.Candidate, n)
	}
	cands := t.candidates[:n]
	for i, p := range t.paths {
		// Field by field: a composite literal would be built on the
		// stack and copied, which costs more than the choice itself.
		c := &cands[i]
		c.MAC = p.mac
		c.Up = p.health.Up()
		c.Window, c.Promised, c.Ceiling = p.win.Size(), p.win.Promised(), p.win.Ceiling()
		c.Inflight = p.inflight
		c.SRTT = p.rtt.SRTT()
		c.Loss = p.health.LossRate()
		c.MaxSectors = p.maxSectors
		c.Avoid = p == avoid
	}
	if i := multipath.Pick(cands, count); i >= 0 {
		return t.paths[i]
	}
	return nil
}

// pathDownLocked takes a path out of use and sends its frames elsewhere
// now, rather than one timeout at a time.
func (t *Target) pathDownLocked(p *path, why string) {
	p.health.Eject()
	t.ini.opts.Logf("%s: path %s -> %s down: %s; probing it", t.addr, p.port.Name(), p.mac, why)
	for _, f := range t.inflight {
		if f.path == p {
			t.untrackLocked(f)
			t.requeueLocked(f)
		}
	}
}

// pathUpLocked puts a path that answered back in use, from a small
// window: the link may still be poor.
func (t *Target) pathUpLocked(p *path, why string) {
	p.health.Readmit()
	p.win.Restart()
	t.ini.opts.Logf("%s: path %s -> %s up: %s", t.addr, p.port.Name(), p.mac, why)
}

func (t *Target) anyPathDown() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.anyPathDownLocked()
}

func (t *Target) anyPathDownLocked() bool {
	for _, p := range t.paths {
		if !p.health.Up() {
			return true
		}
	}
	return false
}

func (t *Target) probe(now time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.probeLocked(now)
}

// probeLocked sends a config query down every path that is down and due
// for one. Its timing is the path's Health's (ProbeDue, on the same
// multipath.QuerySchedule that times the other config queries: see
// multipath.Queries, which sends those).
func (t *Target) probeLocked(now time.Time) {
	for _, p := range t.paths {
		if p.health.ProbeDue(now) {
			_ = t.ini.queryOn(p.port, p.mac, t.addr)
		}
	}
}

// PathStatus is a snapshot of one path, for aoe-stat.
type PathStatus struct {
	Port string
	MAC  wire.MAC
	// Up is false while the path is out of use for losing frames.
	Up       bool
	Window   int
	Inflight int
	SRTT     time.Duration
	PathCounters
}

// TargetStatus is a snapshot of a target, for aoe-stat.
type TargetStatus struct {
	Addr       Addr
	Config     TargetConfig
	Identity   *Identity
	Learned    Learned
	MaxSectors int
	// Dead is why the target is down, "" while it is up.
	Dead  string
	Paths []PathStatus
	TargetCounters
}

// Status takes a snapshot.
func (t *Target) Status() TargetStatus {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := TargetStatus{Addr: t.addr, Config: t.config, Identity: t.ident, Learned: t.learned, MaxSectors: t.maxSectors, TargetCounters: t.counters}
	if t.dead != nil {
		s.Dead = t.dead.Error()
	}
	for _, p := range t.paths {
		s.Paths = append(s.Paths, PathStatus{Port: p.port.Name(), MAC: p.mac, Up: p.health.Up(), Window: p.win.Size(), Inflight: p.inflight, SRTT: p.rtt.SRTT(), PathCounters: p.counters})
	}
	return s
}

// frameQueue is a FIFO of frames that also takes retransmits at the front.
type frameQueue struct {
	items []*frame
	head  int
}

func (q *frameQueue) len() int { return len(q.items) - q.head }

func (q *frameQueue) front() *frame {
	if q.len() == 0 {
		return nil
	}
	return q.items[q.head]
}

func (q *frameQueue) popFront() *frame {
	if q.len() == 0 {
		return nil
	}
	f := q.items[q.head]
	q.items[q.head] = nil
	q.head++
	if q.head == len(q.items) {
		q.items, q.head = q.items[:0], 0
	}
	return f
}

func (q *frameQueue) pushBack(f *frame) { q.items = append(q.items, f) }

func (q *frameQueue) pushFront(f *frame) {
	if q.head > 0 {
		q.head--
		q.items[q.head] = f
		return
	}
	q.items = append(q.items, nil)
	copy(q.items[1:], q.items)
	q.items[0] = f
}
