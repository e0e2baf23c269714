package nbdtest

import (
	"errors"
	"sync"
	"sync/atomic"
)

// MemBackend is an in-memory disk with hooks that let a test slow down or
// fail chosen requests.
type MemBackend struct {
	mu sync.Mutex
	// Data is the disk. Fill it in before serving; afterwards read it
	// through Snapshot.
	Data []byte

	Reads, Writes, Flushes atomic.Int64

	// Hooks run before the operation; a non-nil error fails it. They may
	// block.
	OnRead  func(off int64, n int) error
	OnWrite func(off int64, n int) error
	OnFlush func() error
}

// NewMemBackend returns a zeroed disk of size bytes.
func NewMemBackend(size int64) *MemBackend {
	return &MemBackend{Data: make([]byte, size)}
}

func (m *MemBackend) ReadAt(p []byte, off int64) (int, error) {
	m.Reads.Add(1)
	if m.OnRead != nil {
		if err := m.OnRead(off, len(p)); err != nil {
			return 0, err
		}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if off < 0 || off+int64(len(p)) > int64(len(m.Data)) {
		return 0, errors.New("MemBackend: out of range")
	}
	return copy(p, m.Data[off:]), nil
}

func (m *MemBackend) WriteAt(p []byte, off int64) (int, error) {
	m.Writes.Add(1)
	if m.OnWrite != nil {
		if err := m.OnWrite(off, len(p)); err != nil {
			return 0, err
		}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if off < 0 || off+int64(len(p)) > int64(len(m.Data)) {
		return 0, errors.New("MemBackend: out of range")
	}
	return copy(m.Data[off:], p), nil
}

func (m *MemBackend) Flush() error {
	m.Flushes.Add(1)
	if m.OnFlush != nil {
		return m.OnFlush()
	}
	return nil
}

// Snapshot returns a copy of n bytes of the disk at off.
func (m *MemBackend) Snapshot(off int64, n int) []byte {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]byte(nil), m.Data[off:off+int64(n)]...)
}
