//go:build !unix

package nbd

import (
	"net"
	"testing"
)

// socketPair falls back to net.Pipe where there are no socketpairs.
func socketPair(t testing.TB) (net.Conn, net.Conn) {
	return net.Pipe()
}
