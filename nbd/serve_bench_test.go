package nbd

import (
	"encoding/binary"
	"io"
	"testing"
)

// nullBackend does no work, so that benchmarks measure Serve alone.
type nullBackend struct{}

func (nullBackend) ReadAt(p []byte, off int64) (int, error)  { return len(p), nil }
func (nullBackend) WriteAt(p []byte, off int64) (int, error) { return len(p), nil }
func (nullBackend) Flush() error                             { return nil }

func BenchmarkServeRead4K(b *testing.B)    { benchmarkServe(b, CmdRead, 4096) }
func BenchmarkServeWrite4K(b *testing.B)   { benchmarkServe(b, CmdWrite, 4096) }
func BenchmarkServeRead128K(b *testing.B)  { benchmarkServe(b, CmdRead, 128<<10) }
func BenchmarkServeWrite128K(b *testing.B) { benchmarkServe(b, CmdWrite, 128<<10) }
func BenchmarkServeFlush(b *testing.B)     { benchmarkServe(b, CmdFlush, 0) }

// benchmarkServe keeps 32 requests in flight, like a busy kernel queue,
// with a client that itself allocates nothing per request, so that allocs/op
// is Serve's own.
func benchmarkServe(b *testing.B, cmd Command, n int) {
	const depth = 32
	const size = 1 << 30
	server, client := socketPair(b)
	defer client.Close()
	result := make(chan error, 1)
	go func() {
		result <- Serve(b.Context(), server, nullBackend{}, Options{Size: size})
		server.Close()
	}()

	tokens := make(chan struct{}, depth)
	for range depth {
		tokens <- struct{}{}
	}
	received := make(chan error, 1)
	go func() {
		hdr := make([]byte, replySize)
		data := make([]byte, n)
		for range b.N {
			if _, err := io.ReadFull(client, hdr); err != nil {
				received <- err
				return
			}
			if cmd == CmdRead && binary.BigEndian.Uint32(hdr[4:8]) == 0 {
				if _, err := io.ReadFull(client, data); err != nil {
					received <- err
					return
				}
			}
			tokens <- struct{}{}
		}
		received <- nil
	}()

	req := make([]byte, requestSize, requestSize+n)
	if cmd == CmdWrite {
		req = req[:requestSize+n]
	}
	b.SetBytes(int64(n))
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		<-tokens
		r := Request{Command: cmd, Handle: uint64(i), Offset: uint64(i%1024) * uint64(n), Length: uint32(n)}
		_, _ = r.AppendBinary(req[:0])
		if _, err := client.Write(req); err != nil {
			b.Fatal(err)
		}
	}
	if err := <-received; err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
	disc, _ := Request{Command: CmdDisc}.MarshalBinary()
	if _, err := client.Write(disc); err != nil {
		b.Fatal(err)
	}
	if err := <-result; err != nil {
		b.Fatal(err)
	}
}
