package server

import (
	"errors"
	"fmt"
	"sync/atomic"
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

// Options describes the export and how its requests are served. Serve
// uses all of it; the device side (nbd.Attach) also sizes the device from
// Size and BlockSize and advertises the rest through TransmissionFlags, so
// that the kernel and Serve agree on what the device is.
type Options struct {
	// Size of the device in bytes, a multiple of BlockSize.
	Size int64
	// LiveSize, if set, replaces Size for every request from the first
	// on: the size of a device that is resized while it serves (its
	// target grew). Whoever resizes it changes LiveSize in step with the
	// kernel: before growing the device, after shrinking it, so that no
	// request the kernel may send is refused.
	LiveSize *atomic.Int64
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
	// Workers bounds the requests served concurrently per connection
	// (default DefaultWorkers). It also bounds memory: at most Workers+1
	// request buffers per connection exist at once.
	Workers int
	// OnError, if set, is called for every request answered with an error:
	// backend failures and refusals (ErrReadOnly, ErrOutOfRange, ...). It
	// runs on the goroutine serving the request, before the reply is sent,
	// so it must be quick. The package itself logs nothing.
	OnError func(op string, off int64, length int, err error)
}

// WithDefaults fills in zero values and checks the rest. Serve calls it;
// the device side calls it too, so that it sizes the device with the very
// numbers Serve checks requests against.
func (o Options) WithDefaults() (Options, error) {
	if o.BlockSize == 0 {
		o.BlockSize = DefaultBlockSize
	}
	if o.Workers == 0 {
		o.Workers = DefaultWorkers
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
	}
	return o, nil
}

// TransmissionFlags is the flags word that advertises o to the kernel
// (the NBD_SET_FLAGS argument). multiConn says that more than one
// connection serves the device, which promises that a FLUSH on any of them
// covers writes completed on all. SEND_FLUSH is set unless the device is
// write-through: it is what makes the kernel pass fsync and journal
// barriers down to us instead of treating the device as having no
// volatile cache.
func (o Options) TransmissionFlags(multiConn bool) uint64 {
	f := uint64(flagHasFlags)
	if !o.WriteThrough {
		f |= flagSendFlush
		if o.FUA {
			f |= flagSendFUA
		}
	}
	if o.ReadOnly {
		f |= flagReadOnly
	}
	if multiConn {
		f |= flagCanMultiConn
	}
	return f
}
