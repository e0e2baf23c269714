// Command aoe-revalidate has an attached target's serving process ask the
// target its size again and resize the nbd device to it, so that a
// filesystem can grow into a target that grew (resize2fs).
package main

import (
	"encoding/json"
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
		Name:      "aoe-revalidate",
		Usage:     "read an attached AoE target's size again and resize its device",
		ArgsUsage: "eSHELF.SLOT|/dev/nbdN",
		Description: "The counterpart of aoetools' aoe-revalidate. The serving process asks the target " +
			"(ATA IDENTIFY) and resizes the device: it grows under a mounted filesystem, which resize2fs " +
			"can then grow; it shrinks only when nothing holds the device (unmounted), and a target that " +
			"now identifies as another disk is not resized. systemctl reload aoe-attach@eX.Y does the same. " +
			"Exit 0 when the device has the target's size, 1 when it does not or the target did not answer.",
		Flags: []cli.Flag{
			&cli.DurationFlag{Name: "timeout", Aliases: []string{"t"}, Value: 30 * time.Second, Usage: "how long to wait for the serving process's answer"},
			&cli.BoolFlag{Name: "json", Usage: "print JSON for scripts"},
		},
		Action: run,
	})
	if err := app.Run(os.Args); err != nil {
		fmt.Fprintln(os.Stderr, "aoe-revalidate:", err)
		os.Exit(1)
	}
}

func run(c *cli.Context) error {
	if c.NArg() != 1 {
		return errors.New("name one target or device, e.g. aoe-revalidate e1.2")
	}
	s, r, err := session.Revalidate(c.Args().First(), c.Duration("timeout"))
	if err != nil {
		return err
	}
	if c.Bool("json") {
		enc := json.NewEncoder(c.App.Writer)
		enc.SetIndent("", "  ")
		if err := enc.Encode(struct {
			Target string `json:"target"`
			Device string `json:"device"`
			*session.Revalidation
		}{s.Target, s.Device, r}); err != nil {
			return err
		}
	}
	if r.Error != "" {
		return fmt.Errorf("%s: %s", s.Target, r.Error)
	}
	if c.Bool("json") {
		return nil
	}
	switch {
	case r.SizeBytes > r.FromBytes:
		fmt.Fprintf(c.App.Writer, "%s: %s grown from %d to %d bytes (resize2fs %s grows an ext4 on it)\n", s.Target, s.Device, r.FromBytes, r.SizeBytes, s.Device)
	case r.SizeBytes < r.FromBytes:
		fmt.Fprintf(c.App.Writer, "%s: %s shrunk from %d to %d bytes\n", s.Target, s.Device, r.FromBytes, r.SizeBytes)
	default:
		fmt.Fprintf(c.App.Writer, "%s: %s unchanged at %d bytes\n", s.Target, s.Device, r.SizeBytes)
	}
	return nil
}
