package nbd

import (
	"testing"
	"time"

	"github.com/goaoe/goaoe/nbd/server"
)

func TestOptionsDefaults(t *testing.T) {
	o, err := Options{Server: server.Options{Size: 1 << 20}}.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	if o.Connections != 1 || o.Server.BlockSize != server.DefaultBlockSize {
		t.Errorf("defaults: connections %d, block size %d", o.Connections, o.Server.BlockSize)
	}
	bad := []Options{
		{},
		{Server: server.Options{Size: 1000}},
		{Server: server.Options{Size: 512}, Connections: -2},
		{Server: server.Options{Size: 512}, Timeout: -time.Second},
	}
	for _, o := range bad {
		if _, err := o.withDefaults(); err == nil {
			t.Errorf("%+v accepted", o)
		}
	}
}

func TestDeviceFlags(t *testing.T) {
	for n, want := range map[int]uint64{1: 1 | 4, 2: 1 | 4 | 256} {
		if got := (Options{Connections: n}).deviceFlags(); got != want {
			t.Errorf("%d connections: flags %#x, want %#x", n, got, want)
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
