package multipath

import (
	"context"
	"sync"
	"time"
)

// Config query tuning (see Queries for who asks, and why).
const (
	// RequeryInterval spaces a session's periodic queries, so that paths
	// which appear later (a NIC plugged in, a target port restarted) are
	// learned; the Linux driver asks every 60 s.
	RequeryInterval = 10 * time.Second
	// AwaitInterval spaces the queries while an answer is awaited: a
	// broadcast can be lost too.
	AwaitInterval = time.Second
)

// linkUpDelays space the queries sent on a link that just came up, from
// the moment it came up.
var linkUpDelays = []time.Duration{0, 250 * time.Millisecond, time.Second}

// QuerySchedule says when the next config query is due, for each of the
// reasons to ask (see Queries). Reasons that fall due together
// take one query, and a query sent for one reason counts for all: an
// answer teaches the same paths whatever it was asked for.
//
// The zero value asks only in bursts, and at AwaitInterval while an
// answer is awaited. Time is passed in; a QuerySchedule reads no clock
// and takes no lock.
type QuerySchedule struct {
	// Every spaces the periodic queries, counted from the last query
	// sent; 0 sends none. The periodic queries start after the first
	// query sent for another reason (or reported with Sent): an owner
	// that asks once at the start (discovery.WaitFor does) does not ask
	// twice.
	Every time.Duration
	// Retry spaces the queries while an answer is awaited, counted from
	// the last query sent (the first is due at once if none was);
	// 0 means AwaitInterval.
	Retry time.Duration

	awaiting  bool
	last      time.Time       // the last query sent; zero before the first
	burstFrom time.Time       // when the last link came up
	burst     []time.Duration // the delays of the burst still to send
}

// SetAwaiting says whether an answer is awaited now.
func (s *QuerySchedule) SetAwaiting(on bool) { s.awaiting = on }

// LinkUp starts a burst at now: a link came up. A burst under way starts
// over: the new link needs its whole burst, and a query goes out on every
// port, so the links that came up before it are asked again too.
func (s *QuerySchedule) LinkUp(now time.Time) { s.burstFrom, s.burst = now, linkUpDelays }

// Sent counts a query sent at now, whatever sent it.
func (s *QuerySchedule) Sent(now time.Time) {
	s.last = now
	for len(s.burst) > 0 && !now.Before(s.burstFrom.Add(s.burst[0])) {
		s.burst = s.burst[1:]
	}
}

// Next is when the next query is due; ok is false if none is scheduled.
// A time at or before now means now.
func (s *QuerySchedule) Next() (at time.Time, ok bool) {
	earliest := func(t time.Time) {
		if !ok || t.Before(at) {
			at, ok = t, true
		}
	}
	if s.awaiting {
		retry := s.Retry
		if retry <= 0 {
			retry = AwaitInterval
		}
		if s.last.IsZero() {
			earliest(time.Time{})
		} else {
			earliest(s.last.Add(retry))
		}
	}
	if len(s.burst) > 0 {
		earliest(s.burstFrom.Add(s.burst[0]))
	}
	if s.Every > 0 && !s.last.IsZero() {
		earliest(s.last.Add(s.Every))
	}
	return at, ok
}

// Due reports whether a query is due at now, and if so counts it as sent.
// A late call sends one query, not one for each time missed.
func (s *QuerySchedule) Due(now time.Time) bool {
	at, ok := s.Next()
	if !ok || now.Before(at) {
		return false
	}
	s.Sent(now)
	return true
}

// Queries is the one owner of the config queries that teach the engine
// its paths (every answer names the port it came in on and the target
// port it came from). It sends them on one QuerySchedule, with a
// goroutine (Run) that sleeps until the next is due, for three reasons:
//
//   - periodically (QuerySchedule.Every; RequeryInterval in a session,
//     which owns one Queries for its target and runs it);
//   - faster while an answer is awaited (Await, at AwaitInterval):
//     discovery.WaitFor, while its target has not answered;
//   - in a burst when a link comes up (LinkUp: at once, after 250 ms and
//     after 1 s): the Watcher, since the first frames on a new link can
//     vanish while it settles.
//
// The fourth kind of config query, the unicast one down a path that is
// out, is part of the path's Health, not of a Queries: each Health keeps
// a QuerySchedule of its own that awaits an answer every ProbeInterval
// while the path is out, and initiator's sweeper asks it (Health.ProbeDue)
// under the target's lock and sends the query down that path alone.
//
// Its methods are safe for concurrent use.
type Queries struct {
	query func() error
	wake  chan struct{} // tells Run the schedule changed

	mu       sync.Mutex // guards sched and awaiters
	sched    QuerySchedule
	awaiters int
}

// NewQueries returns queries that call query (for a session,
// func() error { return ini.Query(addr) }) on schedule s. Nothing is sent
// until Run runs, except by Ask.
func NewQueries(query func() error, s QuerySchedule) *Queries {
	return &Queries{query: query, wake: make(chan struct{}, 1), sched: s}
}

// Run sends the queries as they fall due until ctx is done; one Run per
// Queries. Their errors are dropped: a port that cannot send now is
// retried by the next.
func (q *Queries) Run(ctx context.Context) {
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		q.mu.Lock()
		due := q.sched.Due(time.Now())
		at, ok := q.sched.Next()
		q.mu.Unlock()
		if due {
			_ = q.query()
		}
		var fire <-chan time.Time
		if ok {
			timer.Reset(time.Until(at))
			fire = timer.C
		}
		select {
		case <-fire:
		case <-q.wake:
		case <-ctx.Done():
			return
		}
	}
}

// Ask sends a query now, and returns its error; it counts for the
// schedule like any other.
func (q *Queries) Ask() error {
	q.mu.Lock()
	q.sched.Sent(time.Now())
	q.mu.Unlock()
	return q.query()
}

// Await asks at the schedule's Retry until done is called: an answer is
// awaited. Several may await at once; the rate stays up until the last
// is done.
func (q *Queries) Await() (done func()) {
	q.mu.Lock()
	q.awaiters++
	q.sched.SetAwaiting(true)
	q.mu.Unlock()
	q.poke()
	var once sync.Once
	return func() {
		once.Do(func() {
			q.mu.Lock()
			defer q.mu.Unlock()
			q.awaiters--
			q.sched.SetAwaiting(q.awaiters > 0)
		})
	}
}

// LinkUp sends a burst of queries: a link came up.
func (q *Queries) LinkUp() {
	q.mu.Lock()
	q.sched.LinkUp(time.Now())
	q.mu.Unlock()
	q.poke()
}

func (q *Queries) poke() {
	select {
	case q.wake <- struct{}{}:
	default:
	}
}
