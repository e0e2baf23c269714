package main

// aoe-discover --check, the counterpart of aoetools' aoe-sancheck: after
// the scan, what on the SAN an admin must fix, one warning each.
//
//	scan ─each path─▶ probePath (an engine of its own on the path's NIC,
//	                  hearing the path's MAC alone: config query, IDENTIFY,
//	                  one read of a full frame)
//	     ─▶ pathReport ─▶ problems (pure): frame sizes, then the I/O answers
//
// A path is probed alone because the scan's engine routes around a path
// that carries nothing: IDENTIFY succeeds on another, and the dead path
// stays unnoticed until the day it is the only one.

import (
	"cmp"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/goaoe/goaoe/discovery"
	"github.com/goaoe/goaoe/initiator"
	"github.com/goaoe/goaoe/initiator/wire"
)

// exitProblems is the exit status when --check found problems.
const exitProblems = 3

// errProblems is the outcome of a check that found problems.
type errProblems struct{ n int }

func (e errProblems) Error() string {
	if e.n == 1 {
		return "--check found 1 problem"
	}
	return fmt.Sprintf("--check found %d problems", e.n)
}

// Kinds of problem, for scripts (--json).
const (
	kindFrameTooLarge = "frame-too-large" // the target advertises more than our NIC carries
	kindJumboUnused   = "jumbo-unused"    // our NIC is jumbo, the target's frames are not
	kindMixedMTU      = "mixed-mtu"       // one target over NICs that carry different frames
	kindNoAnswer      = "path-no-answer"  // a path that answers no I/O, or nothing at all
	kindIOError       = "path-io-error"   // a path whose I/O fails with an error
	kindUnchecked     = "path-unchecked"  // a path that could not be probed
)

// problem is one thing to fix.
type problem struct {
	Target    string `json:"target"`
	Interface string `json:"interface,omitempty"`
	MAC       string `json:"mac,omitempty"`
	Kind      string `json:"kind"`
	// Message says what is wrong and what to do, on one line.
	Message string `json:"message"`
}

// pathReport is what probing one path found, and all the checks need.
type pathReport struct {
	Interface string
	MAC       string
	// MTU is our interface's, 0 if it could not be read.
	MTU int
	// MaxSectors is the sector count the target advertises on this path.
	MaxSectors int
	// Answered: a config query sent down this path alone came back.
	Answered bool
	// Err is why IDENTIFY or the read failed, or the path could not be
	// probed; nil when both were answered.
	Err error
}

// standardMTU is Ethernet's MTU without jumbo frames.
const standardMTU = 1500

// frameOverhead is what a frame holds besides its sectors, counted in the
// MTU as the engine, Linux and vblade count it ((MTU-36)/512 sectors a
// frame): the Ethernet header too, although the MTU leaves it out.
const frameOverhead = wire.HeaderLen + wire.ATAHeaderLen

// mtuSectors is how many sectors a frame carries at mtu: the engine's
// limit (initiator's sectorsFor, unexported), before the target's own.
func mtuSectors(mtu int) int { return min(max((mtu-frameOverhead)/wire.SectorSize, 0), 255) }

// mtuFor is the smallest MTU whose frames carry n sectors.
func mtuFor(n int) int { return frameOverhead + n*wire.SectorSize }

// carried is how many sectors a frame carries on a path: what its MTU
// holds, within what the target takes, never less than one.
func carried(advertised, mtu int) int { return max(min(advertised, mtuSectors(mtu)), 1) }

// problems lists what is wrong with target addr, given its paths and the
// frame size the engine cut its I/O to (frameSectors: the least any path
// carries, discovery.Target.PayloadBytes in sectors) and the deadline the
// probes had.
func problems(addr string, frameSectors int, paths []pathReport, deadline time.Duration) []problem {
	paths = slices.Clone(paths)
	slices.SortFunc(paths, func(a, b pathReport) int {
		return cmp.Or(strings.Compare(a.Interface, b.Interface), strings.Compare(a.MAC, b.MAC))
	})
	out := frameProblems(addr, frameSectors, paths)
	for _, p := range paths {
		if pr := ioProblem(addr, p, deadline); pr != nil {
			out = append(out, *pr)
		}
	}
	return out
}

