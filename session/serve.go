package session

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/goaoe/goaoe/discovery"
	"github.com/goaoe/goaoe/initiator"
	"github.com/goaoe/goaoe/multipath"
	"github.com/goaoe/goaoe/nbd"
	"github.com/goaoe/goaoe/nbd/server"
)

// Config is what aoe-attach was asked for.
type Config struct {
	Target initiator.Addr
	// Device is the nbd device to use; "" takes the first free one.
	Device     string
	Interfaces []string
	ReadOnly   bool
	// Deadline is the AoE deadline: how long the target may be silent
	// before its I/O fails.
	Deadline time.Duration
	// FindTimeout is how long to wait for the target to answer at all.
	FindTimeout time.Duration
	// Reserve claims the target for this host (AoE Reserve/Release) while
	// attached, so other initiators' I/O is refused by the target.
	Reserve bool
	Logf    func(format string, args ...any)
	// Warnf receives what the person attaching must read (a target without
	// reservations, or that cannot flush); it is logged too. nil: Logf only.
	Warnf func(format string, args ...any)
	// Ready is called with the device once it is usable.
	Ready func(device string)
	// NBDInterface is the kernel interface to nbd (auto: netlink where
	// the kernel has it, which lets a device outlive this process).
	NBDInterface nbd.Interface
	// Leave, when closed, ends the session without detaching: the device
	// stays for the next aoe-attach of the target (an upgrade). Netlink
	// only; with ioctl it is a detach.
	Leave <-chan struct{}
	// Revalidate, on each receive, asks the target its size again and
	// resizes the device to it (aoe-revalidate); the outcome is in the
	// state file.
	Revalidate <-chan struct{}
}

// Tuning of a session.
const (
	// stateInterval is how often the state file is rewritten.
	stateInterval = time.Second
	// RequestTimerSlack is how far above the AoE deadline the kernel's
	// request timer is set. The engine answers every request (an EIO at
	// worst) within the deadline, so the timer only runs out for requests
	// a dead server left; then the kernel sends them again, to the next
	// server or as an EIO. It bounds the stall a restart costs them.
	RequestTimerSlack = 3 * time.Second
)

// The engine's Target serves the nbd device on the started path (no
// goroutine per request); this keeps a signature change from quietly
// sending it down the slower one.
var (
	_ server.Starter     = (*initiator.Target)(nil)
	_ server.FrameReader = (*initiator.Target)(nil)
)

