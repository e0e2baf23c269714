package multipath

import (
	"context"
	"slices"
	"time"

	"github.com/goaoe/goaoe/initiator"
)

// Link is what the watcher needs to know of one network interface.
type Link struct {
	Name string
	// Usable: administratively up, carrier present, Ethernet (a 6-byte
	// hardware address), not loopback.
	Usable  bool
	Deleted bool
}

// Config says which links to use and what to ask on them.
type Config struct {
	// Interfaces limits the links used; empty means every Ethernet link.
	Interfaces []string
	// Target is what a new link is asked about (AllTargets for every one).
	Target initiator.Addr
	// Open opens a port on a link.
	Open func(name string) (initiator.Port, error)
	Logf func(format string, args ...any)
}

// requeryDelays space the config queries sent on a link that just came up:
// the first frames after a link comes up can vanish while it settles.
var requeryDelays = []time.Duration{0, 250 * time.Millisecond, time.Second}

// Watcher applies link events to an engine.
type Watcher struct {
	ini *initiator.Initiator
	cfg Config
}

// NewWatcher returns a watcher for ini.
func NewWatcher(ini *initiator.Initiator, cfg Config) *Watcher {
	if cfg.Logf == nil {
		cfg.Logf = func(string, ...any) {}
	}
	return &Watcher{ini: ini, cfg: cfg}
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
			if err := w.ini.AddPort(p); err != nil {
				p.Close()
				return
			}
			w.cfg.Logf("%s came up: using it", l.Name)
		}
		go w.query(ctx)
	case have:
		w.cfg.Logf("%s went down: its frames go to other paths", l.Name)
		w.ini.RemovePort(l.Name)
	}
}

func (w *Watcher) hasPort(name string) bool {
	for _, p := range w.ini.Ports() {
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
		_ = w.ini.Query(w.cfg.Target)
	}
}
