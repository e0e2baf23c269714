package server

import (
	"math/bits"
	"sync"
)

// bufferPool hands out request buffers by power-of-two size class, from
// 4 KiB to MaxRequestLength, each with replySize bytes of headroom so a
// READ reply's header can be written in front of its data and both go out
// in one Write. A steady stream of requests reuses the same buffers; the
// GC may still reclaim idle ones, which sync.Pool allows and a free list
// would not.
type bufferPool struct {
	classes [numClasses]sync.Pool // of *[]byte
}

const (
	minClassShift = 12 // 4 KiB, the page cache's unit
	numClasses    = 25 - minClassShift + 1
)

// class returns the size class holding n bytes of data plus headroom.
func class(n int) int {
	data := n - replySize
	if data <= 1<<minClassShift {
		return 0
	}
	return bits.Len(uint(data-1)) - minClassShift
}

func classSize(c int) int { return 1<<(c+minClassShift) + replySize }

// get returns a buffer of length n (at most MaxRequestLength+replySize).
// The pointer is what goes back to put, so that recycling it allocates
// nothing.
func (p *bufferPool) get(n int) *[]byte {
	c := class(n)
	if c >= numClasses {
		b := make([]byte, n) // callers refuse such lengths first; stay safe anyway
		return &b
	}
	if b, ok := p.classes[c].Get().(*[]byte); ok {
		*b = (*b)[:n]
		return b
	}
	b := make([]byte, n, classSize(c))
	return &b
}

func (p *bufferPool) put(b *[]byte) {
	c := class(cap(*b))
	if c < numClasses && cap(*b) == classSize(c) {
		p.classes[c].Put(b)
	}
}