// Serve attaches cfg.Target as an nbd device and serves it until ctx is
// cancelled (then it flushes and detaches cleanly) or the device is
// disconnected from outside.
func Serve(ctx context.Context, cfg Config) error {
	if cfg.Logf == nil {
		cfg.Logf = func(string, ...any) {}
	}
	warnf := func(format string, args ...any) {
		cfg.Logf("warning: "+format, args...)
		if cfg.Warnf != nil {
			cfg.Warnf(format, args...)
		}
	}
	name := cfg.Target.String()
	lockFile, err := lock(name)
	if err != nil {
		return err
	}
	defer lockFile.Close()
	clearDetached(name)

	if err := nbd.LoadModule(); err != nil {
		return err
	}
	iface, err := cfg.NBDInterface.Resolve()
	if err != nil {
		return err
	}
	ini, ifaces, err := discovery.OpenFor(cfg.Target, cfg.Interfaces, initiator.Options{Deadline: cfg.Deadline, Logf: cfg.Logf})
	if err != nil {
		return err
	}
	defer ini.Close()
	// NICs that come up later join by themselves; those that go down
	// leave at once.
	watchCtx, stopWatch := context.WithCancel(ctx)
	defer stopWatch()
	// One schedule asks for the target for every reason: every
	// RequeryInterval, so that paths which appear later are learned;
	// faster until it answers (WaitForQueried); in a burst on a link
	// that comes up (the watcher).
	queries := multipath.NewQueries(func() error { return ini.Query(cfg.Target) },
		multipath.QuerySchedule{Every: multipath.RequeryInterval})
	go queries.Run(watchCtx)
	watcher := multipath.NewWatcher(ini, multipath.Config{
		Interfaces: cfg.Interfaces,
		Queries:    queries,
		Open:       discovery.OpenPortFor(cfg.Target),
		Logf:       cfg.Logf,
	})
	go func() {
		if err := watcher.Run(watchCtx); err != nil {
			cfg.Logf("not following link changes: %v", err)
		}
	}()
	cfg.Logf("looking for %s on %v", name, ifaces)
	t, err := discovery.WaitForQueried(ctx, ini, cfg.Target, cfg.FindTimeout, queries)
	if err != nil {
		return err
	}
	id := t.Identity()
	cfg.Logf("%s: %s, %d bytes, %d bytes per frame", name, id.Model, id.Size(), t.MaxSectors()*512)
	release, err := claim(t, cfg.Reserve, cfg.Logf, warnf)
	if err != nil {
		return err
	}
	leaving := false
	defer func() {
		if !leaving { // the next server claims it again
			release()
		}
	}()
	learned := t.Learned()
	writeThrough := learned.FlushCommand == 0
	switch {
	case writeThrough && !cfg.ReadOnly:
		warnf("%s cannot flush its write cache (%s): attached write-through, without flushes; what it acknowledged may be lost if it loses power", name, learned.FlushProblem)
	case learned.FlushProblem != "":
		cfg.Logf("%s: flushing with %s (%s)", name, initiator.FlushName(learned.FlushCommand), learned.FlushProblem)
	}

	backend := backendID(name)
	dev, size, reconnect, err := takeBack(name, iface, cfg.Device, id.Size())
	if err != nil {
		return err
	}
	if !reconnect {
		size = id.Size()
	} else if size < id.Size() {
		warnf("%s grew to %d bytes; %s keeps its %d until aoe-revalidate %s", name, id.Size(), dev, size, name)
	}
	releaseDevice := func() {}
	if !reconnect {
		if dev, releaseDevice, err = pickDevice(cfg.Device); err != nil {
			return err
		}
	}
	state := State{Target: name, Device: dev, PID: os.Getpid(), ReadOnly: cfg.ReadOnly, Started: time.Now(),
		NBDInterface: string(iface)}
	if iface == nbd.InterfaceNetlink {
		state.Backend, state.DeadConnSecs = backend, cfg.deadline().Seconds()
	}
	var (
		revalidatedMu sync.Mutex
		revalidated   *Revalidation
	)
	publish := func() {
		s := stateFrom(t.Status())
		revalidatedMu.Lock()
		if s.Revalidated = revalidated; revalidated != nil && revalidated.Error != "" {
			s.Warnings = append(s.Warnings, "last revalidation: "+revalidated.Error)
		}
		revalidatedMu.Unlock()
		s.Sockets = interfaceStates(ini.Ports())
		s.Device, s.PID, s.ReadOnly, s.Started, s.Updated = state.Device, state.PID, state.ReadOnly, state.Started, time.Now()
		s.NBDInterface, s.Backend, s.DeadConnSecs = state.NBDInterface, state.Backend, state.DeadConnSecs
		if err := writeState(&s); err != nil {
			cfg.Logf("cannot write state file: %v", err)
		}
	}

	serveCtx, stop := context.WithCancel(ctx)
	defer stop()
	go func() {
		tick := time.NewTicker(stateInterval)
		defer tick.Stop()
		for {
			select {
			case <-tick.C:
				publish()
			case <-serveCtx.Done():
				return
			}
		}
	}()

	link := filepath.Join("/dev/etherd", name)
	var roOnce sync.Once
	var liveSize atomic.Int64
	liveSize.Store(size)
	// Revalidation waits for the device: before, there is nothing to resize.
	attached := make(chan struct{})
	opts := nbd.Options{
		Server: server.Options{
			Size:         size,
			LiveSize:     &liveSize,
			ReadOnly:     cfg.ReadOnly,
			WriteThrough: writeThrough,
			OnError: func(op string, off int64, length int, err error) {
				cfg.Logf("%s: %s of %d bytes at %d failed: %v", dev, op, length, off, err)
				if errors.Is(err, initiator.ErrWritesRefused) {
					roOnce.Do(func() { go setReadOnly(dev, cfg.Logf) })
				}
			},
		},
		// Above the AoE deadline: that decides when a silent target fails
		// its I/O; the kernel's timer only catches what a dead server left.
		Timeout:         cfg.deadline() + RequestTimerSlack,
		Interface:       iface,
		DeadConnTimeout: cfg.deadline(),
		Backend:         backend,
		Reconnect:       reconnect,
		Leave:           cfg.Leave,
		Logf:            cfg.Logf,
		Ready: func() {
			close(attached)
			releaseDevice()
			if err := nbd.Tune(dev); err != nil {
				cfg.Logf("%v (requests stay small: slower, not less safe)", err)
			}
			publish()
			makeLink(link, dev, cfg.Logf)
			if reconnect {
				cfg.Logf("%s reconnected to %s: the kernel kept it while no server ran", name, dev)
			} else {
				cfg.Logf("%s attached as %s (nbd %s)", name, dev, iface)
			}
			if cfg.Ready != nil {
				cfg.Ready(dev)
			}
		},
	}
	go func() {
		select {
		case <-attached:
		case <-serveCtx.Done():
			return
		}
		for {
			select {
			case <-cfg.Revalidate:
				r := revalidate(t, dev, opts, cfg.Logf)
				if r.Error != "" {
					cfg.Logf("revalidate: %s", r.Error)
				}
				revalidatedMu.Lock()
				revalidated = &r
				revalidatedMu.Unlock()
				publish()
			case <-serveCtx.Done():
				return
			}
		}
	}()
	attachCtx := ctx
	if iface != nbd.InterfaceNetlink && cfg.Leave != nil {
		// The ioctl device cannot outlive us: leaving is detaching.
		var cancel context.CancelFunc
		attachCtx, cancel = context.WithCancel(ctx)
		defer cancel()
		go func() {
			select {
			case <-cfg.Leave:
				cancel()
			case <-attachCtx.Done():
			}
		}()
	}
	err = nbd.Attach(attachCtx, dev, t, opts)
	releaseDevice()
	leaving = err == nil && closed(cfg.Leave) && iface == nbd.InterfaceNetlink
	if leaving {
		cfg.Logf("%s left %s set up for the next aoe-attach %s", name, dev, name)
		return nil
	}
	if err == nil || !heldFor(dev, backend) {
		// Detached (or never attached): nothing is left to take back.
		os.Remove(statePath(name))
		removeLink(link, dev)
	}
	if err != nil {
		return fmt.Errorf("%s on %s: %w", name, dev, err)
	}
	cfg.Logf("%s detached from %s", name, dev)
	return nil
}

