//go:build linux

package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"slices"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// randreadCmd: random aligned O_DIRECT reads of --bs bytes from --qd
// goroutines (so at most --qd requests in flight) for --seconds.
func randreadCmd(args []string) error {
	fs := flag.NewFlagSet("randread", flag.ContinueOnError)
	var m measureFlags
	m.register(fs)
	dev := fs.String("dev", "", "block device (or file) to read")
	qd := fs.Int("qd", 1, "queue depth: concurrent readers")
	secs := fs.Float64("seconds", 10, "how long to read")
	bs := fs.Int("bs", 4096, "bytes per read (a multiple of the logical block size)")
	span := fs.Int64("span", 0, "read only the first SPAN bytes (0: the whole device)")
	seed := fs.Uint64("seed", 0, "random seed (0: from the clock)")
	if err := fs.Parse(args); err != nil {
		return exitError{2, err.Error()}
	}
	if *dev == "" || *qd < 1 || *secs <= 0 || *bs < 512 || *bs%512 != 0 || fs.NArg() != 0 {
		return exitError{2, "randread: want --dev PATH, --qd >= 1, --seconds > 0, --bs a multiple of 512"}
	}
	if *seed == 0 {
		*seed = uint64(time.Now().UnixNano())
	}
	fd, err := unix.Open(*dev, unix.O_RDONLY|unix.O_DIRECT|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open %s: %w", *dev, err)
	}
	defer unix.Close(fd)
	size, err := unix.Seek(fd, 0, io.SeekEnd)
	if err != nil {
		return fmt.Errorf("size of %s: %w", *dev, err)
	}
	if *span > 0 && *span < size {
		size = *span
	}
	blocks := size / int64(*bs)
	if blocks < 1 {
		return fmt.Errorf("%s: %d bytes, smaller than one block of %d", *dev, size, *bs)
	}

	// A hung device must not hang the benchmark: report and leave (threads
	// stuck in the kernel cannot be cancelled, so exit outright).
	limit := time.Duration(*secs*float64(time.Second)) + m.timeout
	watchdog := time.AfterFunc(limit, func() {
		fmt.Fprintf(os.Stderr, "benchtool: randread: %s: reads still outstanding %v after the start: giving up\n", *dev, limit)
		os.Exit(124)
	})
	defer watchdog.Stop()

	type worker struct {
		ios  int64
		lats []time.Duration
		err  error
	}
	workers := make([]worker, *qd)
	var wg sync.WaitGroup
	r := Result{}
	if err := m.startKick(); err != nil {
		return err
	}
	defer m.stopKick()
	r.before = m.snap()
	stop := r.before.at.Add(time.Duration(*secs * float64(time.Second)))
	for i := range workers {
		w := &workers[i]
		wg.Add(1)
		go func() {
			defer wg.Done()
			// mmap gives page-aligned memory, as O_DIRECT wants.
			buf, err := unix.Mmap(-1, 0, *bs, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS)
			if err != nil {
				w.err = fmt.Errorf("mmap: %w", err)
				return
			}
			defer unix.Munmap(buf)
			rng := rand.New(rand.NewPCG(*seed, uint64(i)))
			for {
				t0 := time.Now()
				if !t0.Before(stop) {
					return
				}
				off := rng.Int64N(blocks) * int64(*bs)
				n, err := preadFull(fd, buf, off)
				if err != nil {
					w.err = fmt.Errorf("read of %d bytes at %d: %w", len(buf), off, err)
					return
				}
				if n != len(buf) {
					w.err = fmt.Errorf("read of %d bytes at %d: short read (%d)", len(buf), off, n)
					return
				}
				w.lats = append(w.lats, time.Since(t0))
				w.ios++
			}
		}()
	}
	wg.Wait()
	end := time.Now()
	r.Kicks = m.stopKick()
	var lats []time.Duration
	for i := range workers {
		if workers[i].err != nil {
			return fmt.Errorf("randread %s: %w", *dev, workers[i].err)
		}
		r.IOs += workers[i].ios
		lats = append(lats, workers[i].lats...)
	}
	r.Secs = end.Sub(r.before.at).Seconds()
	r.after = m.finish(end)
	r.Bytes = r.IOs * int64(*bs)
	if len(lats) == 0 {
		return errors.New("randread: no read completed")
	}
	slices.Sort(lats)
	us := func(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }
	r.LatP50 = us(lats[len(lats)/2])
	r.LatP99 = us(lats[min(len(lats)-1, len(lats)*99/100)])
	r.LatMax = us(lats[len(lats)-1])
	fmt.Println(r.Line())
	return nil
}

// preadFull is pread, retried on EINTR.
func preadFull(fd int, buf []byte, off int64) (int, error) {
	for {
		n, err := unix.Pread(fd, buf, off)
		if err == unix.EINTR {
			continue
		}
		return n, err
	}
}
