package nbd

import (
	"errors"
	"fmt"
	"time"
)

// Tuning constants.
const (
	// DefaultBlockSize is the logical block size of the device. 512 and not
	// 4096: an AoE target is a disk of 512-byte sectors, and whatever is on
	// it (a GPT or MBR partition table, a filesystem written by the Linux
	// aoe driver or by vblade's host) counts in 512-byte LBAs. With 4096 the
	// same partition table would be read at the wrong offsets, and a target
	// whose sector count is not a multiple of 8 would lose its tail. ext4
	// uses 4 KiB filesystem blocks either way and the page cache sends
	// 4 KiB-aligned I/O, so 4096 buys nearly nothing in speed; choose it
	// only for a target that is formatted for 4K sectors and never shared.
	DefaultBlockSize = 512

	// DefaultWorkers bounds the requests served at once on one connection.
	// The kernel queues up to 128 per connection; the AoE engine pipelines
	// behind a window far smaller than that, so 32 keeps it busy without
	// pinning 128 buffers.
	DefaultWorkers = 32

	// MaxRequestLength is the longest READ or WRITE we serve: the kernel's
	// max_hw_sectors for nbd (65536 sectors), which is also the protocol's
	// customary maximum payload. Anything longer is a broken peer, and is
	// refused before a buffer is allocated for it.
	MaxRequestLength = 32 << 20
)

// Options describes the device and how its requests are served. Serve
// uses Size, BlockSize, ReadOnly, Workers and OnError; Attach uses all.
type Options struct {
	// Size of the device in bytes, a multiple of BlockSize.
	Size int64
	// BlockSize is the logical (and physical) block size the kernel shows:
	// a power of two from 512 to 4096 (the kernel refuses more than a page).
	// 0 means DefaultBlockSize; see there for why.
	BlockSize int
	// ReadOnly marks the device read-only in the kernel and refuses WRITE
	// with EPERM without touching the Backend.
	ReadOnly bool
	// FUA advertises NBD_FLAG_SEND_FUA so the kernel can send writes that
	// must be durable on completion; they are served as WriteAt then Flush.
	// Without it the kernel emulates FUA with a full FLUSH after the write.
	FUA bool
	// WriteThrough says the Backend cannot flush: SEND_FLUSH (and FUA) are
	// not offered, so the kernel treats the device as having no volatile
	// cache and sends no FLUSH, as it does for the kernel aoe driver's
	// disks. For a target that cannot flush; the caller says so to the user.
	WriteThrough bool
	// Connections is how many sockets Attach hands the kernel (default 1).
	// More than one sets NBD_FLAG_CAN_MULTI_CONN, which promises that a FLUSH
	// on any connection covers writes completed on all of them: the
	// Backend's Flush must be device-wide.
	Connections int
	// Workers bounds the requests served concurrently per connection
	// (default DefaultWorkers). It also bounds memory: at most Workers+1
	// request buffers per connection exist at once.
	Workers int
	// Timeout is NBD_SET_TIMEOUT, rounded up to whole seconds. 0 asks the
	// kernel never to time a request out, leaving the deadline to the AoE
	// layer. That holds for one connection only: with Connections > 1 the
	// kernel requeues a request that has waited its timeout (30 s when 0)
	// on another socket and shuts the old one down. Set Timeout above the
	// AoE layer's own deadline when using several connections.
	Timeout time.Duration
	// Ready, if set, is called once by Attach when the device is usable:
	// NBD_DO_IT is running and /sys/block/nbdN/pid names our thread. Attach
	// does not watch its context while Ready runs, so Ready must not block.
	Ready func()
	// OnError, if set, is called for every request answered with an error:
	// backend failures and refusals (ErrReadOnly, ErrOutOfRange, ...). It
	// runs on the goroutine serving the request, before the reply is sent,
	// so it must be quick. The package itself logs nothing.
	OnError func(op string, off int64, length int, err error)
}

// withDefaults fills in zero values and checks the rest.
func (o Options) withDefaults() (Options, error) {
	if o.BlockSize == 0 {
		o.BlockSize = DefaultBlockSize
	}
	if o.Workers == 0 {
		o.Workers = DefaultWorkers
	}
	if o.Connections == 0 {
		o.Connections = 1
	}
	switch {
	case o.BlockSize < 512 || o.BlockSize > 4096 || o.BlockSize&(o.BlockSize-1) != 0:
		return o, fmt.Errorf("nbd: block size %d is not a power of two from 512 to 4096", o.BlockSize)
	case o.Size <= 0:
		return o, errors.New("nbd: device size must be positive")
	case o.Size%int64(o.BlockSize) != 0:
		return o, fmt.Errorf("nbd: device size %d is not a multiple of the block size %d", o.Size, o.BlockSize)
	case o.Workers < 0:
		return o, fmt.Errorf("nbd: %d workers", o.Workers)
	case o.Connections < 0:
		return o, fmt.Errorf("nbd: %d connections", o.Connections)
	case o.Timeout < 0:
		return o, fmt.Errorf("nbd: negative timeout %v", o.Timeout)
	}
	return o, nil
}

// deviceFlags is the NBD_SET_FLAGS argument. SEND_FLUSH is set unless the
// device is write-through: it is what makes the kernel pass fsync and
// journal barriers down to us instead of treating the device as having no
// volatile cache.
func (o Options) deviceFlags() uint32 {
	f := uint32(flagHasFlags)
	if !o.WriteThrough {
		f |= flagSendFlush
		if o.FUA {
			f |= flagSendFUA
		}
	}
	if o.ReadOnly {
		f |= flagReadOnly
	}
	if o.Connections > 1 {
		f |= flagCanMultiConn
	}
	return f
}

// timeoutSeconds is the NBD_SET_TIMEOUT argument: whole seconds, rounded up
// so that a short but non-zero timeout does not become "never".
func (o Options) timeoutSeconds() uint64 {
	return uint64((o.Timeout + time.Second - 1) / time.Second)
}
