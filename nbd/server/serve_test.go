package server_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"testing/synctest"

	"github.com/goaoe/goaoe/internal/nbdtest"
	"github.com/goaoe/goaoe/nbd/server"
)

const testSize = 4 << 20

// TestServeConcurrent drives many clients at once, each owning a region of
// the disk, with random reads, writes, FUA writes and flushes: every reply
// must match one request, reads must return what was written, and a write
// must be in the backend by the time it is acknowledged.
func TestServeConcurrent(t *testing.T) { bothPaths(t, testServeConcurrent) }

func testServeConcurrent(t *testing.T, wrap func(server.Backend) server.Backend) {
	const (
		clients = 16
		ops     = 200
		region  = testSize / clients
	)
	mem := nbdtest.NewMemBackend(testSize)
	srv, client := nbdtest.SocketPair(t)
	peer, result := serveConn(t, srv, client, wrap(mem), server.Options{Size: testSize, FUA: true, Workers: 8})

	var wg sync.WaitGroup
	for id := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(id), 42))
			base := int64(id) * region
			model := make([]byte, region)
			for range ops {
				n := (1 + rng.IntN(64)) * 512
				off := int64(rng.IntN((region-n)/512+1) * 512)
				req := server.Request{Offset: uint64(base + off), Length: uint32(n)}
				switch op := rng.IntN(10); {
				case op < 4: // write, a third of them FUA
					req.Command = server.CmdWrite
					if rng.IntN(3) == 0 {
						req.Flags = server.FlagFUA
					}
					payload := make([]byte, n)
					for i := range payload {
						payload[i] = byte(rng.Uint32())
					}
					errno, _, err := peer.Do(req, payload)
					if err != nil || errno != 0 {
						t.Errorf("client %d: write at %d: errno %d, %v", id, req.Offset, errno, err)
						return
					}
					// Acknowledged means stored: the backend must hold it now.
					if got := mem.Snapshot(int64(req.Offset), n); !bytes.Equal(got, payload) {
						t.Errorf("client %d: write at %d acknowledged before it reached the backend", id, req.Offset)
						return
					}
					copy(model[off:], payload)
				case op < 9:
					req.Command = server.CmdRead
					errno, data, err := peer.Do(req, nil)
					if err != nil || errno != 0 {
						t.Errorf("client %d: read at %d: errno %d, %v", id, req.Offset, errno, err)
						return
					}
					if !bytes.Equal(data, model[off:off+int64(n)]) {
						t.Errorf("client %d: read at %d returned other data than was written", id, req.Offset)
						return
					}
				default:
					errno, _, err := peer.Do(server.Request{Command: server.CmdFlush}, nil)
					if err != nil || errno != 0 {
						t.Errorf("client %d: flush: errno %d, %v", id, errno, err)
						return
					}
				}
			}
			if got := mem.Snapshot(base, region); !bytes.Equal(got, model) {
				t.Errorf("client %d: backend region differs from what was written", id)
			}
		}()
	}
	wg.Wait()
	peer.Disc()
	if err := <-result; err != nil {
		t.Fatalf("Serve after DISC: %v", err)
	}
	peer.Finish()
	if len(peer.RepliedOrder()) < clients*ops {
		t.Errorf("got %d replies for %d requests", len(peer.RepliedOrder()), clients*ops)
	}
}

