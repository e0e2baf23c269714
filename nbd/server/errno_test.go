package server

import (
	"errors"
	"fmt"
	"syscall"
	"testing"
)

func TestErrnoOf(t *testing.T) {
	tests := []struct {
		err  error
		want errno
	}{
		{errors.New("aoe: no response"), errnoIO},
		{syscall.EIO, errnoIO},
		{fmt.Errorf("wrapped: %w", syscall.ENOSPC), errnoNOSPC},
		{syscall.EDQUOT, errnoNOSPC},
		{syscall.EFBIG, errnoNOSPC},
		{syscall.EPERM, errnoPERM},
		{syscall.EROFS, errnoPERM},
		{syscall.EACCES, errnoPERM},
		{syscall.ENOMEM, errnoNOMEM},
		{syscall.EINVAL, errnoINVAL},
		{syscall.EOVERFLOW, errnoOVERFLOW},
		{syscall.EOPNOTSUPP, errnoNOTSUP},
		{syscall.ESHUTDOWN, errnoSHUTDOWN},
		{syscall.ENOENT, errnoIO},
		{ErrReadOnly, errnoPERM},
		{fmt.Errorf("x: %w", ErrOutOfRange), errnoINVAL},
		{ErrUnaligned, errnoINVAL},
		{ErrTooLong, errnoINVAL},
		{ErrUnsupported, errnoINVAL},
	}
	for _, tt := range tests {
		if got := errnoOf(tt.err); got != tt.want {
			t.Errorf("errnoOf(%v) = %d, want %d", tt.err, got, tt.want)
		}
	}
	if s := errnoIO.Error(); s != "input/output error" {
		t.Errorf("errnoIO.Error() = %q", s)
	}
}
