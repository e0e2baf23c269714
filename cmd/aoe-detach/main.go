// Command aoe-detach detaches an attached AoE target: its serving process
// flushes the target, lets go of the nbd device and exits.
package main

import (
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/goaoe/goaoe/internal/version"
	"github.com/goaoe/goaoe/session"
)

func main() {
	app := version.Apply(&cli.App{
		Name:      "aoe-detach",
		Usage:     "detach an attached AoE target",
		ArgsUsage: "eSHELF.SLOT|/dev/nbdN",
		Flags: []cli.Flag{
			&cli.DurationFlag{Name: "timeout", Value: 90 * time.Second, Usage: "how long to wait for the serving process to finish"},
		},
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 {
				return errors.New("name one target or device, e.g. aoe-detach e1.2")
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