// TestServeOutOfOrder checks that a slow request does not hold back a fast
// one, and that both answers reach the right requests.
func TestServeOutOfOrder(t *testing.T) {
	mem := nbdtest.NewMemBackend(testSize)
	copy(mem.Data[0:], bytes.Repeat([]byte{0xAA}, 4096))
	copy(mem.Data[8192:], bytes.Repeat([]byte{0xBB}, 4096))
	release := make(chan struct{})
	mem.OnRead = func(off int64, n int) error {
		if off == 0 {
			<-release
		}
		return nil
	}
	srv, client := nbdtest.SocketPair(t)
	peer, result := serveConn(t, srv, client, mem, server.Options{Size: testSize})

	slow := peer.Start(server.Request{Command: server.CmdRead, Offset: 0, Length: 4096}, nil)
	fast := peer.Start(server.Request{Command: server.CmdRead, Offset: 8192, Length: 4096}, nil)
	errno, data, err := peer.Wait(fast)
	if err != nil || errno != 0 || !bytes.Equal(data, bytes.Repeat([]byte{0xBB}, 4096)) {
		t.Fatalf("fast read: errno %d, %v, data ok %v", errno, err, bytes.Equal(data, bytes.Repeat([]byte{0xBB}, 4096)))
	}
	if peer.IsDone(slow) {
		t.Fatal("slow read answered while its backend call was blocked")
	}
	close(release)
	errno, data, err = peer.Wait(slow)
	if err != nil || errno != 0 || !bytes.Equal(data, bytes.Repeat([]byte{0xAA}, 4096)) {
		t.Fatalf("slow read: errno %d, %v", errno, err)
	}
	if got, want := peer.RepliedOrder(), []uint64{fast.Req.Handle, slow.Req.Handle}; !slices.Equal(got, want) {
		t.Errorf("reply order %x, want %x", got, want)
	}
	peer.Disc()
	if err := <-result; err != nil {
		t.Fatal(err)
	}
	peer.Finish()
}

// TestServeBackendErrors checks that a failing backend call fails that
// request only, with the errno the error carries or EIO.
func TestServeBackendErrors(t *testing.T) { bothPaths(t, testServeBackendErrors) }

func testServeBackendErrors(t *testing.T, wrap func(server.Backend) server.Backend) {
	failures := map[int64]error{
		0:    errors.New("aoe: target timed out"),
		512:  fmt.Errorf("aoe: write: %w", syscall.ENOSPC),
		1024: syscall.EROFS,
		1536: syscall.ENOENT, // no NBD equivalent
	}
	wantErrno := map[int64]uint32{0: 5, 512: 28, 1024: 1, 1536: 5}
	mem := nbdtest.NewMemBackend(testSize)
	fail := func(off int64, n int) error { return failures[off] }
	mem.OnRead, mem.OnWrite = fail, fail

	var mu sync.Mutex
	var reported []string
	opts := server.Options{Size: testSize, OnError: func(op string, off int64, length int, err error) {
		mu.Lock()
		defer mu.Unlock()
		reported = append(reported, fmt.Sprintf("%s %d %d", op, off, length))
	}}
	srv, client := nbdtest.SocketPair(t)
	peer, result := serveConn(t, srv, client, wrap(mem), opts)

	var calls []*nbdtest.Call
	for _, cmd := range []server.Command{server.CmdRead, server.CmdWrite} {
		for off := int64(0); off < 4096; off += 512 {
			var payload []byte
			if cmd == server.CmdWrite {
				payload = make([]byte, 512)
			}
			calls = append(calls, peer.Start(server.Request{Command: cmd, Offset: uint64(off), Length: 512}, payload))
		}
	}
	for _, c := range calls {
		errno, data, err := peer.Wait(c)
		if err != nil {
			t.Fatal(err)
		}
		if want := wantErrno[int64(c.Req.Offset)]; errno != want {
			t.Errorf("%v at %d: errno %d, want %d", c.Req.Command, c.Req.Offset, errno, want)
		}
		if errno != 0 && data != nil {
			t.Errorf("%v at %d: data after an error reply", c.Req.Command, c.Req.Offset)
		}
	}
	mu.Lock()
	if len(reported) != 2*len(failures) {
		t.Errorf("OnError saw %q, want %d failures", reported, 2*len(failures))
	}
	mu.Unlock()

	// A flush failure fails the flush, and a FUA write whose flush fails is
	// not acknowledged as written.
	mem.OnFlush = func() error { return errors.New("aoe: flush failed") }
	if errno, _, _ := peer.Do(server.Request{Command: server.CmdFlush}, nil); errno != 5 {
		t.Errorf("failed flush: errno %d, want 5", errno)
	}
	if errno, _, _ := peer.Do(server.Request{Command: server.CmdWrite, Flags: server.FlagFUA, Offset: 8192, Length: 512}, make([]byte, 512)); errno != 5 {
		t.Errorf("FUA write with failed flush: errno %d, want 5", errno)
	}
	mem.OnFlush = nil
	peer.Disc()
	if err := <-result; err != nil {
		t.Fatal(err)
	}
	peer.Finish()
}

