// Command aoe-mask reads and edits an AoE target's MAC mask list (AoE
// command 2): the initiators the target serves, every one when the list is
// empty. aoetools has no command for it; vblade's -m sets the list at
// start, this changes it while the target runs.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/goaoe/goaoe/discovery"
	"github.com/goaoe/goaoe/initiator"
	"github.com/goaoe/goaoe/initiator/wire"
	"github.com/goaoe/goaoe/internal/version"
	"github.com/goaoe/goaoe/rawport"
)

func main() {
	app := version.Apply(&cli.App{
		Name:      "aoe-mask",
		Usage:     "read or edit an AoE target's MAC mask list (the initiators it serves)",
		ArgsUsage: "eSHELF.SLOT [+MAC|-MAC]...",
		Description: "With no MACs, prints the list (empty: the target serves every initiator). " +
			"+MAC adds, -MAC removes; the list after the edit is printed. A target with a " +
			"non-empty list ignores everyone else, this host too if it is left off.",
		Flags: []cli.Flag{
			&cli.StringSliceFlag{Name: "iface", Aliases: []string{"i"}, Usage: "interface to use (repeat for more); default: every Ethernet interface that is up"},
			&cli.DurationFlag{Name: "timeout", Aliases: []string{"t"}, Value: 2 * time.Second, Usage: "how long to wait for the target"},
			&cli.BoolFlag{Name: "json", Usage: "print JSON for scripts"},
		},
		Action: run,
	})
	if err := app.Run(os.Args); err != nil {
		fmt.Fprintln(os.Stderr, "aoe-mask:", err)
		os.Exit(version.ExitCode(err))
	}
}

func run(c *cli.Context) error {
	if c.NArg() < 1 {
		return version.Usage(errors.New("name a target, e.g. aoe-mask e1.2 +02:00:00:00:00:01"))
	}
	addr, err := initiator.ParseAddr(c.Args().First())
	if err != nil {
		return version.Usage(err)
	}
	add, remove, err := edits(c.Args().Tail())
	if err != nil {
		return version.Usage(err)
	}
	timeout := c.Duration("timeout")
	ini, _, err := discovery.Open(c.StringSlice("iface"), initiator.Options{Deadline: max(2*timeout, 2*time.Second)})
	if err != nil {
		return err
	}
	defer ini.Close()
	t, err := discovery.WaitFor(context.Background(), ini, addr, timeout)
	if err != nil {
		return err
	}
	var macs []wire.MAC
	if len(add)+len(remove) == 0 {
		macs, err = t.MaskList()
	} else {
		macs, err = t.EditMask(add, remove)
	}
	if err != nil {
		if errors.Is(err, initiator.ErrMaskNotApplied) {
			err = fmt.Errorf("%w; its list now: %s", err, list(macs))
		}
		return err
	}
	if len(macs) > 0 && !slices.ContainsFunc(macs, isLocal) {
		fmt.Fprintf(os.Stderr, "aoe-mask: warning: %s now serves none of this host's MACs: it ignores this host (aoe-mask too) until someone on the list, or its administrator, adds one back\n", addr)
	}
	names := make([]string, len(macs))
	for i, m := range macs {
		names[i] = m.String()
	}
	if c.Bool("json") {
		enc := json.NewEncoder(c.App.Writer)
		enc.SetIndent("", "  ")
		return enc.Encode(struct {
			Target string   `json:"target"`
			MACs   []string `json:"macs"`
		}{addr.String(), names})
	}
	fmt.Fprintf(c.App.Writer, "%s: %s\n", addr, list(macs))
	return nil
}

func list(macs []wire.MAC) string {
	if len(macs) == 0 {
		return "empty (every initiator is served)"
	}
	names := make([]string, len(macs))
	for i, m := range macs {
		names[i] = m.String()
	}
	return strings.Join(names, " ")
}

// edits reads +MAC and -MAC arguments.
func edits(args []string) (add, remove []wire.MAC, err error) {
	for _, a := range args {
		if len(a) < 2 || (a[0] != '+' && a[0] != '-') {
			return nil, nil, fmt.Errorf("%q: want +MAC to add or -MAC to remove, e.g. +02:00:00:00:00:01", a)
		}
		m, err := wire.ParseMAC(a[1:])
		if err != nil {
			return nil, nil, err
		}
		if a[0] == '+' {
			add = append(add, m)
		} else {
			remove = append(remove, m)
		}
	}
	return add, remove, nil
}

// isLocal reports whether m is one of this host's Ethernet interfaces.
func isLocal(m wire.MAC) bool {
	ifs, _ := net.Interfaces()
	for i := range ifs {
		if rawport.Ethernet(&ifs[i]) == nil && string(ifs[i].HardwareAddr) == string(m[:]) {
			return true
		}
	}
	return false
}
