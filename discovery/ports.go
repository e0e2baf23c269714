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
func Open(names []string, opts initiator.Options) (*initiator.Initiator, []string, error) {
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
		p, err := OpenPort(name)
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
// this process.
func OpenPort(name string) (initiator.Port, error) {
	p, err := rawport.Open(name)
	if err != nil {
		return nil, err
	}
	if err := p.FilterReplies(); err != nil {
		p.Close()
		return nil, err
	}
	return p, nil
}
