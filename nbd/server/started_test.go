package server_test

import (
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/goaoe/goaoe/nbd/server"
)

// bothPaths runs a Serve test with the Backend as it is (the workers) and
// made a Starter (the started path).
func bothPaths(t *testing.T, test func(t *testing.T, wrap func(server.Backend) server.Backend)) {
	t.Run("workers", func(t *testing.T) { test(t, func(b server.Backend) server.Backend { return b }) })
	t.Run("started", func(t *testing.T) {
		test(t, func(b server.Backend) server.Backend { return &startedBackend{Backend: b} })
	})
	t.Run("frames", func(t *testing.T) {
		var all []*framesBackend
		t.Cleanup(func() {
			for _, f := range all {
				if n := f.unreleased.Load(); n != 0 {
					t.Errorf("%d reads' frames were never released", n)
				}
			}
		})
		test(t, func(b server.Backend) server.Backend {
			f := &framesBackend{startedBackend: startedBackend{Backend: b}}
			all = append(all, f)
			return f
		})
	})
}

// framesBackend is a startedBackend that is also a FrameReader: a read's
// data comes back in chunks of odd sizes, and every release is counted.
type framesBackend struct {
	startedBackend
	unreleased atomic.Int64
}

func (f *framesBackend) StartReadFrames(off int64, n int, then func(data [][]byte, release func(), err error)) {
	f.queue(func() {
		p := make([]byte, n)
		got, err := f.ReadAt(p, off)
		if err == nil && got < n {
			err = fmt.Errorf("short read: %w", io.ErrUnexpectedEOF)
		}
		var data [][]byte
		if err == nil {
			for len(p) > 0 {
				k := min(len(p), 1000)
				data, p = append(data, p[:k]), p[k:]
			}
		}
		f.unreleased.Add(1)
		var once sync.Once
		then(data, func() { once.Do(func() { f.unreleased.Add(-1) }) }, err)
	})
}

// startedBackend makes any Backend a Starter: started requests wait for
// Kick, then each runs through the Backend in a goroutine of its own, so
// that a missing Kick hangs the test and the hooks still apply.
type startedBackend struct {
	server.Backend
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
