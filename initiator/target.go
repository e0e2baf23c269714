package initiator

import (
	"sync"
	"time"

	"github.com/goaoe/goaoe/initiator/wire"
	"github.com/goaoe/goaoe/multipath"
)

// ataOverhead is what a frame carries besides sectors: the Ethernet, AoE
// and ATA headers. (MTU-36)/512 sectors fit a frame, as Linux and vblade
// compute it.
const ataOverhead = wire.HeaderLen + wire.ATAHeaderLen

// Target is one AoE target (shelf.slot) and everything in flight to it.
// Its methods are safe for concurrent use; ReadAt, WriteAt and Flush block
// until the target answered or the request failed.
type Target struct {
	ini  *Initiator
	addr Addr

	mu       targetLock // guards everything below; Unlock runs completions
	config   TargetConfig
	paths    []*path
	queue    frameQueue        // frames waiting for room in a window
	inflight map[uint32]*frame // by tag
	// candidates is pickPathLocked's scratch slice, one per path.
	candidates []multipath.Candidate
	ident      *Identity
	learned    Learned
	maxSectors int       // per frame, the least any path allows
	progress   time.Time // last reply, or when the target became busy
	busy       int       // requests in progress
	dead       error     // set when the deadline passed; cleared by a config answer
	counters   TargetCounters
	// ghosts are writes that were sent more than once and are answered,
	// whose older copies may still reach the target; held are write
	// frames that overlap one and wait for it to expire.
	ghosts []ghost
	held   []*frame
	// sending lists the paths with frames in their outbox.
	sending []*path
	// retired remembers the sends that timed out, by tag, until
	// retiredFor has passed.
	retired   map[uint32]retiredSend
	framePool sync.Pool
}

// TargetCounters are the frames a target's replies were dropped for.
type TargetCounters struct {
	// Unmatched replies carry no tag in flight or recently retired:
	// duplicates or strays.
	Unmatched uint64
	// Late replies answer a send that had already timed out and been
	// sent again: the timeout was spurious.
	Late uint64
	// Foreign replies carry a tag in flight but come from another path
	// than the frame went out on: spoofed or misrouted.
	Foreign uint64
	// Malformed replies are too short or of the wrong length.
	Malformed uint64
	// EchoedStatus counts flush replies whose status field held the
	// command byte (a target that does not fill it in): taken as done.
	EchoedStatus uint64
	// HeldWrites counts write frames held back because an older write to
	// the same sectors was retransmitted and a copy may still be on its way.
	HeldWrites uint64
}

func newTarget(ini *Initiator, addr Addr) *Target {
	return &Target{ini: ini, addr: addr, inflight: make(map[uint32]*frame), maxSectors: 2}
}

// Addr is the target's shelf and slot.
func (t *Target) Addr() Addr { return t.addr }

// Config is the target's last Query Config answer.
func (t *Target) Config() TargetConfig {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.config
}

// Identity is the target's IDENTIFY answer, nil before Identify.
func (t *Target) Identity() *Identity {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.ident
}

// Size is the capacity in bytes, 0 before Identify.
func (t *Target) Size() int64 {
	if id := t.Identity(); id != nil {
		return id.Size()
	}
	return 0
}

// MaxSectors is how many sectors one frame carries to this target.
func (t *Target) MaxSectors() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.maxSectors
}

// learnPath adds or refreshes the path (port, mac) from a config answer.
// An answer read from a port that RemovePort took away meanwhile adds
// nothing: the path would be probed forever and never dropped.
func (t *Target) learnPath(port Port, mac wire.MAC, cfg TargetConfig) {
	t.mu.Lock()
	defer t.mu.Unlock()
	// Under t.mu: RemovePort takes the port out before it drops the
	// paths on it (under t.mu), so either the port is gone here or its
	// paths are dropped after.
	if !t.ini.hasPort(port) {
		return
	}
	t.config = cfg
	limit := sectorsFor(cfg, port.MTU())
	var p *path
	for _, q := range t.paths {
		if q.port == port && q.mac == mac {
			p = q
		}
	}
	if p == nil {
		p = &path{port: port, mac: mac, win: multipath.NewWindow(cfg.BufferCount)}
		p.parts, _ = port.(PartsSender)
		t.paths = append(t.paths, p)
		// Only targets in use are worth a line: every target on the
		// segment answers everyone's broadcasts.
		if t.ident != nil {
			t.ini.opts.Logf("%s: new path %s -> %s (buffer count %d, %d sectors per frame)", t.addr, port.Name(), mac, cfg.BufferCount, limit)
		}
	}
	p.win.SetBufferCount(int(cfg.BufferCount))
	p.maxSectors = limit
	if !p.health.Up() {
		t.pathUpLocked(p, "it answered a config query")
	}
	t.fitFramesLocked()
	if t.dead == ErrDead {
		t.ini.opts.Logf("%s: answers again: target is back", t.addr)
		t.dead = nil
	}
	t.pumpLocked(time.Now())
}

// dropPort forgets the paths on a port that went away and sends their
// frames again elsewhere now rather than when their timers fire.
func (t *Target) dropPort(port Port) {
	t.mu.Lock()
	defer t.mu.Unlock()
	kept := t.paths[:0]
	for _, p := range t.paths {
		if p.port != port {
			kept = append(kept, p)
			continue
		}
		t.ini.opts.Logf("%s: path %s -> %s gone", t.addr, port.Name(), p.mac)
		for _, f := range t.inflight {
			if f.path == p {
				t.untrackLocked(f)
				t.requeueLocked(f)
			}
		}
	}
	clear(t.paths[len(kept):])
	t.paths = kept
	t.fitFramesLocked()
	t.pumpLocked(time.Now())
}
