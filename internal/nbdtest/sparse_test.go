package nbdtest_test

import (
	"bytes"
	"context"
	"errors"
	"testing"

	"github.com/goaoe/goaoe/internal/nbdtest"
	"github.com/goaoe/goaoe/nbd/server"
)

func TestSparseMemLazy(t *testing.T) {
	const size = 3*nbdtest.SparseChunk + 4096 // a short last piece
	m := nbdtest.NewSparseMem(size)
	if m.Allocated() != 0 {
		t.Fatalf("a new disk holds %d bytes", m.Allocated())
	}
	// Unwritten: zeros, and reading allocates nothing.
	p := bytes.Repeat([]byte{0xaa}, 8192)
	if n, err := m.ReadAt(p, nbdtest.SparseChunk-4096); n != len(p) || err != nil {
		t.Fatalf("ReadAt = %d, %v", n, err)
	}
	if !bytes.Equal(p, make([]byte, len(p))) || m.Allocated() != 0 {
		t.Fatalf("an unwritten disk reads non-zero or allocates (%d bytes)", m.Allocated())
	}
	// A write across a piece boundary allocates both pieces.
	w := bytes.Repeat([]byte{1, 2, 3, 4}, 2048)
	if n, err := m.WriteAt(w, nbdtest.SparseChunk-4096); n != len(w) || err != nil {
		t.Fatalf("WriteAt = %d, %v", n, err)
	}
	if got := m.Allocated(); got != 2*nbdtest.SparseChunk {
		t.Errorf("Allocated = %d after a write across two pieces, want %d", got, 2*nbdtest.SparseChunk)
	}
	// Read back with a margin either side: zeros, the data, zeros.
	back := make([]byte, len(w)+1024)
	if _, err := m.ReadAt(back, nbdtest.SparseChunk-4096-512); err != nil {
		t.Fatal(err)
	}
	want := append(append(make([]byte, 512), w...), make([]byte, 512)...)
	if !bytes.Equal(back, want) {
		t.Error("data read back differs from what was written")
	}
	// The short last piece: only as long as the disk.
	if _, err := m.WriteAt([]byte{9}, size-1); err != nil {
		t.Fatal(err)
	}
	if got := m.Allocated(); got != 2*nbdtest.SparseChunk+4096 {
		t.Errorf("Allocated = %d with the last (4 KiB) piece written, want %d", got, 2*nbdtest.SparseChunk+4096)
	}
	for _, c := range []struct {
		n   int
		off int64
	}{{1, size}, {2, size - 1}, {1, -1}} {
		if _, err := m.ReadAt(make([]byte, c.n), c.off); err == nil {
			t.Errorf("ReadAt(%d bytes at %d) of a %d-byte disk: no error", c.n, c.off, int64(size))
		}
		if _, err := m.WriteAt(make([]byte, c.n), c.off); err == nil {
			t.Errorf("WriteAt(%d bytes at %d) of a %d-byte disk: no error", c.n, c.off, int64(size))
		}
	}
}

// Through Serve, plain reads and writes take the started path and are
// answered in order.
func TestSparseMemServe(t *testing.T) {
	const size = 8 * nbdtest.SparseChunk
	m := nbdtest.NewSparseMem(size)
	ours, theirs := nbdtest.SocketPair(t)
	done := make(chan error, 1)
	go func() { done <- server.Serve(context.Background(), ours, m, server.Options{Size: size}) }()
	p := nbdtest.NewPeer(t, theirs)

	data := bytes.Repeat([]byte("goaoe-memdisk!"), 1<<16) // 896 KiB, across a piece boundary
	off := uint64(3*nbdtest.SparseChunk - 4096)
	if errno, _, err := p.Do(server.Request{Command: server.CmdWrite, Offset: off, Length: uint32(len(data))}, data); err != nil || errno != 0 {
		t.Fatalf("WRITE: errno %d, %v", errno, err)
	}
	// Many reads at once, as the kernel sends them at queue depth 32.
	var calls []*nbdtest.Call
	for i := range 32 {
		calls = append(calls, p.Start(server.Request{Command: server.CmdRead, Offset: off + uint64(i)*4096, Length: 4096}, nil))
	}
	for i, c := range calls {
		errno, got, err := p.Wait(c)
		if err != nil || errno != 0 || !bytes.Equal(got, data[i*4096:(i+1)*4096]) {
			t.Fatalf("READ %d: errno %d, %v, data equal %v", i, errno, err, bytes.Equal(got, data[i*4096:(i+1)*4096]))
		}
	}
	if errno, got, err := p.Do(server.Request{Command: server.CmdRead, Offset: 0, Length: 65536}, nil); err != nil || errno != 0 || !bytes.Equal(got, make([]byte, 65536)) {
		t.Fatalf("READ of unwritten space: errno %d, %v, zeros %v", errno, err, bytes.Equal(got, make([]byte, 65536)))
	}
	if errno, _, err := p.Do(server.Request{Command: server.CmdFlush}, nil); err != nil || errno != 0 {
		t.Fatalf("FLUSH: errno %d, %v", errno, err)
	}
	if got := m.Started.Load(); got != 34 {
		t.Errorf("%d requests took the started path, want 34 (1 write, 33 reads)", got)
	}
	if got := m.Allocated(); got != 2*nbdtest.SparseChunk {
		t.Errorf("Allocated = %d, want %d", got, 2*nbdtest.SparseChunk)
	}
	p.Disc()
	if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
		t.Errorf("Serve: %v", err)
	}
	p.Finish()
}
