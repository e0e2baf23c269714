package discovery

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/goaoe/goaoe/initiator"
	"github.com/goaoe/goaoe/initiator/wire"
	"github.com/goaoe/goaoe/multipath"
)

// Path is one (local interface, target MAC) pair that saw a target answer.
type Path struct {
	Interface string   `json:"interface"`
	MAC       wire.MAC `json:"-"`
}

// Target is what discovery knows of one target.
type Target struct {
	Addr   initiator.Addr `json:"-"`
	Paths  []Path         `json:"paths"`
	Config initiator.TargetConfig
	// PayloadBytes is how much data one frame carries to the target.
	PayloadBytes int
	// Identity is nil if the target did not answer IDENTIFY; IdentifyError
	// says why.
	Identity      *initiator.Identity
	IdentifyError error
	// Learned is what probing the target found (see initiator.Learn);
	// zero if it was not identified.
	Learned initiator.Learned
}

// Interfaces is the sorted list of interfaces that saw the target.
func (t *Target) Interfaces() []string {
	var s []string
	for _, p := range t.Paths {
		if !slices.Contains(s, p.Interface) {
			s = append(s, p.Interface)
		}
	}
	sort.Strings(s)
	return s
}

// MACs is the sorted list of the target's MACs.
func (t *Target) MACs() []string {
	var s []string
	for _, p := range t.Paths {
		if m := p.MAC.String(); !slices.Contains(s, m) {
			s = append(s, m)
		}
	}
	sort.Strings(s)
	return s
}

// Scan asks every target (or only want, if it is not AllTargets) to answer,
// collects answers for wait, and identifies and probes (initiator.Learn)
// each target that answered, all at once.
// Targets already known to ini (from earlier answers) are included.
func Scan(ctx context.Context, ini *initiator.Initiator, want initiator.Addr, wait time.Duration) ([]Target, error) {
	if err := ini.Query(want); err != nil && len(ini.Ports()) == 0 {
		return nil, err
	}
	select {
	case <-time.After(wait):
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	var found []Target
	for _, t := range ini.Targets() {
		if want != initiator.AllTargets && t.Addr() != want {
			continue
		}
		found = append(found, describe(t))
	}
	var wg sync.WaitGroup
	for i := range found {
		wg.Add(1)
		go func() {
			defer wg.Done()
			t := ini.Target(found[i].Addr)
			found[i].Identity, found[i].IdentifyError = t.Identify()
			if found[i].IdentifyError == nil {
				found[i].Learned, found[i].IdentifyError = t.Learn()
			}
		}()
	}
	wg.Wait()
	sort.Slice(found, func(i, j int) bool { return less(found[i].Addr, found[j].Addr) })
	return found, nil
}

// WaitFor asks for one target and returns as soon as it answers, identified
// and probed (initiator.Learn), or an error saying it did not answer within
// timeout. It asks again every multipath.AwaitInterval until then, with
// queries of its own; WaitForQueried is WaitFor with a caller's.
func WaitFor(ctx context.Context, ini *initiator.Initiator, want initiator.Addr, timeout time.Duration) (*initiator.Target, error) {
	return waitFor(ctx, ini, want, timeout, nil)
}

// WaitForQueried is WaitFor asking through q, which must ask for want
// (or for every target) and which the caller runs (q.Run): a session
// asks for its target on one schedule for every reason, this wait's
// among them (see multipath.Queries).
func WaitForQueried(ctx context.Context, ini *initiator.Initiator, want initiator.Addr, timeout time.Duration, q *multipath.Queries) (*initiator.Target, error) {
	return waitFor(ctx, ini, want, timeout, q)
}

func waitFor(ctx context.Context, ini *initiator.Initiator, want initiator.Addr, timeout time.Duration, q *multipath.Queries) (*initiator.Target, error) {
	if ini.Target(want) == nil {
		if err := awaitAnswer(ctx, ini, want, timeout, q); err != nil {
			return nil, err
		}
	}
	t := ini.Target(want)
	if _, err := t.Identify(); err != nil {
		return nil, err
	}
	if _, err := t.Learn(); err != nil {
		return nil, err
	}
	return t, nil
}

// awaitAnswer asks for want through q, or through queries of its own run
// meanwhile when q is nil, until want answers, and at AwaitInterval while
// it does not.
func awaitAnswer(ctx context.Context, ini *initiator.Initiator, want initiator.Addr, timeout time.Duration, q *multipath.Queries) error {
	answered := make(chan struct{}, 1)
	stop := ini.Watch(func(ev initiator.ConfigEvent) {
		if ev.Target == want {
			select {
			case answered <- struct{}{}:
			default:
			}
		}
	})
	defer stop()
	if q == nil {
		q = multipath.NewQueries(func() error { return ini.Query(want) }, multipath.QuerySchedule{})
		qctx, stopQueries := context.WithCancel(ctx)
		defer stopQueries()
		go q.Run(qctx)
	}
	if err := q.Ask(); err != nil && len(ini.Ports()) == 0 {
		return err
	}
	// Ask again now and then: a broadcast can be lost too.
	defer q.Await()()
	deadline := time.After(timeout)
	for ini.Target(want) == nil {
		select {
		case <-answered:
		case <-deadline:
			return fmt.Errorf("AoE target %s did not answer on %s within %v: check that it is exported (vblade running, shelf and slot right) on the same Ethernet segment", want, portNames(ini), timeout)
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

func portNames(ini *initiator.Initiator) string {
	var names []string
	for _, p := range ini.Ports() {
		names = append(names, p.Name())
	}
	sort.Strings(names)
	if len(names) == 0 {
		return "no interface"
	}
	return fmt.Sprint(names)
}

func describe(t *initiator.Target) Target {
	st := t.Status()
	d := Target{Addr: st.Addr, Config: st.Config, PayloadBytes: st.MaxSectors * wire.SectorSize}
	for _, p := range st.Paths {
		d.Paths = append(d.Paths, Path{Interface: p.Port, MAC: p.MAC})
	}
	return d
}

func less(a, b initiator.Addr) bool {
	if a.Shelf != b.Shelf {
		return a.Shelf < b.Shelf
	}
	return a.Slot < b.Slot
}