// shortBackend reads and writes less than asked without saying why.
type shortBackend struct{ nbdtest.MemBackend }

func (s *shortBackend) ReadAt(p []byte, off int64) (int, error)  { return len(p) / 2, nil }
func (s *shortBackend) WriteAt(p []byte, off int64) (int, error) { return len(p) / 2, nil }

func TestServeShortTransfersFail(t *testing.T) { bothPaths(t, testServeShortTransfersFail) }

func testServeShortTransfersFail(t *testing.T, wrap func(server.Backend) server.Backend) {
	srv, client := nbdtest.SocketPair(t)
	peer, result := serveConn(t, srv, client, wrap(&shortBackend{}), server.Options{Size: testSize})
	if errno, _, _ := peer.Do(server.Request{Command: server.CmdRead, Length: 4096}, nil); errno != 5 {
		t.Errorf("short read: errno %d, want EIO", errno)
	}
	if errno, _, _ := peer.Do(server.Request{Command: server.CmdWrite, Length: 4096}, make([]byte, 4096)); errno != 5 {
		t.Errorf("short write: errno %d, want EIO", errno)
	}
	peer.Disc()
	if err := <-result; err != nil {
		t.Fatal(err)
	}
	peer.Finish()
}

// TestServeReadOnly checks that writes are refused with EPERM without the
// backend seeing them, and that their payload is skipped.
func TestServeReadOnly(t *testing.T) {
	mem := nbdtest.NewMemBackend(testSize)
	copy(mem.Data, "hello")
	var mu sync.Mutex // OnError runs on a worker; the socket is no synchronisation for the race detector
	var refused []error
	opts := server.Options{Size: testSize, ReadOnly: true, OnError: func(_ string, _ int64, _ int, err error) {
		mu.Lock()
		defer mu.Unlock()
		refused = append(refused, err)
	}}
	srv, client := nbdtest.SocketPair(t)
	peer, result := serveConn(t, srv, client, mem, opts)

	if errno, _, _ := peer.Do(server.Request{Command: server.CmdWrite, Length: 4096}, bytes.Repeat([]byte{1}, 4096)); errno != 1 {
		t.Errorf("write on read-only: errno %d, want EPERM (1)", errno)
	}
	if errno, _, _ := peer.Do(server.Request{Command: server.CmdWrite, Flags: server.FlagFUA, Offset: 4096, Length: 512}, make([]byte, 512)); errno != 1 {
		t.Errorf("FUA write on read-only: errno %d, want EPERM (1)", errno)
	}
	if errno, _, _ := peer.Do(server.Request{Command: server.CmdFlush}, nil); errno != 0 {
		t.Errorf("flush on read-only: errno %d, want 0", errno)
	}
	errno, data, err := peer.Do(server.Request{Command: server.CmdRead, Length: 512}, nil)
	if err != nil || errno != 0 || !bytes.HasPrefix(data, []byte("hello")) {
		t.Errorf("read after refused write: errno %d, %v, %d bytes", errno, err, len(data))
	}
	peer.Disc()
	if err := <-result; err != nil {
		t.Fatal(err)
	}
	peer.Finish()
	if n := mem.Writes.Load(); n != 0 {
		t.Errorf("backend saw %d writes", n)
	}
	if n := mem.Flushes.Load(); n != 0 {
		t.Errorf("backend saw %d flushes", n)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(refused) != 2 || !errors.Is(refused[0], server.ErrReadOnly) || !errors.Is(refused[1], server.ErrReadOnly) {
		t.Errorf("OnError got %v, want server.ErrReadOnly twice", refused)
	}
}

// TestServeRefusals checks each malformed request: the right errno, no
// backend call, and the stream still in step afterwards (a READ that
// follows each one is answered normally).
func TestServeRefusals(t *testing.T) {
	const size = 1 << 20
	tests := []struct {
		name    string
		req     server.Request
		payload int // bytes of WRITE payload actually sent
		errno   uint32
		err     error
	}{
		{"read past the end", server.Request{Command: server.CmdRead, Offset: size, Length: 512}, 0, 22, server.ErrOutOfRange},
		{"read straddling the end", server.Request{Command: server.CmdRead, Offset: size - 512, Length: 1024}, 0, 22, server.ErrOutOfRange},
		{"offset that overflows", server.Request{Command: server.CmdRead, Offset: math.MaxUint64 - 511, Length: 1024}, 0, 22, server.ErrOutOfRange},
		{"unaligned offset", server.Request{Command: server.CmdRead, Offset: 100, Length: 512}, 0, 22, server.ErrUnaligned},
		{"unaligned length", server.Request{Command: server.CmdRead, Length: 100}, 0, 22, server.ErrUnaligned},
		{"write past the end", server.Request{Command: server.CmdWrite, Offset: size, Length: 4096}, 4096, 22, server.ErrOutOfRange},
		{"unaligned write", server.Request{Command: server.CmdWrite, Offset: 0, Length: 1000}, 1000, 22, server.ErrUnaligned},
		{"read too long", server.Request{Command: server.CmdRead, Length: 1 << 30}, 0, 22, server.ErrTooLong},
		{"write too long", server.Request{Command: server.CmdWrite, Length: server.MaxRequestLength + 512}, server.MaxRequestLength + 512, 22, server.ErrTooLong},
		{"trim", server.Request{Command: server.CmdTrim, Length: 4096}, 0, 22, server.ErrUnsupported},
		{"write zeroes", server.Request{Command: server.CmdWriteZeroes, Flags: server.FlagNoHole, Length: 4096}, 0, 22, server.ErrUnsupported},
		{"unknown command", server.Request{Command: 9, Length: 4096}, 0, 22, server.ErrUnsupported},
		{"unknown flag", server.Request{Command: server.CmdRead, Flags: 1 << 3, Length: 512}, 0, 22, server.ErrUnsupported},
		{"zero-length read", server.Request{Command: server.CmdRead, Offset: 512}, 0, 0, nil},
		{"zero-length write", server.Request{Command: server.CmdWrite, Offset: 512}, 0, 0, nil},
	}
	mem := nbdtest.NewMemBackend(size)
	copy(mem.Data[4096:], "in step")
	var (
		mu  sync.Mutex
		got error // the last refusal OnError saw
	)
	opts := server.Options{Size: size, OnError: func(_ string, _ int64, _ int, err error) {
		mu.Lock()
		defer mu.Unlock()
		got = err
	}}
	lastRefusal := func() error {
		mu.Lock()
		defer mu.Unlock()
		err := got
		got = nil
		return err
	}
	srv, client := nbdtest.SocketPair(t)
	peer, result := serveConn(t, srv, client, mem, opts)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reads, writes := mem.Reads.Load(), mem.Writes.Load()
			errno, data, err := peer.Do(tt.req, make([]byte, tt.payload))
			if err != nil {
				t.Fatal(err)
			}
			if got := lastRefusal(); errno != tt.errno || !errors.Is(got, tt.err) || (tt.err == nil && got != nil) {
				t.Errorf("errno %d, OnError %v; want %d, %v", errno, got, tt.errno, tt.err)
			}
			if len(data) != 0 {
				t.Errorf("%d bytes of data in the reply", len(data))
			}
			if mem.Reads.Load() != reads || mem.Writes.Load() != writes {
				t.Error("the backend was called")
			}
			errno, data, err = peer.Do(server.Request{Command: server.CmdRead, Offset: 4096, Length: 512}, nil)
			if err != nil || errno != 0 || !bytes.HasPrefix(data, []byte("in step")) {
				t.Fatalf("stream out of step after the refusal: errno %d, %v", errno, err)
			}
		})
	}
	peer.Disc()
	if err := <-result; err != nil {
		t.Fatal(err)
	}
	peer.Finish()
}

