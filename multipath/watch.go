package multipath

import (
	"context"
	"slices"
	"sync"
)

// Engine is what the watcher changes: the set of local ports the engine
// sends on (package initiator's Initiator is one).
type Engine interface {
	// AddPort starts using p; the engine owns it from then on.
	AddPort(p Port) error
	// RemovePort stops using the named port and closes it; its frames go
	// to the other paths.
	RemovePort(name string)
	// Ports lists the ports in use.
	Ports() []Port
}

// Link is what the watcher needs to know of one network interface.
type Link struct {
	Name string
	// Usable: the link can carry AoE now (rawport.Usable: Ethernet,
	// administratively up, carrier present).
	Usable  bool
	Deleted bool
}

// Config says which links to use and what to ask on them.
type Config struct {
	// Interfaces limits the links used; empty means every Ethernet link.
	Interfaces []string
	// Queries is told of every link that comes up (Queries.LinkUp), so
	// that its paths are learned; its owner runs it. A session gives
	// the one it asks for its target with.
	Queries *Queries
	// Query is the short form, for a watcher that is the only one to
	// ask: it asks the targets for their config on every port, for one
	// target func() error { return ini.Query(addr) }, and the watcher
	// runs a Queries of its own for it while Apply's ctx lasts. Nil, and
	// no Queries, asks nothing.
	Query func() error
	// Open opens a port on a link.
	Open func(name string) (Port, error)
	Logf func(format string, args ...any)
}

// Watcher applies link events to an engine. It is the one owner of what
// is done when a link goes down or comes up: rawport's Receive only
// reports a link going down (Stats.LinkDowns) and waits, as on a quiet
// link, for frames or for its Close, which RemovePort does.
type Watcher struct {
	engine  Engine
	cfg     Config
	queries *Queries // cfg.Queries, or one of our own for cfg.Query

	mu      sync.Mutex // guards running
	running bool       // our own queries' Run is running
}

// NewWatcher returns a watcher that changes engine's ports.
func NewWatcher(engine Engine, cfg Config) *Watcher {
	if cfg.Logf == nil {
		cfg.Logf = func(string, ...any) {}
	}
	w := &Watcher{engine: engine, cfg: cfg, queries: cfg.Queries}
	if w.queries == nil && cfg.Query != nil {
		w.queries = NewQueries(cfg.Query, QuerySchedule{})
	}
	return w
}

// Apply brings the engine's ports in line with one link's new state.
func (w *Watcher) Apply(ctx context.Context, l Link) {
	if len(w.cfg.Interfaces) > 0 && !slices.Contains(w.cfg.Interfaces, l.Name) {
		return
	}
	have := w.hasPort(l.Name)
	switch {
	case l.Usable && !l.Deleted:
		if !have {
			p, err := w.cfg.Open(l.Name)
			if err != nil {
				w.cfg.Logf("%s came up but cannot be used: %v", l.Name, err)
				return
			}
			if err := w.engine.AddPort(p); err != nil {
				p.Close()
				return
			}
			w.cfg.Logf("%s came up: using it", l.Name)
		}
		if w.queries != nil {
			w.runOwnQueries(ctx)
			w.queries.LinkUp()
		}
	case have:
		w.cfg.Logf("%s went down: its frames go to other paths", l.Name)
		w.engine.RemovePort(l.Name)
	}
}

func (w *Watcher) hasPort(name string) bool {
	for _, p := range w.engine.Ports() {
		if p.Name() == name {
			return true
		}
	}
	return false
}

// runOwnQueries runs the watcher's own Queries (Config.Query) under ctx
// unless it runs already; a Config.Queries is its owner's to run.
func (w *Watcher) runOwnQueries(ctx context.Context) {
	if w.cfg.Queries != nil {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.running {
		return
	}
	w.running = true
	go func() {
		w.queries.Run(ctx)
		w.mu.Lock()
		w.running = false
		w.mu.Unlock()
	}()
}
