package server_test

import (
	"context"
	"net"
	"testing"

	"github.com/goaoe/goaoe/internal/nbdtest"
	"github.com/goaoe/goaoe/nbd/server"
)

// serveConn runs Serve on one end of a connection and returns a peer on
// the other end and Serve's result.
func serveConn(t testing.TB, srv, client net.Conn, b server.Backend, opts server.Options) (*nbdtest.Peer, <-chan error) {
	return serveConnCtx(t, context.Background(), srv, client, b, opts)
}

func serveConnCtx(t testing.TB, ctx context.Context, srv, client net.Conn, b server.Backend, opts server.Options) (*nbdtest.Peer, <-chan error) {
	t.Helper()
	result := make(chan error, 1)
	go func() {
		err := server.Serve(ctx, srv, b, opts)
		srv.Close() // as Attach does, so that a peer still sending is not left hanging
		result <- err
	}()
	t.Cleanup(func() { srv.Close(); client.Close() })
	return nbdtest.NewPeer(t, client), result
}
