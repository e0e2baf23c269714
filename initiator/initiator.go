package initiator

import (
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/goaoe/goaoe/initiator/wire"
	"github.com/goaoe/goaoe/multipath"
)

// Tuning defaults. Protocol constants live in package wire.
const (
	// DefaultDeadline is how long a busy target may answer nothing before
	// it is declared dead and its I/O fails.
	DefaultDeadline = 60 * time.Second
	// DefaultMinRTO keeps a retransmit from racing a reply on a fast link
	// where the measured RTT is tens of microseconds.
	DefaultMinRTO = 5 * time.Millisecond
	// DefaultMaxRTO bounds the backoff, so a target that comes back is
	// noticed within this long.
	DefaultMaxRTO = 2 * time.Second
	// receiveBatch is how many frames one Port.Receive call may return.
	receiveBatch = 32
)

// Options tune the engine; the zero value gives the defaults.
type Options struct {
	// Deadline: a busy target that answers nothing this long is dead.
	Deadline time.Duration
	// MinRTO and MaxRTO bound the retransmit timeout.
	MinRTO, MaxRTO time.Duration
	// Tick is how often overdue frames are looked for; MinRTO/2 if zero.
	Tick time.Duration
	// Logf receives events worth an admin's attention (paths learned and
	// lost, targets dead and back); nil discards them.
	Logf func(format string, args ...any)
}

func (o *Options) setDefaults() {
	if o.Deadline <= 0 {
		o.Deadline = DefaultDeadline
	}
	if o.MinRTO <= 0 {
		o.MinRTO = DefaultMinRTO
	}
	if o.MaxRTO < o.MinRTO {
		o.MaxRTO = max(DefaultMaxRTO, o.MinRTO)
	}
	if o.Tick <= 0 {
		o.Tick = o.MinRTO / 2
	}
	if o.Logf == nil {
		o.Logf = func(string, ...any) {}
	}
}

// AllTargets is the broadcast address: a Query to it reaches every target.
var AllTargets = Addr{Shelf: wire.BroadcastShelf, Slot: wire.BroadcastSlot}

// ConfigEvent is one Query Config answer: target addr answered on port from
// mac with config.
type ConfigEvent struct {
	Target Addr
	Port   string
	MAC    wire.MAC
	Config TargetConfig
}

// TargetConfig is what a target says of itself in a Query Config answer.
type TargetConfig struct {
	BufferCount int
	Firmware    uint16
	// MaxSectors is the most sectors one ATA command may carry.
	MaxSectors int
	String     string
}

// Initiator is the engine: ports, targets, and the goroutines that serve
// them. Create it with New, give it ports with AddPort, find targets with
// Query, and Close it when done.
type Initiator struct {
	opts Options

	mu       sync.RWMutex // guards ports, targets, watchers
	ports    map[Port]struct{}
	targets  map[Addr]*Target
	watchers map[int]func(ConfigEvent)
	watchID  int

	stray  strayCounters
	tags   atomic.Uint32
	busy   atomic.Int64  // requests in progress over all targets
	wake   chan struct{} // tells an idle sweeper there is work
	done   chan struct{}
	closed atomic.Bool
	wg     sync.WaitGroup
}

// New starts an engine with no ports.
func New(opts Options) *Initiator {
	opts.setDefaults()
	ini := &Initiator{
		opts:     opts,
		ports:    make(map[Port]struct{}),
		targets:  make(map[Addr]*Target),
		watchers: make(map[int]func(ConfigEvent)),
		wake:     make(chan struct{}, 1),
		done:     make(chan struct{}),
	}
	// A random start keeps two initiators on one host (aoe-discover next
	// to aoe-attach) from handing out the same tags to the same target.
	var seed [4]byte
	_, _ = rand.Read(seed[:])
	ini.tags.Store(binary.BigEndian.Uint32(seed[:]))
	ini.wg.Add(1)
	go ini.sweeper()
	return ini
}

// newTag hands out a tag with bit 31 set, the half of the tag space the
// kernel's aoe driver leaves to others.
func (ini *Initiator) newTag() uint32 { return ini.tags.Add(1) | 1<<31 }

// AddPort starts receiving on p. The engine owns p from now on and closes
// it in RemovePort or Close.
func (ini *Initiator) AddPort(p Port) error {
	ini.mu.Lock()
	defer ini.mu.Unlock()
	if ini.closed.Load() {
		return ErrClosed
	}
	for q := range ini.ports {
		if q.Name() == p.Name() {
			return fmt.Errorf("port %s already added", p.Name())
		}
	}
	ini.ports[p] = struct{}{}
	ini.wg.Add(1)
	go ini.receive(p)
	return nil
}

// RemovePort stops using the named port: it is closed, and the frames in
// flight on its paths are sent again on others at once instead of waiting
// for their timers.
func (ini *Initiator) RemovePort(name string) {
	ini.mu.Lock()
	var port Port
	for p := range ini.ports {
		if p.Name() == name {
			port = p
			delete(ini.ports, p)
		}
	}
	targets := ini.targetList()
	ini.mu.Unlock()
	if port == nil {
		return
	}
	port.Close()
	for _, t := range targets {
		t.dropPort(port)
	}
}

