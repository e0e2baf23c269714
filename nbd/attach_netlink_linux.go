//go:build linux

package nbd

// A device through netlink, and how it outlives us:
//
//	attachNetlink ─ socketpairs, Serve each ─▶ CONNECT (or RECONFIGURE: a
//	   device a dead server left) ─▶ hold the device open, DISCONNECT_ON_CLOSE
//	   ─▶ Ready ─▶ wait:
//	      DISC on a connection ........ disconnected (by us or anyone): done
//	      a connection ends otherwise . the kernel dropped it: RECONFIGURE anew
//	      ctx done .................... flush, DISCONNECT, wait for DISC: done
//	      Leave ....................... close our ends, keep the device: done
//
// When we die, the kernel marks our sockets dead; new I/O waits up to the
// dead-connection timeout for a RECONFIGURE, and requests that were in
// flight are requeued when their request timer (Options.Timeout) runs out.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/goaoe/goaoe/nbd/server"
)

// Reconnecting a connection the kernel dropped while we live: how often
// to try, and for how long before giving up. The kernel takes a socket
// only in place of a dead one, so a try can find the old one not dead yet
// (its server still exiting): then it drops ours and we try again.
const (
	reconnectRetry = 100 * time.Millisecond
	reconnectLimit = 30 * time.Second
)

// heldFdFloor is where the open device descriptor is moved: the kernel
// closes a dying process's files in descriptor order, and the device must
// close after the sockets, or its last close would write back dirty pages
// into a socket nobody reads any more.
const heldFdFloor = 1000

// connResult is how one connection's Serve ended. gen tells a result of
// the connection now in the slot from one of a connection given up on.
type connResult struct {
	slot, gen int
	err       error
}

// netlinkDevice is a device being served through netlink.
type netlinkDevice struct {
	path  string
	index int
	b     server.Backend
	o     Options

	results  chan connResult
	finished chan struct{} // closed when run returns: nobody reads results
	serving  sync.WaitGroup
	mu       sync.Mutex
	conns    []net.Conn  // by slot; replaced when a connection is reconnected
	gens     []int       // by slot: the generation of the connection in it
	given    []time.Time // by slot: when the kernel took the connection in it
	quick    []int       // by slot: connections lost in a row right after given
}

func attachNetlink(ctx context.Context, devPath, name string, b server.Backend, o Options) error {
	index, ok := nbdIndex(name)
	if !ok {
		return fmt.Errorf("nbd: %s is not an nbd device", devPath)
	}
	d := &netlinkDevice{path: devPath, index: index, b: b, o: o,
		results: make(chan connResult), finished: make(chan struct{}),
		conns: make([]net.Conn, o.Connections), gens: make([]int, o.Connections),
		given: make([]time.Time, o.Connections), quick: make([]int, o.Connections)}
	var hold *os.File
	if o.Reconnect {
		// Open before handing sockets over: the device must never be
		// without an opener while it can disconnect on close.
		var err error
		if hold, err = holdDevice(devPath); err != nil {
			return err
		}
	} else if pid, busy, err := InUse(devPath); err != nil {
		return err
	} else if busy {
		return fmt.Errorf("nbd: %s is in use by task %d", devPath, pid)
	}

	kernelFds, err := d.serveNew(allSlots(o.Connections))
	for i := range d.given {
		d.given[i] = time.Now()
	}
	if err == nil {
		if o.Reconnect {
			err = netlinkReconfigure(index, o.Backend, kernelFds)
		} else {
			_, err = netlinkConnect(d.connectRequest(kernelFds))
		}
		// The kernel holds its own references from here on.
		closeFds(kernelFds)
	}
	if err == nil && hold == nil {
		hold, err = holdDevice(devPath)
		if err == nil {
			// Only now: disconnect-on-close before we held the device
			// would let udev's probe, opening and closing it, end it.
			err = netlinkSetClientFlags(index, o.Backend, genlClientFlagDisconnectOnClose)
		}
		if err != nil {
			_ = netlinkDisconnect(index)
		}
	}
	if err != nil {
		d.closeAll()
		close(d.finished)
		d.serving.Wait()
		if hold != nil {
			hold.Close()
		}
		return err
	}
	defer hold.Close()
	limitQueue(name)
	if o.Ready != nil {
		o.Ready()
	}
	return d.run(ctx)
}

func (d *netlinkDevice) connectRequest(fds []int) connectRequest {
	return connectRequest{
		Index:       d.index,
		Size:        uint64(d.o.Server.Size),
		BlockSize:   uint64(d.o.Server.BlockSize),
		Timeout:     d.o.Timeout,
		DeadConn:    d.o.DeadConnTimeout,
		ServerFlags: d.o.deviceFlags(),
		Backend:     d.o.Backend,
		Fds:         fds,
	}
}

