package nbd

import (
	"fmt"
	"io"
	"sync"
	"testing"
)

// bothPaths runs a Serve test with the Backend as it is (the workers) and
// made a Starter (the started path).
func bothPaths(t *testing.T, test func(t *testing.T, wrap func(Backend) Backend)) {
	t.Run("workers", func(t *testing.T) { test(t, func(b Backend) Backend { return b }) })
	t.Run("started", func(t *testing.T) {
		test(t, func(b Backend) Backend { return &startedBackend{Backend: b} })
	})
}

// startedBackend makes any Backend a Starter: started requests wait for
// Kick, then each runs through the Backend in a goroutine of its own, so
// that a missing Kick hangs the test and the hooks still apply.
type startedBackend struct {
	Backend
	mu      sync.Mutex
	waiting []func()
}

func (s *startedBackend) StartRead(p []byte, off int64, then func(error)) {
	s.queue(func() {
		n, err := s.ReadAt(p, off)
		if err == nil && n < len(p) {
			err = fmt.Errorf("short read: %w", io.ErrUnexpectedEOF)
		}
		then(err)
	})
}

func (s *startedBackend) StartWrite(p []byte, off int64, then func(error)) {
	s.queue(func() {
		n, err := s.WriteAt(p, off)
		if err == nil && n < len(p) {
			err = io.ErrShortWrite
		}
		then(err)
	})
}

func (s *startedBackend) queue(f func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.waiting = append(s.waiting, f)
}

func (s *startedBackend) Kick() {
	s.mu.Lock()
	w := s.waiting
	s.waiting = nil
	s.mu.Unlock()
	for _, f := range w {
		go f()
	}
}
