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
	w.onLoss()
	if w.size != 8 || w.ssthresh != 8 {
		t.Fatalf("after a loss: size %d ssthresh %d, want 8 and 8", w.size, w.ssthresh)
	}
	// Congestion avoidance: one frame more per full window of replies.
	for i := 0; i < 7; i++ {
		w.onReply()
	}
	if w.size != 8 {
		t.Fatalf("grew to %d before a full window of replies", w.size)
	}
	w.onReply()
	if w.size != 9 {
		t.Fatalf("after 8 replies: %d, want 9", w.size)
	}
	for i := 0; i < 1000; i++ {
		w.onReply()
	}
	if w.size != 16 {
		t.Fatalf("grew to %d, want capped at the buffer count 16", w.size)
	}
	for i := 0; i < 10; i++ {
		w.onLoss()
	}
	if w.size != 1 {
		t.Fatalf("after many losses: %d, want 1", w.size)
	}
	// Slow start below the threshold: one more per reply.
	w.ssthresh = 8
	for i := 0; i < 4; i++ {
		w.onReply()
	}
	if w.size != 5 {
		t.Fatalf("slow start: %d after 4 replies from 1, want 5", w.size)
	}
	w.setLimit(3)
	if w.size != 3 || w.limit != 3 {
		t.Fatalf("after a lower limit: size %d limit %d", w.size, w.limit)
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