// run serves the device until it is disconnected, ctx is done (detach) or
// Leave is closed.
func (d *netlinkDevice) run(ctx context.Context) error {
	defer close(d.finished)
	live := d.o.Connections
	var errs []error
	stopping := false
	for live > 0 {
		select {
		case r := <-d.results:
			if r.gen != d.gen(r.slot) {
				continue // a connection given up on
			}
			if r.err == nil || stopping {
				// DISC: the device was disconnected, by us or from
				// outside (aoe-detach, nbd-client -d).
				live--
				if r.err != nil && !errors.Is(r.err, net.ErrClosed) {
					errs = append(errs, fmt.Errorf("nbd: connection %d: %w", r.slot, r.err))
				}
				continue
			}
			// The kernel ended the connection without DISC: its request
			// timer ran out, or it never took the socket (the old one was
			// not dead yet). The device waits for a new one.
			d.logf("%s: connection %d lost (%v): giving the kernel a new one", d.path, r.slot, r.err)
			if err := d.reconnect(ctx, r.slot); err != nil {
				d.logf("%s: %v", d.path, err)
				errs = append(errs, err)
				live--
			}
		case <-ctx.Done():
			if stopping {
				continue
			}
			stopping = true
			if err := d.b.Flush(); err != nil {
				errs = append(errs, fmt.Errorf("nbd: flush before disconnect: %w", err))
			}
			if err := netlinkDisconnect(d.index); err != nil {
				errs = append(errs, err)
				d.closeAll()
			}
		case <-d.o.Leave:
			if stopping {
				continue
			}
			// Leave the device to the next server: our ends close, the
			// kernel marks them dead and waits for a RECONFIGURE. Not
			// waiting for what is in flight: its answers could go
			// nowhere now, the kernel sends it again to the next server,
			// and that one must come up within the dead-connection
			// timeout.
			d.closeAll()
			return nil
		}
	}
	d.closeAll()
	d.serving.Wait()
	return errors.Join(errs...)
}

// reconnect gives the kernel a new socket for slot, trying until it takes
// one, the device is gone or reconnectLimit has passed.
func (d *netlinkDevice) reconnect(ctx context.Context, slot int) error {
	// A connection lost as soon as it was given was most likely dropped
	// by a kernel whose old one was not dead yet: wait before the next.
	if time.Since(d.given[slot]) < time.Second {
		if d.quick[slot]++; d.quick[slot] > int(reconnectLimit/reconnectRetry) {
			return fmt.Errorf("nbd: connection %d: the kernel keeps dropping new connections (another server still serves the device?)", slot)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(reconnectRetry):
		}
	} else {
		d.quick[slot] = 0
	}
	deadline := time.Now().Add(reconnectLimit)
	for {
		fds, err := d.serveNew([]int{slot})
		if err != nil {
			return err
		}
		err = netlinkReconfigure(d.index, d.o.Backend, fds)
		closeFds(fds)
		d.given[slot] = time.Now()
		if err == nil {
			// Had the kernel no dead connection to replace, it dropped
			// our socket without a word: the new Serve then sees EOF and
			// we come back here.
			return nil
		}
		d.giveUp(slot)
		if errors.Is(err, unix.EINVAL) || time.Now().After(deadline) {
			return fmt.Errorf("nbd: connection %d lost and not given back: %w", slot, err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(reconnectRetry):
		}
	}
}

func (d *netlinkDevice) logf(format string, args ...any) {
	if d.o.Logf != nil {
		d.o.Logf(format, args...)
	}
}

func (d *netlinkDevice) gen(slot int) int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.gens[slot]
}

// giveUp closes the connection in slot and forgets it: its Serve's result
// will be ignored.
func (d *netlinkDevice) giveUp(slot int) {
	d.closeSlot(slot)
	d.mu.Lock()
	d.gens[slot]++
	d.conns[slot] = nil
	d.mu.Unlock()
}

// serveNew makes a socketpair for each slot, serves our end and returns
// the kernel's ends.
func (d *netlinkDevice) serveNew(slots []int) ([]int, error) {
	conns, kernelFds, err := socketPairs(len(slots))
	if err != nil {
		return nil, err
	}
	for i, slot := range slots {
		d.mu.Lock()
		gen := d.gens[slot]
		d.mu.Unlock()
		var once sync.Once
		report := func(err error) {
			once.Do(func() {
				select {
				case d.results <- connResult{slot: slot, gen: gen, err: err}:
				case <-d.finished:
				}
			})
		}
		// The kernel ending the connection is reported as soon as a read
		// sees it, not when Serve returns: Serve first waits for what is
		// in flight, and a request the kernel timed out may take the
		// Backend up to its deadline, longer than the device waits for a
		// new connection.
		c := lossReporting{Conn: conns[i], lost: report}
		d.mu.Lock()
		d.conns[slot] = c
		d.mu.Unlock()
		d.serving.Add(1)
		go func() {
			defer d.serving.Done()
			// Not a context: detaching goes through the kernel's DISC so
			// that requests in flight are answered.
			err := server.Serve(context.Background(), c, d.b, d.o.Server)
			c.Close()
			report(err)
		}()
	}
	return kernelFds, nil
}

// lossReporting is a connection that calls lost with the first error a
// read returns: the kernel shut it down, or it was closed.
type lossReporting struct {
	net.Conn
	lost func(error)
}

func (c lossReporting) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if err != nil {
		if errors.Is(err, io.EOF) {
			err = fmt.Errorf("nbd: the kernel closed the connection: %w", err)
		}
		c.lost(err)
	}
	return n, err
}

func (d *netlinkDevice) closeSlot(slot int) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if c := d.conns[slot]; c != nil {
		c.Close()
	}
}

func (d *netlinkDevice) closeAll() {
	for slot := range d.conns {
		d.closeSlot(slot)
	}
}

func allSlots(n int) []int {
	s := make([]int, n)
	for i := range s {
		s[i] = i
	}
	return s
}

// holdDevice opens the device for as long as we serve it (see
// genlClientFlagDisconnectOnClose), on a descriptor above heldFdFloor.
func holdDevice(devPath string) (*os.File, error) {
	f, err := os.OpenFile(devPath, os.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("nbd: %w", err)
	}
	high, err := unix.FcntlInt(f.Fd(), unix.F_DUPFD_CLOEXEC, heldFdFloor)
	if err != nil {
		return f, nil // a lower descriptor still holds the device
	}
	f.Close()
	return os.NewFile(uintptr(high), devPath), nil
}
