package initiator

import (
	"encoding/binary"
	"testing"
	"time"
)

func TestWindow(t *testing.T) {
	w := newWindow(16)
	if w.size != 16 {
		t.Fatalf("starts at %d, want the buffer count 16", w.size)
	}
	// Within the buffer count a loss is the link's: the window stays.
	for range 10 {
		w.onLoss()
	}
	if w.size != 16 {
		t.Fatalf("after losses within the buffer count: %d, want 16", w.size)
	}
	// Past it, one frame more per full window of replies.
	for range 15 {
		w.onReply()
	}
	if w.size != 16 {
		t.Fatalf("grew to %d before a full window of replies", w.size)
	}
	w.onReply()
	if w.size != 17 {
		t.Fatalf("after 16 replies: %d, want 17", w.size)
	}
	for range 100000 {
		w.onReply()
	}
	if w.size != 16*overcommit {
		t.Fatalf("grew to %d, want capped at %d", w.size, 16*overcommit)
	}
	// A loss up there: half the window, and the ceiling comes down to
	// three quarters of where it happened.
	w.onLoss()
	if w.size != 32 || w.ceiling != 48 {
		t.Fatalf("after a loss at 64: size %d ceiling %d, want 32 and 48", w.size, w.ceiling)
	}
	// Losses each time it grows back bring the ceiling down to the
	// buffer count, and no further.
	for range 100 {
		for w.size < w.ceiling {
			w.onReply()
		}
		w.onLoss()
	}
	if w.size != 16 || w.ceiling != 16 {
		t.Fatalf("after many losses: size %d ceiling %d, want the buffer count 16 for both", w.size, w.ceiling)
	}
	// The ceiling rises again only after a long loss-free stretch.
	for range w.regrow - 1 {
		w.onReply()
	}
	if w.ceiling != 16 {
		t.Fatalf("ceiling rose to %d before %d clean replies", w.ceiling, w.regrow)
	}
	w.onReply()
	if w.ceiling != 17 {
		t.Fatalf("ceiling %d after the clean stretch, want 17", w.ceiling)
	}
	// The same buffer count again keeps what was learned; a new one
	// starts over.
	w.setBufferCount(16)
	if w.ceiling != 17 {
		t.Fatalf("a repeated config answer reset the ceiling to %d", w.ceiling)
	}
	w.setBufferCount(4)
	if w.size > 4*overcommit || w.ceiling != 4*overcommit || w.promised != 4 {
		t.Fatalf("after buffer count 4: size %d ceiling %d promised %d", w.size, w.ceiling, w.promised)
	}
	// Slow start below the threshold (a path coming back up starts small).
	w.size = 1
	for range 3 {
		w.onReply()
	}
	if w.size != 4 {
		t.Fatalf("slow start: %d after 3 replies from 1, want 4", w.size)
	}
	if newWindow(0).size != 1 {
		t.Fatal("a buffer count of 0 must still allow one frame")
	}
}