// hasPort reports whether p is in use (added and not removed).
func (ini *Initiator) hasPort(p Port) bool {
	ini.mu.RLock()
	defer ini.mu.RUnlock()
	_, ok := ini.ports[p]
	return ok
}

// Ports lists the ports in use.
func (ini *Initiator) Ports() []Port {
	ini.mu.RLock()
	defer ini.mu.RUnlock()
	ps := make([]Port, 0, len(ini.ports))
	for p := range ini.ports {
		ps = append(ps, p)
	}
	return ps
}

// Query broadcasts a Query Config read for addr (AllTargets for every
// target) on every port. Answers arrive asynchronously: they add paths to
// targets and reach Watch callbacks.
func (ini *Initiator) Query(addr Addr) error {
	var errs []error
	for _, p := range ini.Ports() {
		errs = append(errs, ini.queryOn(p, wire.BroadcastMAC, addr))
	}
	return errors.Join(errs...)
}

// queryOn sends one Query Config read for addr to dst through port p.
func (ini *Initiator) queryOn(p Port, dst wire.MAC, addr Addr) error {
	var b [wire.HeaderLen + wire.ConfigHeaderLen]byte
	h := wire.Header{Dst: dst, Src: p.MAC(), Version: wire.Version, Shelf: addr.Shelf, Slot: addr.Slot, Command: wire.CommandConfig, Tag: ini.newTag()}
	cfg := wire.Config{Command: wire.ConfigRead}
	_ = h.Marshal(b[:])
	_ = cfg.Marshal(b[wire.HeaderLen:])
	if err := p.Send([][]byte{b[:]}); err != nil {
		return fmt.Errorf("query config on %s: %w", p.Name(), err)
	}
	return nil
}

// Watch calls fn for every Query Config answer, solicited or not, until
// stop is called. fn runs on a receive goroutine and must not block.
func (ini *Initiator) Watch(fn func(ConfigEvent)) (stop func()) {
	ini.mu.Lock()
	defer ini.mu.Unlock()
	ini.watchID++
	id := ini.watchID
	ini.watchers[id] = fn
	return func() {
		ini.mu.Lock()
		defer ini.mu.Unlock()
		delete(ini.watchers, id)
	}
}

// Target returns the target at addr, or nil if none has answered.
func (ini *Initiator) Target(addr Addr) *Target {
	ini.mu.RLock()
	defer ini.mu.RUnlock()
	return ini.targets[addr]
}

// Targets lists every target that has answered.
func (ini *Initiator) Targets() []*Target {
	ini.mu.RLock()
	defer ini.mu.RUnlock()
	return ini.targetList()
}

func (ini *Initiator) targetList() []*Target {
	ts := make([]*Target, 0, len(ini.targets))
	for _, t := range ini.targets {
		ts = append(ts, t)
	}
	return ts
}

// strayCounters count frames that reached no target.
type strayCounters struct {
	undecodable, requests, noTarget atomic.Uint64
}

// StrayCounters are the frames the engine dropped before any target saw
// them.
type StrayCounters struct {
	// Undecodable frames are not AoE version 0 or 1 or are cut short.
	Undecodable uint64
	// Requests have the response flag clear: our own looped back, or
	// other initiators'.
	Requests uint64
	// NoTarget replies name a shelf.slot no config answer announced.
	NoTarget uint64
}

// Stray returns the counts of frames dropped before reaching a target.
func (ini *Initiator) Stray() StrayCounters {
	return StrayCounters{Undecodable: ini.stray.undecodable.Load(), Requests: ini.stray.requests.Load(), NoTarget: ini.stray.noTarget.Load()}
}

// Close stops the engine: ports are closed and every request still in
// progress fails with ErrClosed.
func (ini *Initiator) Close() error {
	if ini.closed.Swap(true) {
		return nil
	}
	close(ini.done)
	ini.mu.Lock()
	for p := range ini.ports {
		p.Close()
	}
	targets := ini.targetList()
	ini.mu.Unlock()
	for _, t := range targets {
		t.mu.Lock()
		t.failAllLocked(ErrClosed)
		t.mu.Unlock()
	}
	ini.wg.Wait()
	return nil
}

// receive is the goroutine that reads one port and hands each frame on.
// It reads the clock once per batch (on a virtual machine a clock read can
// cost more than the rest of a frame's handling) and pumps each target the
// batch touched once, so that the frames the replies make room for leave
// together.
func (ini *Initiator) receive(p Port) {
	defer ini.wg.Done()
	var rx rxBufs
	rx.fit(p.MTU())
	fitted := time.Now()
	sizes := make([]int, receiveBatch)
	var touched []*Target
	for {
		n, err := p.Receive(rx.bufs, sizes)
		if err != nil {
			if !ini.closed.Load() {
				ini.opts.Logf("%s: receive stopped: %v", p.Name(), err)
			}
			return
		}
		now := time.Now()
		for i := 0; i < n; i++ {
			t, kept := ini.dispatch(p, rx.bufs[i][:sizes[i]], now, rx.held[i])
			if kept {
				rx.replace(i)
			}
			if t != nil && !slices.Contains(touched, t) {
				touched = append(touched, t)
			}
		}
		for _, t := range touched {
			t.mu.Lock()
			t.pumpLocked(now)
			t.mu.Unlock()
		}
		clear(touched)
		touched = touched[:0]
		// MTU can cost a system call: look once a second. A frame
		// larger than the buffers meanwhile is dropped as truncated,
		// and retransmitted.
		if now.Sub(fitted) >= time.Second {
			rx.fit(p.MTU())
			fitted = now
		}
	}
}

