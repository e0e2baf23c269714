package nbdtest

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/goaoe/goaoe/nbd/server"
)

// SparseChunk is SparseMem's unit of allocation.
const SparseChunk = 1 << 20

// SparseMem is an in-memory disk that takes memory only where it was
// written: in SparseChunk pieces, each allocated by the first write into
// it. A piece never written reads as zeros. So a disk of 1 GiB that sees
// 256 MiB of writes holds 256 MiB.
//
// It is a server.Starter that answers in the calling goroutine: StartRead
// and StartWrite copy and call then before they return, and Kick has
// nothing to send. That is the fastest a backend can be, which is what
// scripts/bench's NBD ceiling (benchtool memdisk) wants to measure: the
// NBD server's started path and the kernel's nbd driver, nothing behind.
type SparseMem struct {
	size int64

	mu     sync.RWMutex // reads share it; writes (which may allocate) hold it alone
	chunks [][]byte     // nil: never written

	allocated atomic.Int64
	// Reads, Writes and Flushes count the calls, started ones included;
	// Started counts StartRead and StartWrite.
	Reads, Writes, Flushes, Started atomic.Int64
}

var (
	_ server.Backend = (*SparseMem)(nil)
	_ server.Starter = (*SparseMem)(nil)
)

// NewSparseMem returns a zeroed disk of size bytes that holds no memory yet.
func NewSparseMem(size int64) *SparseMem {
	if size < 0 {
		size = 0
	}
	return &SparseMem{size: size, chunks: make([][]byte, (size+SparseChunk-1)/SparseChunk)}
}

// Size is the disk's size in bytes.
func (m *SparseMem) Size() int64 { return m.size }

// Allocated is how many bytes of memory the disk's pieces hold.
func (m *SparseMem) Allocated() int64 { return m.allocated.Load() }

var errSparseRange = errors.New("SparseMem: out of range")

func (m *SparseMem) check(n int, off int64) error {
	if off < 0 || off > m.size || int64(n) > m.size-off {
		return fmt.Errorf("%w: %d bytes at %d of %d", errSparseRange, n, off, m.size)
	}
	return nil
}

func (m *SparseMem) ReadAt(p []byte, off int64) (int, error) {
	m.Reads.Add(1)
	if err := m.check(len(p), off); err != nil {
		return 0, err
	}
	m.mu.RLock()
	defer m.mu.RUnlock()
	for n := 0; n < len(p); {
		o := off + int64(n)
		c, in := o/SparseChunk, int(o%SparseChunk)
		k := min(len(p)-n, SparseChunk-in)
		if ch := m.chunks[c]; ch != nil {
			copy(p[n:n+k], ch[in:])
		} else {
			clear(p[n : n+k])
		}
		n += k
	}
	return len(p), nil
}

func (m *SparseMem) WriteAt(p []byte, off int64) (int, error) {
	m.Writes.Add(1)
	if err := m.check(len(p), off); err != nil {
		return 0, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for n := 0; n < len(p); {
		o := off + int64(n)
		c, in := o/SparseChunk, int(o%SparseChunk)
		k := min(len(p)-n, SparseChunk-in)
		ch := m.chunks[c]
		if ch == nil {
			// The last piece of a disk that is not a whole number of
			// pieces is only as long as the disk.
			ch = make([]byte, min(SparseChunk, m.size-c*SparseChunk))
			m.chunks[c] = ch
			m.allocated.Add(int64(len(ch)))
		}
		copy(ch[in:in+k], p[n:])
		n += k
	}
	return len(p), nil
}

// Flush has nothing to make durable.
func (m *SparseMem) Flush() error {
	m.Flushes.Add(1)
	return nil
}

// StartRead reads at once and calls then before it returns.
func (m *SparseMem) StartRead(p []byte, off int64, then func(error)) {
	m.Started.Add(1)
	_, err := m.ReadAt(p, off)
	then(err)
}

// StartWrite writes at once and calls then before it returns.
func (m *SparseMem) StartWrite(p []byte, off int64, then func(error)) {
	m.Started.Add(1)
	_, err := m.WriteAt(p, off)
	then(err)
}

// Kick has nothing to do: every started request is answered already.
func (m *SparseMem) Kick() {}
