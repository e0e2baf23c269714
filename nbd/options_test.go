package nbd

import (
	"errors"
	"fmt"
	"syscall"
	"testing"
	"time"
)

func TestOptionsDefaults(t *testing.T) {
	o, err := Options{Size: 1 << 20}.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	if o.BlockSize != 512 || o.Workers != DefaultWorkers || o.Connections != 1 {
		t.Errorf("defaults: block size %d, workers %d, connections %d", o.BlockSize, o.Workers, o.Connections)
	}
	bad := []Options{
		{},
		{Size: -512},
		{Size: 1000},
		{Size: 4096, BlockSize: 1024 + 512},
		{Size: 4096, BlockSize: 256},
		{Size: 8192, BlockSize: 8192},
		{Size: 4096, BlockSize: 4096 * 2},
		{Size: 4096 * 3, BlockSize: 4096, Workers: -1},
		{Size: 512, Connections: -2},
		{Size: 512, Timeout: -time.Second},
		{Size: 4096 + 512, BlockSize: 4096},
	}
	for _, o := range bad {
		if _, err := o.withDefaults(); err == nil {
			t.Errorf("%+v accepted", o)
		}
	}
	if _, err := (Options{Size: 8192, BlockSize: 4096}).withDefaults(); err != nil {
		t.Errorf("4096-byte blocks: %v", err)
	}
}

func TestDeviceFlags(t *testing.T) {
	tests := []struct {
		o    Options
		want uint32
	}{
		{Options{}, 1 | 4},
		{Options{FUA: true}, 1 | 4 | 8},
		{Options{ReadOnly: true}, 1 | 2 | 4},
		{Options{Connections: 1}, 1 | 4},
		{Options{Connections: 4, FUA: true, ReadOnly: true}, 1 | 2 | 4 | 8 | 256},
		// A target that cannot flush: no SEND_FLUSH, and no FUA either.
		{Options{WriteThrough: true, FUA: true}, 1},
	}
	for _, tt := range tests {
		if got := tt.o.deviceFlags(); got != tt.want {
			t.Errorf("%+v: flags %#x, want %#x", tt.o, got, tt.want)
		}
	}
}

func TestTimeoutSeconds(t *testing.T) {
	for d, want := range map[time.Duration]uint64{0: 0, time.Millisecond: 1, time.Second: 1, 1500 * time.Millisecond: 2, time.Hour: 3600} {
		if got := (Options{Timeout: d}).timeoutSeconds(); got != want {
			t.Errorf("timeout %v: %d s, want %d", d, got, want)
		}
	}
}

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

func TestBufferPool(t *testing.T) {
	tests := []struct{ n, class int }{
		{replySize, 0},
		{replySize + 4096, 0},
		{replySize + 4097, 1},
		{replySize + 8192, 1},
		{replySize + 1<<20, 8},
		{replySize + MaxRequestLength, numClasses - 1},
		{MaxRequestLength, numClasses - 1},
	}
	for _, tt := range tests {
		if got := class(tt.n); got != tt.class {
			t.Errorf("class(%d) = %d, want %d", tt.n, got, tt.class)
		}
		if classSize(tt.class) < tt.n {
			t.Errorf("class %d holds %d bytes, less than %d", tt.class, classSize(tt.class), tt.n)
		}
	}

	var p bufferPool
	b := p.get(replySize + 4096)
	if len(*b) != replySize+4096 || cap(*b) != classSize(0) {
		t.Fatalf("get: len %d cap %d", len(*b), cap(*b))
	}
	p.put(b)
	allocs := testing.AllocsPerRun(100, func() {
		b := p.get(replySize + 3000)
		p.put(b)
	})
	if allocs != 0 && !raceEnabled {
		t.Errorf("get+put allocates %v times", allocs)
	}
	// Oversized requests are refused before they get here; if one did,
	// it gets a plain buffer that the pool then drops.
	huge := p.get(2*MaxRequestLength + replySize)
	if len(*huge) != 2*MaxRequestLength+replySize {
		t.Errorf("huge get: len %d", len(*huge))
	}
	p.put(huge)
}
