package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/goaoe/goaoe/discovery"
	"github.com/goaoe/goaoe/initiator"
	"github.com/goaoe/goaoe/session"
)

// isTarget reports whether arg names one target rather than a pattern.
func isTarget(arg string) bool {
	_, err := initiator.ParseAddr(arg)
	return err == nil
}

// attachMany attaches every answering target of a pattern (or all of
// them), each with a serving process of its own, all at once, and prints
// a line per target: its device, or that it was attached already. Exit
// status 1 if any failed.
func attachMany(c *cli.Context) error {
	pattern := discovery.Pattern{Shelf: -1, Slot: -1}
	switch {
	case c.Bool("all") && c.NArg() == 0:
	case c.NArg() == 1 && !c.Bool("all"):
		var err error
		if pattern, err = discovery.ParsePattern(c.Args().First()); err != nil {
			return err
		}
	default:
		return errors.New("name one target, one pattern (e1, e1.*) or --all")
	}
	if c.String("device") != "" {
		return errors.New("--device names one device: attach one target with it")
	}
	if c.Bool("foreground") {
		return errors.New("--foreground serves one target: name it")
	}
	if c.Bool("auto") {
		return autoAttach(c, pattern)
	}
	ini, used, err := discovery.Open(c.StringSlice("iface"), initiator.Options{})
	if err != nil {
		return err
	}
	found, err := discovery.Answering(context.Background(), ini, pattern, c.Duration("scan"))
	ini.Close()
	if err != nil {
		return err
	}
	if len(found) == 0 {
		return fmt.Errorf("no target of %v answered on %v within %v", pattern, used, c.Duration("scan"))
	}
	args := childArgs(os.Args[1:], c.Args().Slice())
	results := make([]string, len(found))
	failed := make([]bool, len(found))
	var wg sync.WaitGroup
	for i, addr := range found {
		if s, err := session.Find(addr.String()); err == nil && session.Serving(addr.String()) {
			results[i] = fmt.Sprintf("%s\t%s\t(attached already)", addr, s.Device)
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			warn := func(msg string) { fmt.Fprintf(os.Stderr, "aoe-attach: %s: warning: %s\n", addr, msg) }
			dev, err := background(addr, append(slices.Clone(args), addr.String()), warn)
			if err != nil {
				failed[i] = true
				results[i] = fmt.Sprintf("%s\t-\t%v", addr, err)
				return
			}
			results[i] = fmt.Sprintf("%s\t%s", addr, dev)
		}()
	}
	wg.Wait()
	n := 0
	for i, line := range results {
		if failed[i] {
			n++
			fmt.Fprintln(os.Stderr, "aoe-attach:", line)
			continue
		}
		fmt.Println(line)
	}
	if n > 0 {
		return fmt.Errorf("%d of %d targets not attached", n, len(found))
	}
	return nil
}

// Auto-attach: how often the attached set is compared with the answering
// one (announcements arrive between queries), how often the targets are
// asked, and how long a target that failed to attach is left alone.
const (
	autoCheck   = time.Second
	autoQuery   = 10 * time.Second
	autoBackoff = 30 * time.Second
)

// autoAttach attaches, as the kernel aoe driver does, every target of the
// pattern that announces itself or answers the periodic query, until
// SIGTERM; never one a person detached (until it is attached by hand).
func autoAttach(c *cli.Context, pattern discovery.Pattern) error {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	ini, used, err := discovery.Open(c.StringSlice("iface"), initiator.Options{})
	if err != nil {
		return err
	}
	defer ini.Close()
	fmt.Fprintf(os.Stderr, "aoe-attach: attaching every target of %v that answers on %v\n", pattern, used)
	args := childArgs(os.Args[1:], c.Args().Slice())
	retry := map[initiator.Addr]time.Time{}
	var queried time.Time
	tick := time.NewTicker(autoCheck)
	defer tick.Stop()
	for {
		if time.Since(queried) >= autoQuery {
			_ = ini.Query(pattern.Query())
			queried = time.Now()
		}
		for _, t := range ini.Targets() {
			addr := t.Addr()
			name := addr.String()
			if !pattern.Match(addr) || session.Serving(name) || session.WasDetached(name) || time.Now().Before(retry[addr]) {
				continue
			}
			dev, err := background(addr, append(slices.Clone(args), name), func(msg string) {
				fmt.Fprintf(os.Stderr, "aoe-attach: %s: warning: %s\n", addr, msg)
			})
			if err != nil {
				retry[addr] = time.Now().Add(autoBackoff)
				fmt.Fprintf(os.Stderr, "aoe-attach: %s: %v (trying again in %v)\n", addr, err, autoBackoff)
				continue
			}
			fmt.Printf("%s\t%s\n", addr, dev)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}

// childArgs is the command line each target's serving process gets: ours
// without the pattern and the flags that choose many targets.
func childArgs(args, positional []string) []string {
	var out []string
	skip := map[string]bool{"--all": true, "-all": true, "-a": true, "--auto": true, "-auto": true}
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case skip[a]:
		case a == "--scan" || a == "-scan":
			i++ // and its value
		case strings.HasPrefix(a, "--scan=") || strings.HasPrefix(a, "-scan="):
		case slices.Contains(positional, a):
		default:
			out = append(out, a)
		}
	}
	return out
}