// TestServeDiscDrains checks that after DISC, Serve waits for the request
// in flight, answers it, flushes the write it acknowledged, then returns.
func TestServeDiscDrains(t *testing.T) { bothPaths(t, testServeDiscDrains) }

func testServeDiscDrains(t *testing.T, wrap func(server.Backend) server.Backend) {
	synctest.Test(t, func(t *testing.T) {
		mem := nbdtest.NewMemBackend(testSize)
		release := make(chan struct{})
		mem.OnWrite = func(int64, int) error { <-release; return nil }
		srv, client := net.Pipe()
		peer, result := serveConn(t, srv, client, wrap(mem), server.Options{Size: testSize})

		w := peer.Start(server.Request{Command: server.CmdWrite, Length: 4096}, make([]byte, 4096))
		peer.Disc()
		synctest.Wait() // everyone is blocked: the write in the backend, Serve draining
		select {
		case err := <-result:
			t.Fatalf("Serve returned (%v) with a write in flight", err)
		default:
		}
		if peer.IsDone(w) {
			t.Fatal("write answered before the backend returned")
		}

		close(release)
		synctest.Wait()
		select {
		case err := <-result:
			if err != nil {
				t.Fatalf("Serve after DISC: %v", err)
			}
		default:
			t.Fatal("Serve still running after the last request was answered")
		}
		if errno, _, err := peer.Wait(w); err != nil || errno != 0 {
			t.Fatalf("write: errno %d, %v", errno, err)
		}
		if n := mem.Flushes.Load(); n != 1 {
			t.Errorf("%d flushes after DISC, want 1", n)
		}
		peer.Finish()
	})
}