// dispatch handles one received frame, held in buf. kept says that a read
// kept buf for its data: the caller must not reuse it.
func (ini *Initiator) dispatch(p Port, frame []byte, now time.Time, buf *rxBuf) (t *Target, kept bool) {
	var h wire.Header
	body, err := h.Unmarshal(frame)
	switch {
	case err != nil:
		ini.stray.undecodable.Add(1)
		return nil, false
	case !h.Response():
		ini.stray.requests.Add(1)
		return nil, false
	}
	addr := Addr{Shelf: h.Shelf, Slot: h.Slot}
	switch h.Command {
	case wire.CommandATA, wire.CommandReserve, wire.CommandMACMask:
		t := ini.Target(addr)
		if t == nil {
			ini.stray.noTarget.Add(1)
			return nil, false
		}
		t.mu.Lock()
		kept := t.handleReplyLocked(p, &h, body, now, buf)
		t.mu.Unlock()
		return t, kept
	case wire.CommandConfig:
		var c wire.Config
		if h.Failed() || c.Unmarshal(body) != nil || addr == AllTargets {
			return nil, false
		}
		ini.learn(p, &h, &c)
	}
	return nil, false
}

// learn adds the path a Query Config answer reveals.
func (ini *Initiator) learn(p Port, h *wire.Header, c *wire.Config) {
	addr := Addr{Shelf: h.Shelf, Slot: h.Slot}
	ev := ConfigEvent{Target: addr, Port: p.Name(), MAC: h.Src, Config: TargetConfig{
		BufferCount: int(c.BufferCount),
		Firmware:    c.Firmware,
		MaxSectors:  c.MaxSectors(),
		String:      string(c.String),
	}}
	ini.mu.Lock()
	t := ini.targets[addr]
	if t == nil {
		t = newTarget(ini, addr)
		ini.targets[addr] = t
	}
	watchers := make([]func(ConfigEvent), 0, len(ini.watchers))
	for _, fn := range ini.watchers {
		watchers = append(watchers, fn)
	}
	ini.mu.Unlock()
	t.learnPath(p, h.Src, ev.Config)
	for _, fn := range watchers {
		fn(ev)
	}
}

// idleGrace is how long the sweeper keeps ticking after the last request
// ended before it parks.
const idleGrace = time.Second

// sweeper retransmits overdue frames and declares silent targets dead. It
// runs while requests are in progress and for idleGrace after; parked, it
// wakes only to probe paths that are down, so that a repaired link is back
// in use before the next I/O needs it. Those probes are the only config
// queries sent from here; each path's Health times them (ProbeDue), and
// the parked sweeper wakes every multipath.ProbeInterval to ask it. The
// others are multipath.Queries'.
func (ini *Initiator) sweeper() {
	defer ini.wg.Done()
	timer := time.NewTimer(ini.opts.Tick)
	defer timer.Stop()
	sleep := ini.opts.Tick
	var lastBusy time.Time
	for {
		// Parking only after a spell of idleness: one request at a time
		// would otherwise wake the sweeper twice per request, and a
		// wakeup is dear on a virtual machine.
		if ini.busy.Load() == 0 && time.Since(lastBusy) >= idleGrace {
			sleep = ini.opts.Tick
			var probe <-chan time.Time
			if ini.anyPathDown() {
				timer.Reset(multipath.ProbeInterval)
				probe = timer.C
			}
			select {
			case <-ini.wake:
			case <-probe:
				now := time.Now()
				for _, t := range ini.Targets() {
					t.probe(now)
				}
			case <-ini.done:
				return
			}
			continue
		}
		timer.Reset(sleep)
		select {
		case <-timer.C:
		case <-ini.done:
			return
		}
		now := time.Now()
		if ini.busy.Load() > 0 {
			lastBusy = now
		}
		sleep = ini.opts.MaxRTO
		for _, t := range ini.Targets() {
			sleep = min(sleep, t.sweep(now))
		}
		// Sleeping until something can be overdue, rather than ticking,
		// spares a wakeup per tick: dear on a virtual machine.
		sleep = max(sleep, ini.opts.Tick)
	}
}

func (ini *Initiator) anyPathDown() bool {
	for _, t := range ini.Targets() {
		if t.anyPathDown() {
			return true
		}
	}
	return false
}

// startRequest and endRequest keep the count that wakes the sweeper.
func (ini *Initiator) startRequest() {
	if ini.busy.Add(1) == 1 {
		select {
		case ini.wake <- struct{}{}:
		default:
		}
	}
}

func (ini *Initiator) endRequest() { ini.busy.Add(-1) }