// deadline is the AoE deadline asked for, or the engine's default.
func (cfg Config) deadline() time.Duration {
	if cfg.Deadline > 0 {
		return cfg.Deadline
	}
	return initiator.DefaultDeadline
}

func closed(c <-chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}

// setReadOnly marks the device read-only once its target refused a write,
// so that the filesystem and new mounts learn it from the kernel rather
// than from one EIO after another. It runs apart from the request that
// found out: closing the device may flush, and the flush needs us.
func setReadOnly(dev string, logf func(string, ...any)) {
	if err := nbd.SetReadOnly(dev); err != nil {
		logf("%v", err)
		return
	}
	logf("%s set read-only: its target refuses writes", dev)
}

// pickDevice chooses the nbd device under a host-wide lock held until the
// device is attached (release), so two attaches at once do not pick the
// same free device.
func pickDevice(want string) (dev string, release func(), err error) {
	f, err := os.OpenFile(filepath.Join(RunDir, "devices.lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return "", nil, err
	}
	if err := flockWait(f); err != nil {
		f.Close()
		return "", nil, err
	}
	released := false
	release = func() {
		if !released {
			released = true
			f.Close()
		}
	}
	if want != "" {
		pid, busy, err := nbd.InUse(want)
		if err == nil && busy {
			err = fmt.Errorf("%s is in use (served by task %d); pick another with --device or leave it out", want, pid)
		}
		if err != nil {
			release()
			return "", nil, err
		}
		return want, release, nil
	}
	dev, err = nbd.FindFree()
	if err != nil {
		release()
		if errors.Is(err, nbd.ErrNoFreeDevice) {
			err = fmt.Errorf("%w: detach one, or load nbd with more devices (modprobe nbd nbds_max=64)", err)
		}
		return "", nil, err
	}
	return dev, release, nil
}

// makeLink gives the device the name aoetools users know, /dev/etherd/eX.Y,
// unless the kernel's aoe driver owns that name.
func makeLink(link, dev string, logf func(string, ...any)) {
	if fi, err := os.Lstat(link); err == nil && fi.Mode()&os.ModeSymlink == 0 {
		logf("%s exists and is not ours (the kernel aoe driver's?): not linking it to %s", link, dev)
		return
	}
	if err := os.MkdirAll(filepath.Dir(link), 0o755); err != nil {
		logf("cannot create %s: %v", filepath.Dir(link), err)
		return
	}
	os.Remove(link)
	if err := os.Symlink(dev, link); err != nil {
		logf("cannot link %s to %s: %v", link, dev, err)
	}
}

// removeLink removes the link only if it still points at our device.
func removeLink(link, dev string) {
	if target, err := os.Readlink(link); err == nil && target == dev {
		os.Remove(link)
	}
}
