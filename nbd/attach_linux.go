//go:build linux

package nbd

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"runtime"
	"sync"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/goaoe/goaoe/nbd/server"
)

// kernelSendBuffer is the send buffer of the kernel's end of a connection:
// room for every request the kernel may have outstanding (QueueDepth, of
// at most TunedMaxSectorsKB each; twice that for the sockets' own
// accounting), so that its sends never wait for us.
const kernelSendBuffer = 2 * QueueDepth * (TunedMaxSectorsKB << 10)

// readyPollInterval is how often Attach looks for the pid file. The kernel
// writes it just before NBD_DO_IT starts waiting, so a few polls suffice.
const readyPollInterval = 2 * time.Millisecond

// Attach makes devPath (/dev/nbdN) a block device backed by b and serves
// it until the device is disconnected: by the kernel's DISC (Disconnect or
// nbd-client -d from anywhere), or by cancelling ctx, which flushes b, then
// has the kernel send DISC (NBD_DISCONNECT) so that the requests in flight
// are answered before the sockets close. It returns nil after a clean
// disconnect, whichever side asked for it, and only once every Backend
// call it started has returned.
//
// Through netlink (Options.Interface), Attach also takes back a device a
// dead server left (Options.Reconnect), gives the kernel a new connection
// for one it drops while we serve, and returns without disconnecting when
// Options.Leave is closed.
//
// Attach needs CAP_SYS_ADMIN and the nbd module (see LoadModule). It
// refuses a device that another process serves: the kernel would let us
// resize it and cut its sockets.
func Attach(ctx context.Context, devPath string, b server.Backend, opts Options) error {
	opts, err := opts.withDefaults()
	if err != nil {
		return err
	}
	if opts.Interface, err = opts.Interface.Resolve(); err != nil {
		return err
	}
	name, err := deviceName(devPath)
	if err != nil {
		return err
	}
	if opts.Interface == InterfaceNetlink {
		return attachNetlink(ctx, devPath, name, b, opts)
	}
	pid, busy, err := InUse(devPath)
	if err != nil {
		return err
	}
	if busy {
		return fmt.Errorf("nbd: %s is in use by task %d", devPath, pid)
	}
	dev, err := openDevice(devPath)
	if err != nil {
		return fmt.Errorf("nbd: %w", err)
	}
	return attach(ctx, dev, name, b, opts)
}

// Disconnect asks the kernel to detach devPath, as nbd-client -d does. The
// process serving it, if any, sees DISC, answers what is in flight and
// returns. A device set up through netlink is disconnected through
// netlink: that also ends one whose server is gone.
func Disconnect(devPath string) error {
	name, err := deviceName(devPath)
	if err != nil {
		return err
	}
	if backend, err := backendOf(name); err == nil && backend != "" {
		if index, ok := nbdIndex(name); ok {
			return netlinkDisconnect(index)
		}
	}
	dev, err := openDevice(devPath)
	if err != nil {
		return fmt.Errorf("nbd: %w", err)
	}
	defer dev.Close()
	// DISCONNECT makes the kernel send DISC on every socket of the device.
	if err := dev.ioctl(ioctlDisconnect, 0); err != nil {
		return fmt.Errorf("nbd: %w", err)
	}
	// CLEAR_SOCK then shuts those sockets and fails whatever is still
	// queued, so that the device comes free even if its server hangs.
	if err := dev.ioctl(ioctlClearSock, 0); err != nil {
		return fmt.Errorf("nbd: %w", err)
	}
	return nil
}

