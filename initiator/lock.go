package initiator

import "sync"

// targetLock is a Target's mutex. A section under it that finishes a
// started request cannot run the request's completion there: the
// completion may block (it writes the reply to a socket) or call the
// Target, which would hold up the receive loop or the sweeper, or
// deadlock. So finishing only records the request, and Unlock, after
// releasing the mutex, runs what was recorded, in order. There is no
// other way to release the lock, so no section can forget to.
type targetLock struct {
	mu        sync.Mutex
	completed []*request // finished while locked; guarded by mu
}

func (l *targetLock) Lock() { l.mu.Lock() }

// Unlock releases the lock, then calls the completions of the requests
// that finished meanwhile.
func (l *targetLock) Unlock() {
	if len(l.completed) == 0 {
		l.mu.Unlock()
		return
	}
	done := l.completed
	l.completed = nil
	l.mu.Unlock()
	for i, req := range done {
		req.then(req.err)
		done[i] = nil
	}
}

// completeLocked records a started request that has finished.
func (l *targetLock) completeLocked(req *request) { l.completed = append(l.completed, req) }