// TestServeNoEarlyAck checks that a WRITE is acknowledged only after
// WriteAt returned, and a FUA WRITE only after Flush returned too.
func TestServeNoEarlyAck(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		mem := nbdtest.NewMemBackend(testSize)
		writeGate, flushGate := make(chan struct{}), make(chan struct{})
		mem.OnWrite = func(int64, int) error { <-writeGate; return nil }
		mem.OnFlush = func() error { <-flushGate; return nil }
		srv, client := net.Pipe()
		peer, result := serveConn(t, srv, client, mem, server.Options{Size: testSize, FUA: true})

		w := peer.Start(server.Request{Command: server.CmdWrite, Flags: server.FlagFUA, Length: 512}, make([]byte, 512))
		synctest.Wait()
		if peer.IsDone(w) {
			t.Fatal("FUA write answered while WriteAt was blocked")
		}
		close(writeGate)
		synctest.Wait()
		if peer.IsDone(w) {
			t.Fatal("FUA write answered while its Flush was blocked")
		}
		close(flushGate)
		synctest.Wait()
		if !peer.IsDone(w) || w.Errno != 0 {
			t.Fatalf("FUA write not answered after WriteAt and Flush returned (errno %d)", w.Errno)
		}
		peer.Disc()
		if err := <-result; err != nil {
			t.Fatal(err)
		}
		if n := mem.Flushes.Load(); n != 1 {
			t.Errorf("%d flushes, want 1: the FUA flush covered the only write", n)
		}
		peer.Finish()
	})
}

// TestServeContextCancel checks that cancelling stops reading but still
// answers what was read.
func TestServeContextCancel(t *testing.T) { bothPaths(t, testServeContextCancel) }

func testServeContextCancel(t *testing.T, wrap func(server.Backend) server.Backend) {
	synctest.Test(t, func(t *testing.T) {
		mem := nbdtest.NewMemBackend(testSize)
		release := make(chan struct{})
		mem.OnRead = func(int64, int) error { <-release; return nil }
		ctx, cancel := context.WithCancel(t.Context())
		srv, client := net.Pipe()
		peer, result := serveConnCtx(t, ctx, srv, client, wrap(mem), server.Options{Size: testSize})

		r := peer.Start(server.Request{Command: server.CmdRead, Length: 512}, nil)
		synctest.Wait()
		cancel()
		synctest.Wait()
		select {
		case err := <-result:
			t.Fatalf("Serve returned (%v) with a read in flight", err)
		default:
		}
		close(release)
		if err := <-result; !errors.Is(err, context.Canceled) {
			t.Fatalf("Serve after cancel: %v, want context.Canceled", err)
		}
		if errno, _, err := peer.Wait(r); err != nil || errno != 0 {
			t.Fatalf("read in flight at cancel: errno %d, %v", errno, err)
		}
		peer.Finish()
	})
}