// attach runs a configured device: dev is open, o has its defaults, name is
// the device's entry in /sys/block.
func attach(ctx context.Context, dev device, name string, b server.Backend, o Options) error {
	defer dev.Close()

	conns, kernelFds, err := socketPairs(o.Connections)
	if err != nil {
		return err
	}
	// Our copies of the kernel's ends: the kernel holds its own references
	// from SET_SOCK until CLEAR_SOCK, so these only go once DO_IT is over.
	defer closeFds(kernelFds)

	// Serve our ends before the device starts: the kernel reads the
	// partition table as soon as NBD_DO_IT begins.
	serveErrs := make([]error, len(conns))
	var serving sync.WaitGroup
	for i, c := range conns {
		serving.Add(1)
		go func() {
			defer serving.Done()
			// Not ctx: cancelling must go through the kernel's DISC so that
			// requests in flight are answered, not stranded by a cut read.
			serveErrs[i] = server.Serve(context.Background(), c, b, o.Server)
			// Closing our end lets the kernel's receive thread finish; DO_IT
			// returns when all of them have.
			c.Close()
		}()
	}

	t := startDeviceThread(dev, o, kernelFds)
	running := t.waitRunning(ctx, name)
	if running {
		limitQueue(name)
	}
	if running && ctx.Err() == nil && o.Ready != nil {
		o.Ready()
	}

	var stopErr error
	select {
	case <-t.done:
	case <-ctx.Done():
		stopErr = t.stop(dev, b, name, conns)
		<-t.done
	}
	// DO_IT is over and the kernel reads none of our sockets any more:
	// close what Serve has not, so that every Serve returns.
	closeConns(conns)
	serving.Wait()

	errs := []error{t.err, stopErr}
	for i, err := range serveErrs {
		if err != nil && !errors.Is(err, net.ErrClosed) { // closed by us: not a failure
			errs = append(errs, fmt.Errorf("nbd: connection %d: %w", i, err))
		}
	}
	return errors.Join(errs...)
}

// socketPairs makes the connections between the kernel and us: AF_UNIX
// stream sockets, because the kernel wants a socket it can shut down and
// these never leave the host. It returns our ends as net.Conns (so Serve
// can interrupt reads) and the kernel's ends as raw descriptors for
// SET_SOCK.
func socketPairs(n int) ([]net.Conn, []int, error) {
	var conns []net.Conn
	var kernel []int
	for range n {
		fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			closeConns(conns)
			closeFds(kernel)
			return nil, nil, fmt.Errorf("nbd: socketpair: %w", err)
		}
		// Room for every request the kernel can have queued: were its
		// sends to block on a server that died, the sender would hold the
		// connection's lock while the dying process's DO_IT thread waits
		// for it to shut the connection down, and both would wait out the
		// kernel's send timeout (the request timer) before anything fails.
		_ = unix.SetsockoptInt(fds[0], unix.SOL_SOCKET, unix.SO_SNDBUFFORCE, kernelSendBuffer)
		f := os.NewFile(uintptr(fds[1]), "nbd-server")
		c, err := net.FileConn(f) // a dup, registered with the poller
		f.Close()
		if err != nil {
			unix.Close(fds[0])
			closeConns(conns)
			closeFds(kernel)
			return nil, nil, fmt.Errorf("nbd: socketpair: %w", err)
		}
		conns = append(conns, c)
		kernel = append(kernel, fds[0])
	}
	return conns, kernel, nil
}

func closeConns(conns []net.Conn) {
	for _, c := range conns {
		c.Close()
	}
}

func closeFds(fds []int) {
	for _, fd := range fds {
		unix.Close(fd)
	}
}

// deviceThread is the OS thread that configures the device and then sits
// in NBD_DO_IT for as long as the device lives.
type deviceThread struct {
	tids chan int      // the thread's id, sent once it is known
	tid  int           // received from tids by waitRunning
	done chan struct{} // closed when the thread is finished
	err  error         // why it finished, if not a clean disconnect; read after done
}

func startDeviceThread(dev device, o Options, kernelFds []int) *deviceThread {
	t := &deviceThread{tids: make(chan int, 1), done: make(chan struct{})}
	go func() {
		defer close(t.done)
		t.err = t.run(dev, o, kernelFds)
	}()
	return t
}

func (t *deviceThread) run(dev device, o Options, kernelFds []int) error {
	// The kernel takes SET_SOCK only from the task (thread) that made the
	// first one, and a signal delivered to the thread in DO_IT makes it
	// shut the device down. So: one locked thread for all of it, signals
	// blocked. It is never unlocked: when this goroutine exits, the runtime
	// ends the thread, and its altered signal mask with it.
	runtime.LockOSThread()
	if err := blockSignals(); err != nil {
		return fmt.Errorf("nbd: block signals: %w", err)
	}
	t.tids <- unix.Gettid()

	if err := configure(dev, o, kernelFds); err != nil {
		// Give back any socket the kernel already took.
		_ = dev.ioctl(ioctlClearSock, 0)
		return fmt.Errorf("nbd: %w", err)
	}
	// DO_IT starts the kernel's receive threads, publishes the pid file and
	// blocks until every connection is gone.
	err := dev.ioctl(ioctlDoIt, 0)
	// CLEAR_SOCK releases the sockets and fails any request still queued.
	// The last close would do the same, but not while someone else (udev's
	// blkid, a mount) still holds the device open.
	if cerr := dev.ioctl(ioctlClearSock, 0); cerr != nil && err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("nbd: %w", err)
	}
	return nil
}

