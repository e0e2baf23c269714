//go:build unix

package nbdtest

import (
	"net"
	"os"
	"syscall"
	"testing"
)

// SocketPair returns the two ends of an AF_UNIX stream socketpair, the
// kind of socket Attach gives the kernel: buffered, unlike net.Pipe.
func SocketPair(t testing.TB) (net.Conn, net.Conn) {
	t.Helper()
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	var conns [2]net.Conn
	for i, fd := range fds {
		f := os.NewFile(uintptr(fd), "socketpair")
		c, err := net.FileConn(f)
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		conns[i] = c
	}
	return conns[0], conns[1]
}
