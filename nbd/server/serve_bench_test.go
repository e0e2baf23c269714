package server_test

import (
	"encoding/binary"
	"io"
	"testing"

	"github.com/goaoe/goaoe/internal/nbdtest"
	"github.com/goaoe/goaoe/nbd/server"
)

// nullBackend does no work, so that benchmarks measure Serve alone.
type nullBackend struct{}

func (nullBackend) ReadAt(p []byte, off int64) (int, error)  { return len(p), nil }
func (nullBackend) WriteAt(p []byte, off int64) (int, error) { return len(p), nil }
func (nullBackend) Flush() error                             { return nil }

func BenchmarkServeRead4K(b *testing.B)    { benchmarkServe(b, server.CmdRead, 4096) }
func BenchmarkServeWrite4K(b *testing.B)   { benchmarkServe(b, server.CmdWrite, 4096) }
func BenchmarkServeRead128K(b *testing.B)  { benchmarkServe(b, server.CmdRead, 128<<10) }
func BenchmarkServeWrite128K(b *testing.B) { benchmarkServe(b, server.CmdWrite, 128<<10) }
func BenchmarkServeFlush(b *testing.B)     { benchmarkServe(b, server.CmdFlush, 0) }

// benchmarkServe keeps 32 requests in flight, like a busy kernel queue,
// with a client that itself allocates nothing per request, so that allocs/op
// is Serve's own.
func benchmarkServe(b *testing.B, cmd server.Command, n int) {
	const depth = 32
	const size = 1 << 30
	srv, client := nbdtest.SocketPair(b)
	defer client.Close()
	result := make(chan error, 1)
	go func() {
		result <- server.Serve(b.Context(), srv, nullBackend{}, server.Options{Size: size})
		srv.Close()
	}()

	tokens := make(chan struct{}, depth)
	for range depth {
		tokens <- struct{}{}
	}
	received := make(chan error, 1)
	go func() {
		hdr := make([]byte, server.ReplySize)
		data := make([]byte, n)
		for range b.N {
			if _, err := io.ReadFull(client, hdr); err != nil {
				received <- err
				return
			}
			if cmd == server.CmdRead && binary.BigEndian.Uint32(hdr[4:8]) == 0 {
				if _, err := io.ReadFull(client, data); err != nil {
					received <- err
					return
				}
			}
			tokens <- struct{}{}
		}
		received <- nil
	}()

	req := make([]byte, server.RequestSize, server.RequestSize+n)
	if cmd == server.CmdWrite {
		req = req[:server.RequestSize+n]
	}
	b.SetBytes(int64(n))
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		<-tokens
		r := server.Request{Command: cmd, Handle: uint64(i), Offset: uint64(i%1024) * uint64(n), Length: uint32(n)}
		_, _ = r.AppendBinary(req[:0])
		if _, err := client.Write(req); err != nil {
			b.Fatal(err)
		}
	}
	if err := <-received; err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
	disc, _ := server.Request{Command: server.CmdDisc}.MarshalBinary()
	if _, err := client.Write(disc); err != nil {
		b.Fatal(err)
	}
	if err := <-result; err != nil {
		b.Fatal(err)
	}
}
