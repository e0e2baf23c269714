//go:build linux

package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
)

// The Linux aoe driver (seen with Debian's 6.1 kernel) can stall for good:
// when its pool of frames is used up, because its completion thread has
// fallen behind (easy under an emulator), it sets "kick me" and gives up
// sending; its retransmit timer then only reruns the blk-mq hardware
// queues, which does not reach a request the driver already holds. The
// request waits until some new request enters the driver. debugfs shows
// the state: falloc at its cap (512), nothing outstanding, "kicked"
// counting up. A kicker watches for that and sends the new request itself:
// one 4 KiB O_DIRECT read. Its count is reported, so the table shows how
// often the reference needed help.

const (
	kickPoll  = 50 * time.Millisecond
	kickAfter = 300 * time.Millisecond // no frame for this long, with I/O in flight
)

type kicker struct {
	dev, debugfs, iface string
	inflight            string // /sys/dev/block/MAJ:MIN/inflight
	kicks               atomic.Int64
	stop, done          chan struct{}
}

// startKicker watches dev; debugfs is the aoe driver's file for the target
// (/sys/kernel/debug/aoe/eX.Y) and iface the interface it uses.
func startKicker(dev, debugfs, iface string) (*kicker, error) {
	var st unix.Stat_t
	if err := unix.Stat(dev, &st); err != nil {
		return nil, fmt.Errorf("kick: %w", err)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFBLK {
		return nil, fmt.Errorf("kick: %s is not a block device", dev)
	}
	k := &kicker{
		dev: dev, debugfs: debugfs, iface: iface,
		inflight: fmt.Sprintf("/sys/dev/block/%d:%d/inflight", unix.Major(uint64(st.Rdev)), unix.Minor(uint64(st.Rdev))),
		stop:     make(chan struct{}), done: make(chan struct{}),
	}
	go k.run()
	return k, nil
}

func (k *kicker) close() int64 {
	close(k.stop)
	<-k.done
	return k.kicks.Load()
}

func (k *kicker) run() {
	defer close(k.done)
	tick := time.NewTicker(kickPoll)
	defer tick.Stop()
	last, lastChange := k.progress(), time.Now()
	for {
		select {
		case <-k.stop:
			return
		case now := <-tick.C:
			if p := k.progress(); p != last {
				last, lastChange = p, now
				continue
			}
			if now.Sub(lastChange) < kickAfter || !k.stalled() {
				continue
			}
			k.kicks.Add(1)
			lastChange = now
			go k.kick()
		}
	}
}

// progress is a number that moves while the device does anything: frames
// received on the interface, else sectors completed.
func (k *kicker) progress() uint64 {
	if k.iface != "" {
		if n, err := readUint("/sys/class/net/" + k.iface + "/statistics/rx_packets"); err == nil {
			return n
		}
	}
	b, _ := os.ReadFile(strings.TrimSuffix(k.inflight, "inflight") + "stat")
	f := strings.Fields(string(b))
	if len(f) < 7 {
		return 0
	}
	r, _ := strconv.ParseUint(f[2], 10, 64)
	w, _ := strconv.ParseUint(f[6], 10, 64)
	return r + w
}

// stalled: requests are in flight but the driver has no frame out.
func (k *kicker) stalled() bool {
	b, err := os.ReadFile(k.inflight)
	if err != nil {
		return false
	}
	f := strings.Fields(string(b))
	if len(f) < 2 || (f[0] == "0" && f[1] == "0") {
		return false
	}
	if k.debugfs == "" {
		return true
	}
	out, ok := aoeOutstanding(k.debugfs)
	return ok && out == 0
}

// kick sends one new request to the driver: a 4 KiB O_DIRECT read.
func (k *kicker) kick() {
	fd, err := unix.Open(k.dev, unix.O_RDONLY|unix.O_DIRECT|unix.O_CLOEXEC, 0)
	if err != nil {
		return
	}
	defer unix.Close(fd)
	buf, err := unix.Mmap(-1, 0, 4096, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS)
	if err != nil {
		return
	}
	defer unix.Munmap(buf)
	_, _ = preadFull(fd, buf, 0)
}