// configure issues the set-up ioctls in the order nbd-client uses.
func configure(dev device, o Options, kernelFds []int) error {
	blocks := uint64(o.Server.Size) / uint64(o.Server.BlockSize)
	if blocks > uint64(^uintptr(0)) {
		return fmt.Errorf("%d blocks do not fit an ioctl argument on this platform", blocks)
	}
	steps := []struct {
		req uint
		arg uintptr
	}{
		// The block size first: SET_SIZE_BLOCKS counts in it.
		{ioctlSetBlksize, uintptr(o.Server.BlockSize)},
		// Blocks rather than bytes: SET_SIZE takes an unsigned long of
		// bytes, 4 GiB at most on a 32-bit host.
		{ioctlSetSizeBlocks, uintptr(blocks)},
		// Drop sockets a crashed previous server left behind; this also
		// forgets which task may call SET_SOCK.
		{ioctlClearSock, 0},
		// Flags before DO_IT: it reads them to set read-only, the write
		// cache, FUA and whether several sockets are allowed.
		{ioctlSetFlags, uintptr(o.deviceFlags())},
		// 0 lets the AoE layer own the deadline (see Options.Timeout).
		{ioctlSetTimeout, uintptr(o.timeoutSeconds())},
	}
	for _, fd := range kernelFds {
		// One per connection, all from this thread.
		steps = append(steps, struct {
			req uint
			arg uintptr
		}{ioctlSetSock, uintptr(fd)})
	}
	for _, s := range steps {
		if err := dev.ioctl(s.req, s.arg); err != nil {
			return err
		}
	}
	return nil
}

// blockSignals blocks every signal on the calling thread except the
// synchronous faults that the runtime turns into panics (blocked, they
// would kill the process outright). Signals sent to the process, such as
// SIGINT, are then delivered to other threads, where os/signal sees them.
func blockSignals() error {
	var set unix.Sigset_t
	for i := range set.Val {
		set.Val[i] = ^set.Val[i]
	}
	for _, s := range []unix.Signal{unix.SIGSEGV, unix.SIGBUS, unix.SIGFPE, unix.SIGILL, unix.SIGTRAP} {
		sigdel(&set, s)
	}
	return unix.PthreadSigmask(unix.SIG_BLOCK, &set, nil)
}

// sigdel removes s from set, whatever the word size of the set on this
// architecture.
func sigdel(set *unix.Sigset_t, s unix.Signal) {
	const wordBits = uint(unsafe.Sizeof(set.Val[0]) * 8)
	i := uint(s - 1)
	set.Val[i/wordBits] &^= 1 << (i % wordBits)
}

// waitRunning waits until the device is usable: the pid file exists and
// names our thread (not a process that raced us to the device). It gives
// up when the thread finishes or ctx is done.
func (t *deviceThread) waitRunning(ctx context.Context, name string) bool {
	select {
	case t.tid = <-t.tids:
	case <-t.done:
		return false
	case <-ctx.Done():
		return false
	}
	tick := time.NewTicker(readyPollInterval)
	defer tick.Stop()
	for !t.running(name) {
		select {
		case <-t.done:
			return false
		case <-ctx.Done():
			return false
		case <-tick.C:
		}
	}
	return true
}

func (t *deviceThread) running(name string) bool {
	pid, ok, _ := devicePID(name)
	return ok && t.tid != 0 && pid == t.tid
}

// stop ends the device when ctx is cancelled. The flush comes first so
// that every write the kernel was told about is durable even if what
// follows goes wrong. Then DISCONNECT: the kernel sends DISC on every
// socket, Serve answers what is in flight and closes, and DO_IT returns.
// If DO_IT is not running yet, or the kernel refuses, closing our ends
// does the same without the courtesy: the kernel's receive threads see
// EOF and fail what they still wait for.
func (t *deviceThread) stop(dev device, b server.Backend, name string, conns []net.Conn) error {
	var errs []error
	if err := b.Flush(); err != nil {
		errs = append(errs, fmt.Errorf("nbd: flush before disconnect: %w", err))
	}
	if !t.running(name) {
		closeConns(conns)
		return errors.Join(errs...)
	}
	if err := dev.ioctl(ioctlDisconnect, 0); err != nil {
		errs = append(errs, fmt.Errorf("nbd: %w", err))
		closeConns(conns)
	}
	return errors.Join(errs...)
}
