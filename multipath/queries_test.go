package multipath

import (
	"context"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

func TestQuerySchedule(t *testing.T) {
	const ms = time.Millisecond
	// A step does something to the schedule at a time after t0, or with
	// do empty asks whether a query is due then.
	type step struct {
		at  time.Duration
		do  string // "await", "answered", "linkup", "sent", or "" for Due
		due bool
	}
	for _, tc := range []struct {
		name  string
		sched QuerySchedule
		steps []step
	}{
		{"the zero value asks nothing by itself", QuerySchedule{}, []step{
			{at: 0}, {at: time.Hour},
		}},
		{"periodic, from the first query sent", QuerySchedule{Every: 10 * time.Second}, []step{
			{at: 0}, {at: time.Minute}, // nothing sent yet: idle
			{at: time.Minute, do: "sent"},
			{at: time.Minute + 10*time.Second - ms},
			{at: time.Minute + 10*time.Second, due: true},
			{at: time.Minute + 15*time.Second},
			{at: time.Minute + 35*time.Second, due: true}, // late: one query, no catching up
			{at: time.Minute + 40*time.Second},
			{at: time.Minute + 45*time.Second, due: true},
		}},
		{"awaiting: at once, then every AwaitInterval until answered", QuerySchedule{}, []step{
			{at: 0, do: "await"},
			{at: 0, due: true},
			{at: 0},
			{at: 500 * ms},
			{at: AwaitInterval, due: true},
			{at: AwaitInterval + 500*ms},
			{at: 2 * AwaitInterval, due: true},
			{at: 2*AwaitInterval + 100*ms, do: "answered"},
			{at: 3 * AwaitInterval},
			{at: time.Hour},
		}},
		{"awaiting counts from the last query sent", QuerySchedule{}, []step{
			{at: 0, do: "sent"}, // discovery.WaitFor's Ask
			{at: 300 * ms, do: "await"},
			{at: 300 * ms},
			{at: AwaitInterval - ms},
			{at: AwaitInterval, due: true},
		}},
		{"Retry spaces the queries awaiting an answer", QuerySchedule{Retry: ProbeInterval}, []step{
			{at: 0, do: "await"},
			{at: 0, due: true},
			{at: ProbeInterval - ms},
			{at: ProbeInterval, due: true},
		}},
		{"a link up: at once, after 250ms and after 1s", QuerySchedule{}, []step{
			{at: 5 * time.Second, do: "linkup"},
			{at: 5 * time.Second, due: true},
			{at: 5*time.Second + 100*ms},
			{at: 5*time.Second + 250*ms, due: true},
			{at: 5*time.Second + 500*ms},
			{at: 6 * time.Second, due: true},
			{at: 7 * time.Second},
			{at: time.Hour},
		}},
		{"a late look sends one query for the whole burst", QuerySchedule{}, []step{
			{at: 0, do: "linkup"},
			{at: 2 * time.Second, due: true},
			{at: 2*time.Second + 100*ms},
			{at: time.Hour},
		}},
		{"another link up starts the burst over", QuerySchedule{}, []step{
			{at: 0, do: "linkup"},
			{at: 0, due: true},
			{at: 200 * ms, do: "linkup"},
			{at: 200 * ms, due: true},
			{at: 250 * ms}, // the first burst's second query is not owed
			{at: 450 * ms, due: true},
			{at: 1100 * ms},
			{at: 1200 * ms, due: true},
			{at: 2 * time.Second},
		}},
		{"a query for one reason counts for all", QuerySchedule{Every: 10 * time.Second}, []step{
			{at: 0, do: "await"},
			{at: 0, due: true},
			{at: 500 * ms, do: "answered"},
			{at: 4 * time.Second, do: "linkup"},
			{at: 4 * time.Second, due: true},
			{at: 4*time.Second + 250*ms, due: true},
			{at: 5 * time.Second, due: true},
			{at: 14 * time.Second}, // ten seconds after the burst, not after the link up
			{at: 15 * time.Second, due: true},
		}},
		{"reasons due together take one query", QuerySchedule{}, []step{
			{at: 0, do: "await"},
			{at: 0, do: "linkup"},
			{at: 0, due: true},
			{at: 0},
			{at: 250 * ms, due: true}, // the burst
			{at: AwaitInterval, due: true},
			{at: AwaitInterval + 500*ms},
			{at: 2 * AwaitInterval, due: true}, // awaiting, after the burst's last
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t0 := time.Unix(1000, 0)
			s := tc.sched
			for i, st := range tc.steps {
				now := t0.Add(st.at)
				switch st.do {
				case "await":
					s.SetAwaiting(true)
				case "answered":
					s.SetAwaiting(false)
				case "linkup":
					s.LinkUp(now)
				case "sent":
					s.Sent(now)
				case "":
					at, ok := s.Next()
					if got := s.Due(now); got != st.due {
						t.Fatalf("step %d: query due at +%v: %v, want %v (Next was %v, %v)", i, st.at, got, st.due, at.Sub(t0), ok)
					}
					if st.due && ok && now.Before(at) {
						t.Fatalf("step %d: due at +%v but Next said +%v", i, st.at, at.Sub(t0))
					}
				}
			}
		})
	}
}

func TestQueryScheduleNext(t *testing.T) {
	t0 := time.Unix(1000, 0)
	var s QuerySchedule
	if _, ok := s.Next(); ok {
		t.Fatal("the zero value has a query scheduled")
	}
	s.LinkUp(t0)
	if at, ok := s.Next(); !ok || !at.Equal(t0) {
		t.Fatalf("after a link up: Next %v %v, want t0", at, ok)
	}
	s.Sent(t0)
	if at, ok := s.Next(); !ok || at.Sub(t0) != 250*time.Millisecond {
		t.Fatalf("after the first of the burst: Next +%v %v, want +250ms", at.Sub(t0), ok)
	}
	s.Every = 10 * time.Second
	s.Sent(t0.Add(time.Second)) // the burst's last
	if at, ok := s.Next(); !ok || at.Sub(t0) != 11*time.Second {
		t.Fatalf("periodic after the burst: Next +%v %v, want +11s", at.Sub(t0), ok)
	}
}

// TestQueriesRun follows Run through each reason to ask, with the bubble's
// clock: a burst when a link comes up, faster while an answer is awaited,
// periodically, and a query asked for at once.
func TestQueriesRun(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		var mu sync.Mutex
		var sent []time.Duration
		q := NewQueries(func() error {
			mu.Lock()
			defer mu.Unlock()
			sent = append(sent, time.Since(start))
			return nil
		}, QuerySchedule{Every: 10 * time.Second})
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		go q.Run(ctx)

		synctest.Wait() // the periodic queries wait for a first one
		q.LinkUp()
		time.Sleep(2 * time.Second)
		done := q.Await() // due at once: the burst's last was a second ago
		done2 := q.Await()
		time.Sleep(2500 * time.Millisecond)
		done()
		done() // twice is once
		time.Sleep(time.Second)
		done2() // at 5.5s: the rate falls back to the periodic one
		time.Sleep(10 * time.Second)
		if err := q.Ask(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(5 * time.Second)
		cancel()
		synctest.Wait()

		s := time.Second
		want := []time.Duration{0, 250 * time.Millisecond, s, 2 * s, 3 * s, 4 * s, 5 * s, 15 * s, 15500 * time.Millisecond}
		mu.Lock()
		defer mu.Unlock()
		if !slices.Equal(sent, want) {
			t.Fatalf("queries sent at %v, want %v", sent, want)
		}
	})
}
