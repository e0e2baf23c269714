package server

import "testing"

func TestBufferPool(t *testing.T) {
	tests := []struct{ n, class int }{
		{replySize, 0},
		{replySize + 4096, 0},
		{replySize + 4097, 1},
		{replySize + 8192, 1},
		{replySize + 1<<20, 8},
		{replySize + MaxRequestLength, numClasses - 1},
		{MaxRequestLength, numClasses - 1},
	}
	for _, tt := range tests {
		if got := class(tt.n); got != tt.class {
			t.Errorf("class(%d) = %d, want %d", tt.n, got, tt.class)
		}
		if classSize(tt.class) < tt.n {
			t.Errorf("class %d holds %d bytes, less than %d", tt.class, classSize(tt.class), tt.n)
		}
	}

	var p bufferPool
	b := p.get(replySize + 4096)
	if len(*b) != replySize+4096 || cap(*b) != classSize(0) {
		t.Fatalf("get: len %d cap %d", len(*b), cap(*b))
	}
	p.put(b)
	allocs := testing.AllocsPerRun(100, func() {
		b := p.get(replySize + 3000)
		p.put(b)
	})
	if allocs != 0 && !raceEnabled {
		t.Errorf("get+put allocates %v times", allocs)
	}
	// Oversized requests are refused before they get here; if one did,
	// it gets a plain buffer that the pool then drops.
	huge := p.get(2*MaxRequestLength + replySize)
	if len(*huge) != 2*MaxRequestLength+replySize {
		t.Errorf("huge get: len %d", len(*huge))
	}
	p.put(huge)
}