// TestServeBrokenPeer checks that a broken stream ends Serve with a
// descriptive error, after answering what was already read.
func TestServeBrokenPeer(t *testing.T) {
	write := func(r server.Request, payload int) []byte {
		b, _ := r.MarshalBinary()
		return append(b, make([]byte, payload)...)
	}
	badMagic := write(server.Request{Command: server.CmdRead, Length: 512}, 0)
	badMagic[0] ^= 0xff
	tests := []struct {
		name  string
		bytes []byte
		is    []error
		text  string
	}{
		{"bad magic", badMagic, []error{server.ErrProtocol}, "magic"},
		{"truncated header", write(server.Request{Command: server.CmdRead, Length: 512}, 0)[:10], []error{server.ErrProtocol, io.ErrUnexpectedEOF}, "truncated request header"},
		{"truncated payload", write(server.Request{Command: server.CmdWrite, Length: 4096}, 100), []error{server.ErrProtocol, io.ErrUnexpectedEOF}, "truncated write payload"},
		{"truncated refused payload", write(server.Request{Command: server.CmdWrite, Offset: 1, Length: 4096}, 100), []error{server.ErrProtocol, io.ErrUnexpectedEOF}, "truncated write payload"},
		{"closed between requests", nil, []error{io.EOF}, "closed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mem := nbdtest.NewMemBackend(testSize)
			release := make(chan struct{})
			mem.OnRead = func(int64, int) error { <-release; return nil }
			srv, client := nbdtest.SocketPair(t)
			peer, result := serveConn(t, srv, client, mem, server.Options{Size: testSize})

			inFlight := peer.Start(server.Request{Command: server.CmdRead, Length: 512}, nil)
			peer.Send(tt.bytes)
			client.(interface{ CloseWrite() error }).CloseWrite()
			close(release)
			err := <-result
			for _, target := range tt.is {
				if !errors.Is(err, target) {
					t.Errorf("Serve: %v; want it to wrap %v", err, target)
				}
			}
			if err == nil || !strings.Contains(err.Error(), tt.text) {
				t.Errorf("Serve: %v; want it to mention %q", err, tt.text)
			}
			if errno, _, err := peer.Wait(inFlight); err != nil || errno != 0 {
				t.Errorf("request read before the breakage: errno %d, %v", errno, err)
			}
			peer.Finish()
		})
	}
}

// TestServeReplyFailure checks that a reply that cannot be sent ends Serve
// with that error instead of hanging.
func TestServeReplyFailure(t *testing.T) {
	mem := nbdtest.NewMemBackend(testSize)
	release := make(chan struct{})
	mem.OnRead = func(int64, int) error { <-release; return nil }
	srv, client := nbdtest.SocketPair(t)
	peer, result := serveConn(t, srv, client, mem, server.Options{Size: testSize})
	peer.Start(server.Request{Command: server.CmdRead, Length: 512}, nil)
	client.(interface{ CloseRead() error }).CloseRead()
	close(release)
	// The reply fails (or is lost); Serve must stop, not wait for requests.
	client.Close()
	if err := <-result; err == nil {
		t.Fatal("Serve returned nil after the peer went away without DISC")
	}
}

func TestServeRejectsBadOptions(t *testing.T) {
	srv, client := nbdtest.SocketPair(t)
	defer srv.Close()
	defer client.Close()
	if err := server.Serve(t.Context(), srv, nbdtest.NewMemBackend(1024), server.Options{Size: 1000}); err == nil {
		t.Fatal("Serve accepted a size that is not a multiple of the block size")
	}
}

// choppyConn writes each reply in small pieces, yielding in between, and
// records whether two Writes ever overlapped: with a plain io.Writer that
// would interleave replies, so Serve must never let it happen.
type choppyConn struct {
	net.Conn
	active  atomic.Int32
	overlap atomic.Bool
}

func (c *choppyConn) Write(b []byte) (int, error) {
	if c.active.Add(1) > 1 {
		c.overlap.Store(true)
	}
	defer c.active.Add(-1)
	n := 0
	for len(b) > 0 {
		k := min(len(b), 7)
		m, err := c.Conn.Write(b[:k])
		n += m
		if err != nil {
			return n, err
		}
		b = b[k:]
		runtime.Gosched()
	}
	return n, nil
}

