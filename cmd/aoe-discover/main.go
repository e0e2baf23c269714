// Command aoe-discover finds the AoE targets on the local Ethernet segments
// and prints them, like aoetools' aoe-discover followed by aoe-stat, without
// needing the kernel's aoe driver; with --check it also looks for what an
// admin must fix, like aoe-sancheck (check.go).
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/goaoe/goaoe/discovery"
	"github.com/goaoe/goaoe/initiator"
	"github.com/goaoe/goaoe/initiator/wire"
	"github.com/goaoe/goaoe/internal/version"
)

func main() {
	app := version.Apply(&cli.App{
		Name:      "aoe-discover",
		Usage:     "find AoE targets on the local Ethernet segments",
		ArgsUsage: "[eSHELF.SLOT]",
		Description: "The counterpart of aoetools' aoe-discover followed by aoe-stat, without the kernel aoe driver; " +
			"with --check, the counterpart of aoe-sancheck: each path (local interface, target MAC) is then sent " +
			"IDENTIFY and one read of a full frame alone, and our MTUs are compared with the sector counts the " +
			"targets advertise; each problem is a warning line that says what to do. Exit 0 when targets answered " +
			"(and --check found nothing), 1 when none answered, 2 on other errors, 3 when --check found problems.",
		Flags: []cli.Flag{
			&cli.StringSliceFlag{Name: "iface", Aliases: []string{"i"}, Usage: "interface to use (repeat for more); default: every Ethernet interface that is up"},
			&cli.DurationFlag{Name: "timeout", Aliases: []string{"t"}, Value: 2 * time.Second, Usage: "how long to wait for answers"},
			&cli.BoolFlag{Name: "json", Usage: "print JSON for scripts"},
			&cli.BoolFlag{Name: "check", Usage: "check the SAN, like aoe-sancheck: paths that carry no I/O, MTUs that do not match the targets' frames (exit 3 if any)"},
		},
		Action: run,
	})
	if err := app.Run(os.Args); err != nil {
		fmt.Fprintln(os.Stderr, "aoe-discover:", err)
		os.Exit(exitCode(err))
	}
}

// errNone is the "nothing answered" outcome: exit 1, as aoe-stat users
// expect from a query that found nothing.
type errNone struct{ msg string }

func (e errNone) Error() string { return e.msg }

func exitCode(err error) int {
	switch err.(type) {
	case errNone:
		return 1
	case errProblems:
		return exitProblems
	}
	return 2
}

func run(c *cli.Context) error {
	want := initiator.AllTargets
	if c.NArg() > 1 {
		return fmt.Errorf("at most one target, got %q", c.Args().Slice())
	}
	if c.NArg() == 1 {
		var err error
		if want, err = initiator.ParseAddr(c.Args().First()); err != nil {
			return err
		}
	}
	timeout := c.Duration("timeout")
	// IDENTIFY gets the same patience as the config query.
	deadline := max(timeout, time.Second)
	ini, used, err := discovery.Open(c.StringSlice("iface"), initiator.Options{Deadline: deadline})
	if err != nil {
		return err
	}
	defer ini.Close()
	found, err := discovery.Scan(context.Background(), ini, want, timeout)
	if err != nil {
		return err
	}
	if len(found) == 0 {
		what := "no AoE target answered"
		if want != initiator.AllTargets {
			what = "AoE target " + want.String() + " did not answer"
		}
		return errNone{fmt.Sprintf("%s on %s within %v", what, strings.Join(used, ", "), timeout)}
	}
	var checked map[initiator.Addr][]problem
	if c.Bool("check") {
		// The probes have engines of their own: this one would only
		// count their answers as strays.
		ini.Close()
		checked = checkTargets(found, deadline)
	}
	if c.Bool("json") {
		if err := printJSON(c.App.Writer, found, checked); err != nil {
			return err
		}
	} else {
		printTable(c.App.Writer, found)
		if checked != nil {
			printProblems(c.App.Writer, found, checked)
		}
	}
	n := 0
	for _, ps := range checked {
		n += len(ps)
	}
	if n > 0 {
		return errProblems{n}
	}
	return nil
}

