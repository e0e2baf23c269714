package multipath

import (
	"context"
	"slices"
	"time"
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
	// Query asks the targets for their config on every port, so that a
	// link that came up learns its paths: for one target,
	// func() error { return ini.Query(addr) }. Nil asks nothing.
	Query func() error
	// Open opens a port on a link.
	Open func(name string) (Port, error)
	Logf func(format string, args ...any)
}

// requeryDelays space the config queries sent on a link that just came up:
// the first frames after a link comes up can vanish while it settles.
var requeryDelays = []time.Duration{0, 250 * time.Millisecond, time.Second}

// Watcher applies link events to an engine.
type Watcher struct {
	engine Engine
	cfg    Config
}

// NewWatcher returns a watcher that changes engine's ports.
func NewWatcher(engine Engine, cfg Config) *Watcher {
	if cfg.Logf == nil {
		cfg.Logf = func(string, ...any) {}
	}
	return &Watcher{engine: engine, cfg: cfg}
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
		if w.cfg.Query != nil {
			go w.query(ctx)
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

func (w *Watcher) query(ctx context.Context) {
	var waited time.Duration
	for _, d := range requeryDelays {
		select {
		case <-time.After(d - waited):
		case <-ctx.Done():
			return
		}
		waited = d
		_ = w.cfg.Query()
	}
}