// frameProblems compares our MTUs with what the target advertises.
func frameProblems(addr string, frameSectors int, paths []pathReport) []problem {
	var out []problem
	// The frames each interface carries to the target, in path order.
	type nic struct {
		name         string
		mtu, sectors int
	}
	var nics []nic
	for _, p := range paths {
		if p.MTU <= 0 {
			continue
		}
		where := fmt.Sprintf("%s via %s -> %s", addr, p.Interface, p.MAC)
		fits := mtuSectors(p.MTU)
		switch {
		case p.MaxSectors > fits:
			out = append(out, problem{Target: addr, Interface: p.Interface, MAC: p.MAC, Kind: kindFrameTooLarge, Message: fmt.Sprintf(
				"%s: the target advertises %d sectors a command, frames that need an MTU of %d, but %s's MTU is %d: I/O runs at %d sectors a frame; "+
					"raise %s's MTU to %d (ip link set %s mtu %d) if the target's NIC and the switch carry such frames, else correct the target's MTU or sector count",
				where, p.MaxSectors, mtuFor(p.MaxSectors), p.Interface, p.MTU, carried(p.MaxSectors, p.MTU),
				p.Interface, mtuFor(p.MaxSectors), p.Interface, mtuFor(p.MaxSectors))})
		case p.MTU > standardMTU && p.MaxSectors <= mtuSectors(standardMTU) && p.MaxSectors < fits:
			out = append(out, problem{Target: addr, Interface: p.Interface, MAC: p.MAC, Kind: kindJumboUnused, Message: fmt.Sprintf(
				"%s: %s has a jumbo MTU of %d (%d sectors a frame) but the target advertises %d sectors a command, a %d-byte frame's: the jumbo frames go unused; "+
					"raise the MTU of the target's NIC (and of the switch ports between) to %d, or check the target's sector count setting",
				where, p.Interface, p.MTU, fits, p.MaxSectors, standardMTU, p.MTU)})
		}
		c := carried(p.MaxSectors, p.MTU)
		if i := slices.IndexFunc(nics, func(n nic) bool { return n.name == p.Interface }); i >= 0 {
			nics[i].sectors = min(nics[i].sectors, c)
		} else {
			nics = append(nics, nic{p.Interface, p.MTU, c})
		}
	}
	// Different MTUs matter only where they make different frames: the
	// engine cuts every frame to fit the smallest, on every path.
	mtuDiffer, sizesDiffer := false, false
	for _, n := range nics[min(1, len(nics)):] {
		mtuDiffer = mtuDiffer || n.mtu != nics[0].mtu
		sizesDiffer = sizesDiffer || n.sectors != nics[0].sectors
	}
	if mtuDiffer && sizesDiffer {
		var each, names []string
		least := nics[0].sectors
		for _, n := range nics {
			each = append(each, fmt.Sprintf("%s MTU %d (%d sectors a frame)", n.name, n.mtu, n.sectors))
			names = append(names, n.name)
			least = min(least, n.sectors)
		}
		if frameSectors > 0 {
			least = frameSectors
		}
		out = append(out, problem{Target: addr, Kind: kindMixedMTU, Message: fmt.Sprintf(
			"%s: reached over interfaces of different MTUs, %s: every frame is cut to fit the smallest, %d sectors, on every path; "+
				"give %s the same MTU, as the target's NICs and the switch ports between",
			addr, strings.Join(each, ", "), least, strings.Join(names, " and "))})
	}
	return out
}

// ioProblem says what is wrong with a path's answers to I/O, nil if
// nothing is.
func ioProblem(addr string, p pathReport, deadline time.Duration) *problem {
	if p.Answered && p.Err == nil {
		return nil
	}
	where := fmt.Sprintf("%s via %s -> %s", addr, p.Interface, p.MAC)
	pr := &problem{Target: addr, Interface: p.Interface, MAC: p.MAC, Kind: kindNoAnswer}
	var ioErr *initiator.IOError
	switch {
	case !p.Answered && p.Err != nil:
		pr.Kind = kindUnchecked
		pr.Message = fmt.Sprintf("%s: could not be checked: %v; check that %s is still up", where, p.Err, p.Interface)
	case !p.Answered:
		pr.Message = fmt.Sprintf("%s: answered the scan's config query but not one sent down this path alone within %v: "+
			"the link or the target is flaky; check the cable, the switch port and the target", where, deadline)
	case errors.Is(p.Err, initiator.ErrDead), errors.Is(p.Err, initiator.ErrFrameDeadline):
		what := "IDENTIFY"
		if errors.As(p.Err, &ioErr) && ioErr.Op == initiator.OpRead {
			what = fmt.Sprintf("a read of %d sectors (a frame that needs an MTU of %d)", ioErr.Sectors, mtuFor(ioErr.Sectors))
		}
		pr.Message = fmt.Sprintf("%s: answers config queries but carries no I/O: no answer to %s within %v; "+
			"check that the target's NIC and every switch port between carry frames that large (a target advertising more sectors than its MTU carries cannot send its answers), "+
			"and that the target's disk is not hung", where, what, deadline)
	default:
		pr.Kind = kindIOError
		if errors.As(p.Err, &ioErr) {
			p.Err = ioErr.Err
		}
		pr.Message = fmt.Sprintf("%s: answers config queries but its I/O fails: %v; fix that on the target before using this path", where, p.Err)
	}
	return pr
}

