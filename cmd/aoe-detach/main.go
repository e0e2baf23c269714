// Command aoe-detach detaches an attached AoE target: its serving process
// flushes the target, lets go of the nbd device and exits.
package main

import (
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/goaoe/goaoe/internal/version"
	"github.com/goaoe/goaoe/session"
)

func main() {
	app := version.Apply(&cli.App{
		Name:      "aoe-detach",
		Usage:     "detach an attached AoE target",
		ArgsUsage: "eSHELF.SLOT|/dev/nbdN | --all",
		Flags: []cli.Flag{
			&cli.DurationFlag{Name: "timeout", Value: 90 * time.Second, Usage: "how long to wait for the serving process to finish"},
			&cli.BoolFlag{Name: "all", Aliases: []string{"a"}, Usage: "detach every attached target, all at once; one line each"},
		},
		Action: func(c *cli.Context) error {
			if c.Bool("all") && c.NArg() == 0 {
				return detachAll(c.Duration("timeout"))
			}
			if c.NArg() != 1 || c.Bool("all") {
				return errors.New("name one target or device (e.g. aoe-detach e1.2), or --all")
			}
			s, err := session.Detach(c.Args().First(), c.Duration("timeout"))
			if err != nil {
				return err
			}
			fmt.Printf("%s detached from %s\n", s.Target, s.Device)
			return nil
		},
	})
	if err := app.Run(os.Args); err != nil {
		fmt.Fprintln(os.Stderr, "aoe-detach:", err)
		os.Exit(1)
	}
}

// detachAll detaches every session at once and prints a line for each;
// it fails if any did.
func detachAll(timeout time.Duration) error {
	all, err := session.List()
	if err != nil {
		return err
	}
	lines := make([]string, len(all))
	errs := make([]error, len(all))
	var wg sync.WaitGroup
	for i, s := range all {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, errs[i] = session.Detach(s.Target, timeout); errs[i] == nil {
				lines[i] = fmt.Sprintf("%s detached from %s", s.Target, s.Device)
			}
		}()
	}
	wg.Wait()
	failed := 0
	for i := range all {
		if errs[i] != nil {
			failed++
			fmt.Fprintf(os.Stderr, "aoe-detach: %s: %v\n", all[i].Target, errs[i])
			continue
		}
		fmt.Println(lines[i])
	}
	if failed > 0 {
		return fmt.Errorf("%d of %d targets not detached", failed, len(all))
	}
	return nil
}
