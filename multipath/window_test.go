package multipath

import (
	"testing"
	"time"
)

func TestWindow(t *testing.T) {
	// Each loss a second after the last, a round trip of 10ms: every one
	// is a loss event of its own.
	now := time.Unix(1000, 0)
	lose := func(w *Window) {
		now = now.Add(time.Second)
		w.OnLoss(now, 10*time.Millisecond)
	}
	w := NewWindow(16)
	if w.Size() != 16 {
		t.Fatalf("starts at %d, want the buffer count 16", w.Size())
	}
	// Within the buffer count a loss is the link's: the window stays.
	for range 10 {
		lose(&w)
	}
	if w.Size() != 16 {
		t.Fatalf("after losses within the buffer count: %d, want 16", w.Size())
	}
	// Past it, one frame more per full window of replies.
	for range 15 {
		w.OnReply()
	}
	if w.Size() != 16 {
		t.Fatalf("grew to %d before a full window of replies", w.Size())
	}
	w.OnReply()
	if w.Size() != 17 {
		t.Fatalf("after 16 replies: %d, want 17", w.Size())
	}
	for range 100000 {
		w.OnReply()
	}
	if w.Size() != 16*Overcommit {
		t.Fatalf("grew to %d, want capped at %d", w.Size(), 16*Overcommit)
	}
	// A loss up there: half the window, and the ceiling comes down to
	// three quarters of where it happened.
	lose(&w)
	if w.Size() != 32 || w.Ceiling() != 48 {
		t.Fatalf("after a loss at 64: size %d ceiling %d, want 32 and 48", w.Size(), w.Ceiling())
	}
	// Losses each time it grows back bring the ceiling down to the
	// buffer count, and no further.
	for range 100 {
		for w.Size() < w.Ceiling() {
			w.OnReply()
		}
		lose(&w)
	}
	if w.Size() != 16 || w.Ceiling() != 16 {
		t.Fatalf("after many losses: size %d ceiling %d, want the buffer count 16 for both", w.Size(), w.Ceiling())
	}
	// The ceiling rises again only after a long loss-free stretch.
	for range w.regrow - 1 {
		w.OnReply()
	}
	if w.Ceiling() != 16 {
		t.Fatalf("ceiling rose to %d before %d clean replies", w.Ceiling(), w.regrow)
	}
	w.OnReply()
	if w.Ceiling() != 17 {
		t.Fatalf("ceiling %d after the clean stretch, want 17", w.Ceiling())
	}
	// The same buffer count again keeps what was learned; a new one
	// starts over.
	w.SetBufferCount(16)
	if w.Ceiling() != 17 {
		t.Fatalf("a repeated config answer reset the ceiling to %d", w.Ceiling())
	}
	w.SetBufferCount(4)
	if w.Size() > 4*Overcommit || w.Ceiling() != 4*Overcommit || w.Promised() != 4 {
		t.Fatalf("after buffer count 4: size %d ceiling %d promised %d", w.Size(), w.Ceiling(), w.Promised())
	}
	// Slow start below the threshold (a path coming back up starts small).
	w.size = 1
	for range 3 {
		w.OnReply()
	}
	if w.Size() != 4 {
		t.Fatalf("slow start: %d after 3 replies from 1, want 4", w.Size())
	}
	if w := NewWindow(0); w.Size() != 1 {
		t.Fatal("a buffer count of 0 must still allow one frame")
	}
}

// grown is a window of buffer count 16 grown to 64 (its ceiling).
func grown() Window {
	w := NewWindow(16)
	for w.Size() < w.Ceiling() {
		w.OnReply()
	}
	return w
}

// TestWindowCutsOncePerRoundTrip: the frames of one round trip lost
// together cut the window once; a late reply to one sent before the cut
// takes the cut back, one sent after it does not.
func TestWindowCutsOncePerRoundTrip(t *testing.T) {
	t0 := time.Unix(1000, 0)
	const srtt = 10 * time.Millisecond
	type loss struct {
		after time.Duration // since t0
		srtt  time.Duration
	}
	for _, tc := range []struct {
		name   string
		losses []loss
		// undoSent, if not zero, is when the send that a late reply
		// answers went out, after t0.
		undoSent time.Duration
		undo     bool
		want     int
	}{
		{name: "one loss halves it", losses: []loss{{0, srtt}}, want: 32},
		{name: "three in one round trip: one cut", losses: []loss{{0, srtt}, {time.Millisecond, srtt}, {9 * time.Millisecond, srtt}}, want: 32},
		{name: "a round trip apart: two cuts", losses: []loss{{0, srtt}, {srtt, srtt}}, want: 16},
		{name: "unmeasured path: every loss cuts", losses: []loss{{0, 0}, {0, 0}}, want: 16},
		{name: "late reply to a send before the cut undoes it", losses: []loss{{0, srtt}}, undo: true, undoSent: -5 * time.Millisecond, want: 64},
		{name: "late reply to a send at the cut undoes it", losses: []loss{{0, srtt}}, undo: true, undoSent: 0, want: 64},
		{name: "late reply to a send after the cut does not", losses: []loss{{0, srtt}}, undo: true, undoSent: time.Millisecond, want: 32},
		{name: "undo restores the window before the last cut only", losses: []loss{{0, srtt}, {srtt, srtt}}, undo: true, undoSent: srtt, want: 32},
		{name: "nothing to undo", undo: true, want: 64},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := grown()
			for _, l := range tc.losses {
				w.OnLoss(t0.Add(l.after), l.srtt)
			}
			if tc.undo {
				w.Undo(t0.Add(tc.undoSent))
				w.Undo(t0.Add(tc.undoSent)) // a second late reply: nothing more to undo
			}
			if w.Size() != tc.want {
				t.Fatalf("window %d, want %d", w.Size(), tc.want)
			}
		})
	}
}

func TestWindowRestart(t *testing.T) {
	for _, tc := range []struct{ bufferCount, want int }{{16, 4}, {64, 16}, {3, 1}, {1, 1}, {0, 1}} {
		w := NewWindow(tc.bufferCount)
		w.Restart()
		if w.Size() != tc.want {
			t.Errorf("buffer count %d: restarts at %d, want %d", tc.bufferCount, w.Size(), tc.want)
		}
		// Slow start from there up to the buffer count: a frame per reply.
		for range max(tc.bufferCount, 1) - tc.want {
			w.OnReply()
		}
		if w.Size() != max(tc.bufferCount, 1) {
			t.Errorf("buffer count %d: %d after slow start, want the buffer count", tc.bufferCount, w.Size())
		}
	}
}
