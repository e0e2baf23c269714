package rawport

import (
	"testing"

	"github.com/goaoe/goaoe/internal/testbed"
	"golang.org/x/sys/unix"
)

// TestSocketBuffers checks that a Port's socket got the buffers it asks
// for: the kernel defaults (about 200 KiB each way) hold one target's
// window of jumbo frames at most, and a full send buffer loses frames.
func TestSocketBuffers(t *testing.T) {
	bed := testbed.New(t, 1500)
	p, err := Open(bed.HostIface())
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { p.Close() })
	for _, c := range []struct {
		name string
		opt  int
		want int
	}{{"SO_SNDBUF", unix.SO_SNDBUF, WriteBufferSize}, {"SO_RCVBUF", unix.SO_RCVBUF, ReadBufferSize}} {
		var got int
		var gerr error
		if err := p.raw.Control(func(fd uintptr) { got, gerr = unix.GetsockoptInt(int(fd), unix.SOL_SOCKET, c.opt) }); err != nil || gerr != nil {
			t.Fatalf("getsockopt %s: %v %v", c.name, err, gerr)
		}
		// The kernel doubles what was set, for its bookkeeping.
		if got < c.want {
			t.Errorf("%s is %d bytes, want at least %d", c.name, got, c.want)
		}
	}
}
