package discovery

import (
	"errors"
	"fmt"

	"github.com/goaoe/goaoe/initiator"
	"github.com/goaoe/goaoe/rawport"
)

// Open starts an engine on the named interfaces, or on every Ethernet
// interface that is up when names is empty. It returns the interfaces it
// uses; an interface that cannot be opened is an error when it was named,
// and skipped (with its reason in the error only if none opened) when not.
// Its ports are OpenPort's: they keep every target's answers.
func Open(names []string, opts initiator.Options) (*initiator.Initiator, []string, error) {
	return open(names, opts, OpenPort)
}

// OpenFor is Open for an engine that serves one target: its ports are
// OpenPortFor(target)'s, which keep only that target's answers. An engine
// opened so cannot find any other target.
func OpenFor(target initiator.Addr, names []string, opts initiator.Options) (*initiator.Initiator, []string, error) {
	return open(names, opts, OpenPortFor(target))
}

func open(names []string, opts initiator.Options, openPort func(string) (initiator.Port, error)) (*initiator.Initiator, []string, error) {
	explicit := len(names) > 0
	if !explicit {
		var err error
		if names, err = rawport.Interfaces(); err != nil {
			return nil, nil, err
		}
		if len(names) == 0 {
			return nil, nil, errors.New("no Ethernet interface is up: bring one up (ip link set IFACE up) or name one with --iface")
		}
	}
	ini := initiator.New(opts)
	var used []string
	var errs []error
	for _, name := range names {
		p, err := openPort(name)
		if err == nil {
			err = ini.AddPort(p)
		}
		if err != nil {
			if explicit {
				ini.Close()
				return nil, nil, err
			}
			errs = append(errs, err)
			continue
		}
		used = append(used, name)
	}
	if len(used) == 0 {
		ini.Close()
		return nil, nil, fmt.Errorf("could not open any interface: %w", errors.Join(errs...))
	}
	return ini, used, nil
}

// OpenPort opens a raw port for the engine, with a socket filter that
// keeps other initiators' traffic (the kernel aoe driver's too) out of
// this process (rawport's FilterReplies).
func OpenPort(name string) (initiator.Port, error) {
	return openFiltered(name, (*rawport.Port).FilterReplies)
}

// OpenPortFor returns OpenPort for an engine that serves target alone: its
// ports' socket filter also keeps every other target's answers out of this
// process (rawport's FilterTarget), so that with many targets attached a
// reply wakes only the process serving the target that sent it. An engine
// opened with OpenFor gives it to its multipath.Watcher too (Config.Open),
// so that NICs that come up later filter alike.
// OpenPortFor(initiator.AllTargets) is OpenPort.
func OpenPortFor(target initiator.Addr) func(name string) (initiator.Port, error) {
	if target == initiator.AllTargets {
		return OpenPort
	}
	return func(name string) (initiator.Port, error) {
		return openFiltered(name, func(p *rawport.Port) error { return p.FilterTarget(target.Shelf, target.Slot) })
	}
}

func openFiltered(name string, filter func(*rawport.Port) error) (initiator.Port, error) {
	p, err := rawport.Open(name)
	if err != nil {
		return nil, err
	}
	if err := filter(p); err != nil {
		p.Close()
		return nil, err
	}
	return p, nil
}
