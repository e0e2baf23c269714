//go:build !unix

package nbdtest

import (
	"net"
	"testing"
)

// SocketPair falls back to net.Pipe where there are no socketpairs.
func SocketPair(t testing.TB) (net.Conn, net.Conn) {
	return net.Pipe()
}