// checkTargets probes every path of every target found, all at once, and
// lists each target's problems by its address (a target without is
// listed, with none). deadline is the probes' patience with I/O.
func checkTargets(found []discovery.Target, deadline time.Duration) map[initiator.Addr][]problem {
	reports := make([][]pathReport, len(found))
	var wg sync.WaitGroup
	for i, t := range found {
		reports[i] = make([]pathReport, len(t.Paths))
		for j, p := range t.Paths {
			wg.Add(1)
			go func() {
				defer wg.Done()
				reports[i][j] = probePath(t.Addr, p, deadline)
				if !reports[i][j].Answered {
					// What the scan heard, for the frame checks.
					reports[i][j].MaxSectors = t.Config.MaxSectors
				}
			}()
		}
	}
	wg.Wait()
	out := make(map[initiator.Addr][]problem, len(found))
	for i, t := range found {
		out[t.Addr] = problems(t.Addr.String(), t.PayloadBytes/wire.SectorSize, reports[i], deadline)
	}
	return out
}

// probePath sends I/O down one path alone: from an engine of its own on
// the path's interface that hears the path's MAC alone, so the one path
// it learns is this one. It asks for the target's config, IDENTIFY, and
// one read of a full frame at LBA 0: a path whose small answers pass
// and whose large ones do not (an MTU too small somewhere between) is
// caught too. Reads only: a check must not change the disk.
func probePath(addr initiator.Addr, path discovery.Path, deadline time.Duration) pathReport {
	r := pathReport{Interface: path.Interface, MAC: path.MAC.String()}
	if ifi, err := net.InterfaceByName(path.Interface); err == nil {
		r.MTU = ifi.MTU
	}
	port, err := discovery.OpenPortFor(addr)(path.Interface)
	if err != nil {
		r.Err = err
		return r
	}
	ini := initiator.New(initiator.Options{Deadline: deadline})
	defer ini.Close()
	if err := ini.AddPort(pinnedPort{Port: port, mac: path.MAC}); err != nil {
		port.Close()
		r.Err = err
		return r
	}
	if !awaitConfig(ini, addr, deadline) {
		return r
	}
	r.Answered = true
	t := ini.Target(addr)
	r.MaxSectors = t.Config().MaxSectors
	id, err := t.Identify()
	if err != nil {
		r.Err = err
		return r
	}
	if n := min(uint64(t.MaxSectors()), id.Sectors); n > 0 {
		_, r.Err = t.ReadAt(make([]byte, n*wire.SectorSize), 0)
	}
	return r
}

// awaitConfig asks addr for its config until it answers or timeout has
// passed; a few asks, so that one lost frame does not pass for a dead path.
func awaitConfig(ini *initiator.Initiator, addr initiator.Addr, timeout time.Duration) bool {
	answered := make(chan struct{})
	var once sync.Once
	stop := ini.Watch(func(ev initiator.ConfigEvent) {
		if ev.Target == addr {
			once.Do(func() { close(answered) })
		}
	})
	defer stop()
	const asks = 4
	tick := time.NewTicker(timeout / asks)
	defer tick.Stop()
	end := time.After(timeout)
	for {
		_ = ini.Query(addr)
		select {
		case <-answered:
			return true
		case <-end:
			return false
		case <-tick.C:
		}
	}
}

// pinnedPort is a port that hears one target MAC alone, so that an engine
// on it learns no other path, even to a target with several MACs on the
// interface's segment.
type pinnedPort struct {
	initiator.Port
	mac wire.MAC
}

// Receive is the port's, without the frames from other MACs. It moves the
// frames it keeps to the front by copying: the engine pairs each of its
// buffers with bookkeeping of its own, so the slices must stay in place.
func (p pinnedPort) Receive(bufs [][]byte, sizes []int) (int, error) {
	for {
		n, err := p.Port.Receive(bufs, sizes)
		if err != nil {
			return 0, err
		}
		kept := 0
		for i := range n {
			if sizes[i] < wire.EthernetHeaderLen || wire.MAC(bufs[i][6:12]) != p.mac {
				continue
			}
			if kept != i {
				sizes[kept] = copy(bufs[kept], bufs[i][:sizes[i]])
			}
			kept++
		}
		if kept > 0 {
			return kept, nil
		}
	}
}