func TestServeRepliesNeverInterleave(t *testing.T) { bothPaths(t, testServeRepliesNeverInterleave) }

func testServeRepliesNeverInterleave(t *testing.T, wrap func(server.Backend) server.Backend) {
	mem := nbdtest.NewMemBackend(testSize)
	srv, client := nbdtest.SocketPair(t)
	conn := &choppyConn{Conn: srv}
	peer, result := serveConn(t, conn, client, wrap(mem), server.Options{Size: testSize, Workers: 16})
	var calls []*nbdtest.Call
	for i := range 200 {
		cmd := []server.Command{server.CmdRead, server.CmdWrite, server.CmdFlush}[i%3]
		var payload []byte
		if cmd == server.CmdWrite {
			payload = make([]byte, 512)
		}
		calls = append(calls, peer.Start(server.Request{Command: cmd, Offset: uint64(i) * 512, Length: uint32(len(payload))}, payload))
	}
	for _, c := range calls {
		if errno, _, err := peer.Wait(c); err != nil || errno != 0 {
			t.Fatalf("%v: errno %d, %v", c.Req.Command, errno, err)
		}
	}
	peer.Disc()
	if err := <-result; err != nil {
		t.Fatal(err)
	}
	peer.Finish()
	if conn.overlap.Load() {
		t.Error("two replies were written at the same time")
	}
}

// TestServeDiscThenHangUp is nbd-client -d: DISC, then the kernel shuts
// the socket at once (CLEAR_SOCK) while a write is still in the backend.
// The reply cannot be delivered, and that is no error; the write must
// still complete and be flushed.
func TestServeDiscThenHangUp(t *testing.T) { bothPaths(t, testServeDiscThenHangUp) }

func testServeDiscThenHangUp(t *testing.T, wrap func(server.Backend) server.Backend) {
	mem := nbdtest.NewMemBackend(testSize)
	entered, release := make(chan struct{}), make(chan struct{})
	mem.OnWrite = func(int64, int) error { close(entered); <-release; return nil }
	srv, client := nbdtest.SocketPair(t)
	peer, result := serveConn(t, srv, client, wrap(mem), server.Options{Size: testSize})

	peer.Start(server.Request{Command: server.CmdWrite, Length: 512}, bytes.Repeat([]byte{7}, 512))
	peer.Await(entered)
	peer.Disc()
	client.Close()
	close(release)
	if err := <-result; err != nil {
		t.Fatalf("Serve after DISC and hang-up: %v", err)
	}
	if got := mem.Snapshot(0, 512); !bytes.Equal(got, bytes.Repeat([]byte{7}, 512)) {
		t.Error("the write in flight was not completed")
	}
	if mem.Flushes.Load() != 1 {
		t.Errorf("%d flushes, want 1", mem.Flushes.Load())
	}
}

// TestServeLiveSize: a device resized while it serves is checked against
// its size of the moment, grown or shrunk, not the size it started with.
func TestServeLiveSize(t *testing.T) {
	const size = 1 << 20
	mem := nbdtest.NewMemBackend(2 * size)
	var live atomic.Int64
	live.Store(size)
	srv, client := nbdtest.SocketPair(t)
	peer, result := serveConn(t, srv, client, mem, server.Options{Size: size, LiveSize: &live})
	read := func(off uint64) uint32 {
		t.Helper()
		errno, _, err := peer.Do(server.Request{Command: server.CmdRead, Offset: off, Length: 512}, nil)
		if err != nil {
			t.Fatal(err)
		}
		return errno
	}
	if errno := read(size); errno != 22 {
		t.Fatalf("read past the end before the resize: errno %d, want 22", errno)
	}
	live.Store(2 * size)
	if errno := read(size); errno != 0 {
		t.Fatalf("read in the grown part: errno %d, want 0", errno)
	}
	live.Store(size / 2)
	if errno := read(size / 2); errno != 22 {
		t.Fatalf("read past the end after a shrink: errno %d, want 22", errno)
	}
	peer.Disc()
	if err := <-result; err != nil {
		t.Fatal(err)
	}
	peer.Finish()
}
