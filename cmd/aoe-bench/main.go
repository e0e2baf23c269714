// Command aoe-bench measures what the AoE engine alone moves to and from a
// target, with no block layer in between: sequential reads (and writes,
// which destroy data, only when asked) with many requests in flight.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/goaoe/goaoe/discovery"
	"github.com/goaoe/goaoe/initiator"
	"github.com/goaoe/goaoe/internal/cpuprofile"
	"github.com/goaoe/goaoe/internal/version"
	"github.com/goaoe/goaoe/multipath"
	"github.com/goaoe/goaoe/rawport"
)

func main() {
	app := version.Apply(&cli.App{
		Name:      "aoe-bench",
		Usage:     "measure sequential throughput of the AoE engine against a target",
		ArgsUsage: "eSHELF.SLOT",
		Flags: []cli.Flag{
			&cli.StringSliceFlag{Name: "iface", Aliases: []string{"i"}, Usage: "interface to use (repeat for more)"},
			&cli.StringFlag{Name: "size", Value: "256M", Usage: "bytes to move per direction (K, M, G suffixes)"},
			&cli.IntFlag{Name: "block", Value: 128 << 10, Usage: "bytes per request"},
			&cli.IntFlag{Name: "depth", Value: 4, Usage: "requests in flight"},
			&cli.BoolFlag{Name: "write", Usage: "also measure writes: OVERWRITES the target's data"},
			&cli.DurationFlag{Name: "timeout", Value: 10 * time.Second, Usage: "how long to wait for the target"},
		},
		Action: run,
	})
	if err := app.Run(os.Args); err != nil {
		fmt.Fprintln(os.Stderr, "aoe-bench:", err)
		os.Exit(1)
	}
}

func run(c *cli.Context) error {
	// GOAOE_CPUPROFILE=FILE profiles the run, as it does aoe-attach.
	defer cpuprofile.Start("aoe-bench")()
	if c.NArg() != 1 {
		return errors.New("name one target, e.g. aoe-bench e1.2")
	}
	addr, err := initiator.ParseAddr(c.Args().First())
	if err != nil {
		return err
	}
	size, err := parseSize(c.String("size"))
	if err != nil {
		return err
	}
	// Ports filter as aoe-attach's do: only this target's answers.
	ini, _, err := discovery.OpenFor(addr, c.StringSlice("iface"), initiator.Options{})
	if err != nil {
		return err
	}
	defer ini.Close()
	// Links are followed as aoe-attach follows them (multipath.Watcher:
	// a link that goes down is dropped at once, one that comes up joins),
	// so a run across a link change measures what an attached device
	// would do. The watcher's queries are the ones WaitFor asks with.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	queries := multipath.NewQueries(func() error { return ini.Query(addr) }, multipath.QuerySchedule{})
	go queries.Run(ctx)
	watcher := multipath.NewWatcher(ini, multipath.Config{
		Interfaces: c.StringSlice("iface"),
		Queries:    queries,
		Open:       discovery.OpenPortFor(addr),
		Logf: func(format string, args ...any) {
			fmt.Fprintf(os.Stderr, "aoe-bench: "+format+"\n", args...)
		},
	})
	go func() {
		if err := watcher.Run(ctx); err != nil {
			fmt.Fprintf(os.Stderr, "aoe-bench: not following link changes: %v\n", err)
		}
	}()
	t, err := discovery.WaitForQueried(ctx, ini, addr, c.Duration("timeout"), queries)
	if err != nil {
		return err
	}
	block := c.Int("block") &^ 511
	size = min(size, t.Size()) / int64(block) * int64(block)
	if size == 0 {
		return fmt.Errorf("nothing to move: %s is %d bytes", addr, t.Size())
	}
	fmt.Printf("target %s, %d bytes per frame, %d bytes in %d-byte requests, %d in flight\n", addr, t.MaxSectors()*512, size, block, c.Int("depth"))
	if c.Bool("write") {
		if err := measure(t, "write", size, block, c.Int("depth")); err != nil {
			return err
		}
	}
	received := portsReceived(ini)
	if err := measure(t, "read", size, block, c.Int("depth")); err != nil {
		return err
	}
	// More frames than replies are other targets' replies, or other
	// initiators': the socket filter let them into this process.
	fmt.Printf("      ports received %d frames during the reads\n", portsReceived(ini)-received)
	return nil
}

// portsReceived is how many frames the engine's raw ports have received.
func portsReceived(ini *initiator.Initiator) uint64 {
	var n uint64
	for _, p := range ini.Ports() {
		if s, ok := p.(interface{ Stats() rawport.Stats }); ok {
			n += s.Stats().Received
		}
	}
	return n
}

func measure(t *initiator.Target, op string, size int64, block, depth int) error {
	before := t.Status()
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, depth)
	start := time.Now()
	for i := 0; i < depth; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, block)
			for i := range buf {
				buf[i] = byte(i * 7)
			}
			for {
				off := next.Add(int64(block)) - int64(block)
				if off >= size {
					return
				}
				var err error
				if op == "write" {
					_, err = t.WriteAt(buf, off)
				} else {
					_, err = t.ReadAt(buf, off)
				}
				if err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	select {
	case err := <-errs:
		return err
	default:
	}
	after := t.Status()
	var frames, retrans uint64
	for i, p := range after.Paths {
		frames += p.Replies
		retrans += p.Retransmitted
		if i < len(before.Paths) {
			frames -= before.Paths[i].Replies
			retrans -= before.Paths[i].Retransmitted
		}
	}
	fmt.Printf("%-5s %8.1f MB/s  %9.0f frames/s  %6d retransmits  %.2fs\n", op,
		float64(size)/elapsed.Seconds()/1e6, float64(frames)/elapsed.Seconds(), retrans, elapsed.Seconds())
	for _, p := range after.Paths {
		fmt.Printf("      path %s -> %s: window %d, srtt %v\n", p.Port, p.MAC, p.Window, p.SRTT.Round(time.Microsecond))
	}
	return nil
}

func parseSize(s string) (int64, error) {
	var n int64
	var unit string
	if _, err := fmt.Sscanf(s, "%d%s", &n, &unit); err != nil && unit == "" {
		if _, err := fmt.Sscanf(s, "%d", &n); err != nil {
			return 0, fmt.Errorf("bad size %q: want a number with an optional K, M or G", s)
		}
	}
	switch unit {
	case "":
	case "K", "k":
		n <<= 10
	case "M", "m":
		n <<= 20
	case "G", "g":
		n <<= 30
	default:
		return 0, fmt.Errorf("bad size %q: want a number with an optional K, M or G", s)
	}
	return n, nil
}