func TestRTO(t *testing.T) {
	const min, max = 5 * time.Millisecond, 2 * time.Second
	var r rttEstimator
	if got := r.rto(0, min, max); got != max/4 {
		t.Fatalf("before any sample: %v, want %v", got, max/4)
	}
	now := time.Unix(1000, 0)
	for i := 0; i < 50; i++ {
		now = now.Add(10 * time.Millisecond)
		r.sample(10*time.Millisecond, now)
	}
	if r.srtt != 10*time.Millisecond {
		t.Fatalf("srtt %v after steady 10ms samples", r.srtt)
	}
	if got := r.rto(0, min, max); got != 12500*time.Microsecond {
		t.Fatalf("rto %v with steady 10ms samples, want 12.5ms (the peak and a quarter)", got)
	}
	r.sample(50*time.Millisecond, now)
	if r.rttvar <= time.Millisecond {
		t.Fatalf("rttvar %v did not grow after an outlier", r.rttvar)
	}
	if got := r.rto(0, min, max); got != 62500*time.Microsecond {
		t.Fatalf("rto %v after a 50ms stall, want 62.5ms: the stall is remembered", got)
	}
	// Two quiet windows later the stall is forgotten.
	for i := 0; i < 500; i++ {
		now = now.Add(10 * time.Millisecond)
		r.sample(10*time.Millisecond, now)
	}
	if got := r.rto(0, min, max); got != 12500*time.Microsecond {
		t.Fatalf("rto %v 5s after the stall, want 12.5ms again", got)
	}
	base := r.rto(0, min, max)
	if got := r.rto(2, min, max); got != 4*base {
		t.Fatalf("rto after 2 retries %v, want 4x %v", got, base)
	}
	if got := r.rto(20, min, max); got != max {
		t.Fatalf("backoff %v, want capped at %v", got, max)
	}
	var fast rttEstimator
	fast.sample(20*time.Microsecond, now)
	if got := fast.rto(0, min, max); got != min {
		t.Fatalf("rto %v on a 20us link, want the floor %v", got, min)
	}
}

func identifyData(words map[int]uint16, model string) []byte {
	b := make([]byte, 512)
	for w, v := range words {
		binary.LittleEndian.PutUint16(b[2*w:], v)
	}
	for i := 0; i < 40; i++ {
		c := byte(' ')
		if i < len(model) {
			c = model[i]
		}
		b[54+(i^1)] = c
	}
	return b
}

func TestParseIdentity(t *testing.T) {
	for _, tc := range []struct {
		name    string
		words   map[int]uint16
		sectors uint64
		lba48   bool
		flush   uint8
	}{
		{"vblade", map[int]uint16{83: 0x5400, 60: 0xffff, 61: 0x0fff, 100: 0x0000, 101: 0x0010, 102: 0x0001}, 1<<32 | 1<<20, true, 0xE7},
		{"lba28 only", map[int]uint16{83: 0x4000, 60: 0x1000, 61: 0x0002}, 0x21000, false, 0},
		{"flush ext", map[int]uint16{83: 0x4000 | 1<<10 | 1<<12 | 1<<13, 100: 2048}, 2048, true, 0xEA},
		{"enabled bits in word 86", map[int]uint16{86: 1<<10 | 1<<12, 100: 4096}, 4096, true, 0xE7},
		{"ext flush without lba48 falls back", map[int]uint16{83: 1<<12 | 1<<13, 60: 100}, 100, false, 0xE7},
	} {
		t.Run(tc.name, func(t *testing.T) {
			id := parseIdentity(identifyData(tc.words, "Coraid EtherDrive vblade"))
			if id.Sectors != tc.sectors || id.LBA48 != tc.lba48 || id.FlushCommand != tc.flush {
				t.Fatalf("got %d sectors lba48 %v flush %#x, want %d %v %#x", id.Sectors, id.LBA48, id.FlushCommand, tc.sectors, tc.lba48, tc.flush)
			}
			if id.Model != "Coraid EtherDrive vblade" {
				t.Fatalf("model %q", id.Model)
			}
		})
	}
}

func TestParseAddr(t *testing.T) {
	for in, want := range map[string]Addr{"e1.2": {1, 2}, "0.1": {0, 1}, "e65534.254": {65534, 254}} {
		got, err := ParseAddr(in)
		if err != nil || got != want {
			t.Errorf("ParseAddr(%q) = %v, %v; want %v", in, got, err, want)
		}
		if in[0] == 'e' && got.String() != in {
			t.Errorf("%v prints as %q, want %q", got, got.String(), in)
		}
	}
	for _, in := range []string{"", "e1", "e1.2.3", "e65535.0", "e1.255", "ex.y", "e-1.2"} {
		if _, err := ParseAddr(in); err == nil {
			t.Errorf("ParseAddr(%q) accepted", in)
		}
	}
}
