package server

import (
	"errors"
	"strconv"
	"syscall"
)

// errno is an error value on the NBD wire. The protocol fixes these numbers
// (they are Linux's) instead of using the host's errno, so a server on
// another OS still speaks them (doc/proto.md "Error values").
//
// The Linux client reads any non-zero value as "failed" and completes the
// request with BLK_STS_IOERR: whatever we send, the application sees EIO.
// The exact value only matters to other clients and to whoever reads
// OnError.
type errno uint32

const (
	errnoPERM     errno = 1
	errnoIO       errno = 5
	errnoNOMEM    errno = 12
	errnoINVAL    errno = 22
	errnoNOSPC    errno = 28
	errnoOVERFLOW errno = 75
	errnoNOTSUP   errno = 95
	errnoSHUTDOWN errno = 108
)

func (e errno) Error() string {
	switch e {
	case errnoPERM:
		return "operation not permitted"
	case errnoIO:
		return "input/output error"
	case errnoNOMEM:
		return "cannot allocate memory"
	case errnoINVAL:
		return "invalid argument"
	case errnoNOSPC:
		return "no space left on device"
	case errnoOVERFLOW:
		return "value too large"
	case errnoNOTSUP:
		return "operation not supported"
	case errnoSHUTDOWN:
		return "server shutting down"
	}
	return "nbd errno " + strconv.FormatUint(uint64(e), 10)
}

// hostErrnos maps the host's errno values onto the NBD set; the protocol
// asks for EDQUOT and EFBIG to become ENOSPC. A table rather than a switch
// because ENOTSUP and EOPNOTSUPP are the same number on Linux only.
var hostErrnos = []struct {
	host syscall.Errno
	wire errno
}{
	{syscall.EPERM, errnoPERM},
	{syscall.EACCES, errnoPERM},
	{syscall.EROFS, errnoPERM},
	{syscall.EIO, errnoIO},
	{syscall.ENOMEM, errnoNOMEM},
	{syscall.EINVAL, errnoINVAL},
	{syscall.ENOSPC, errnoNOSPC},
	{syscall.EDQUOT, errnoNOSPC},
	{syscall.EFBIG, errnoNOSPC},
	{syscall.EOVERFLOW, errnoOVERFLOW},
	{syscall.ENOTSUP, errnoNOTSUP},
	{syscall.EOPNOTSUPP, errnoNOTSUP},
	{syscall.ESHUTDOWN, errnoSHUTDOWN},
}

// errnoOf picks the wire errno for a failed request: a request the server
// refused carries its own, a syscall.Errno in the chain is kept when the
// protocol has an equivalent, and everything else (timeouts, AoE errors,
// short transfers) is EIO.
func errnoOf(err error) errno {
	var refused *refusal
	if errors.As(err, &refused) {
		return refused.errno
	}
	var host syscall.Errno
	if errors.As(err, &host) {
		for _, m := range hostErrnos {
			if m.host == host {
				return m.wire
			}
		}
	}
	return errnoIO
}

// refusal is a request the server answers without calling the Backend.
type refusal struct {
	msg   string
	errno errno
}

func (r *refusal) Error() string { return "nbd: " + r.msg }

// Refusals, passed to Options.OnError and answered with the errno the
// protocol asks for. Compare with errors.Is.
var (
	ErrReadOnly    error = &refusal{"write to a read-only device", errnoPERM}
	ErrOutOfRange  error = &refusal{"request beyond the end of the device", errnoINVAL}
	ErrUnaligned   error = &refusal{"request not aligned to the block size", errnoINVAL}
	ErrTooLong     error = &refusal{"request longer than MaxRequestLength", errnoINVAL}
	ErrUnsupported error = &refusal{"command or flag not supported", errnoINVAL}
)