// printProblems prints one warning line per problem, in the targets'
// order, or says there is none.
func printProblems(w io.Writer, found []discovery.Target, checked map[initiator.Addr][]problem) {
	n := 0
	for _, t := range found {
		for _, p := range checked[t.Addr] {
			fmt.Fprintln(w, "warning:", p.Message)
			n++
		}
	}
	if n == 0 {
		fmt.Fprintln(w, "no problems found")
	}
}

// sizeGB is the size as aoe-stat prints it: GB of 10^9 bytes.
func sizeGB(t discovery.Target) string {
	if t.Identity == nil {
		return "?"
	}
	return fmt.Sprintf("%.3fGB", float64(t.Identity.Size())/1e9)
}

func printTable(w io.Writer, found []discovery.Target) {
	tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "TARGET\tSIZE\tINTERFACES\tMACS\tPAYLOAD\tBUFCNT\tFIRMWARE\tFLUSH\tRESERVE\tCONFIG")
	for _, t := range found {
		flush, reserve := "?", "?"
		if t.Learned.Probed {
			flush, reserve = initiator.FlushName(t.Learned.FlushCommand), "no"
			if t.Learned.Reservations {
				reserve = "yes"
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%d\t%#04x\t%s\t%s\t%s\n", t.Addr, sizeGB(t),
			strings.Join(t.Interfaces(), ","), strings.Join(t.MACs(), ","),
			t.PayloadBytes, t.Config.BufferCount, t.Config.Firmware, flush, reserve, t.Config.String)
	}
	tw.Flush()
	for _, t := range found {
		if t.IdentifyError != nil {
			fmt.Fprintf(w, "warning: %s answered the config query but not IDENTIFY: %v\n", t.Addr, t.IdentifyError)
		}
	}
}

type jsonTarget struct {
	Target       string   `json:"target"`
	SizeBytes    int64    `json:"size_bytes"`
	Interfaces   []string `json:"interfaces"`
	MACs         []string `json:"macs"`
	PayloadBytes int      `json:"payload_bytes"`
	BufferCount  int      `json:"buffer_count"`
	Firmware     uint16   `json:"firmware"`
	SectorCount  int      `json:"max_sectors"`
	Config       string   `json:"config"`
	Model        string   `json:"model,omitempty"`
	Serial       string   `json:"serial,omitempty"`
	LBA48        bool     `json:"lba48"`
	// What probing found (initiator.Learn).
	Flush           string `json:"flush"` // "0xea", "0xe7" or "none"
	FlushProblem    string `json:"flush_problem,omitempty"`
	Reservations    bool   `json:"reservations"`
	SectorsPerFrame int    `json:"sectors_per_frame"`
	Error           string `json:"error,omitempty"`
	// Problems is what --check found, [] if nothing; absent without
	// --check, so that a script can tell "not checked" from "fine".
	Problems *[]problem `json:"problems,omitempty"`
}

// printJSON prints the targets, with their problems if checked is not nil.
func printJSON(w io.Writer, found []discovery.Target, checked map[initiator.Addr][]problem) error {
	out := make([]jsonTarget, 0, len(found))
	for _, t := range found {
		j := jsonTarget{Target: t.Addr.String(), Interfaces: t.Interfaces(), MACs: t.MACs(), PayloadBytes: t.PayloadBytes,
			BufferCount: t.Config.BufferCount, Firmware: t.Config.Firmware, SectorCount: t.Config.MaxSectors, Config: t.Config.String}
		if id := t.Identity; id != nil {
			j.SizeBytes, j.Model, j.Serial, j.LBA48 = id.Size(), id.Model, id.Serial, id.LBA48
		}
		j.Flush, j.FlushProblem, j.Reservations = initiator.FlushName(t.Learned.FlushCommand), t.Learned.FlushProblem, t.Learned.Reservations
		j.SectorsPerFrame = t.PayloadBytes / wire.SectorSize
		if t.IdentifyError != nil {
			j.Error = t.IdentifyError.Error()
		}
		if checked != nil {
			ps := append([]problem{}, checked[t.Addr]...)
			j.Problems = &ps
		}
		out = append(out, j)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	// The warnings' "->" as it is, not \u003e.
	enc.SetEscapeHTML(false)
	return enc.Encode(out)
}
