// Command aoe-cfg reads, tests and sets an AoE target's config string (AoE
// Query Config, command 1): up to 1024 bytes a target keeps for its
// initiators, most often to say which host owns it. It is aoetools'
// aoecfg with aoe-mask's command line; the protocol side is the
// initiator package's (config.go).
package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/goaoe/goaoe/discovery"
	"github.com/goaoe/goaoe/initiator"
	"github.com/goaoe/goaoe/initiator/wire"
	"github.com/goaoe/goaoe/internal/version"
)

func main() {
	app := version.Apply(&cli.App{
		Name:      "aoe-cfg",
		Usage:     "read, test or set an AoE target's config string",
		ArgsUsage: "[eSHELF.SLOT]",
		// Options go first, as in every goaoe command (urfave/cli stops
		// at the first argument): aoe-cfg --set STR e1.2.
		Description: "The counterpart of aoetools' aoecfg (its read, test, prefix, set and fset commands, with the target named eSHELF.SLOT). " +
			"With a target and no option, prints its config string; --set STR sets it if it is empty " +
			"(add --force to replace one), --test STR and --test-prefix STR exit 0 if it is STR or " +
			"starts with STR, 1 if not. With no target, every target on the segment is asked: its " +
			"string is printed, or with --test and --test-prefix the targets that match are listed. " +
			"A target answers a test only when its string matches, so a test waits a second for its answer. " +
			"Options go before the target: aoe-cfg --set host1 e1.2.",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "set", Usage: "set the config string to `STR` if the target has none"},
			&cli.BoolFlag{Name: "force", Usage: "with --set: replace the string the target has"},
			&cli.StringFlag{Name: "test", Usage: "exit 0 if the config string is `STR`, 1 if not"},
			&cli.StringFlag{Name: "test-prefix", Usage: "exit 0 if the config string starts with `STR`, 1 if not"},
			&cli.StringSliceFlag{Name: "iface", Aliases: []string{"i"}, Usage: "interface to use (repeat for more); default: every Ethernet interface that is up"},
			&cli.DurationFlag{Name: "timeout", Aliases: []string{"t"}, Value: 2 * time.Second, Usage: "how long to wait for the target to answer a read (with no target: how long every target has to answer)"},
			&cli.BoolFlag{Name: "json", Usage: "print JSON for scripts"},
		},
		Action: run,
	})
	if err := app.Run(os.Args); err != nil {
		if !errors.Is(err, errNoMatch) {
			fmt.Fprintln(os.Stderr, "aoe-cfg:", err)
		}
		os.Exit(version.ExitCode(err))
	}
}

// errNoMatch is a test that did not match: exit 1, and nothing on stderr,
// the answer is on stdout.
var errNoMatch = errors.New("no match")

// request is what the command line asks.
type request struct {
	target initiator.Addr // AllTargets: every target
	op     wire.ConfigCommand
	str    string
}

func (r request) test() bool {
	return r.op == wire.ConfigTest || r.op == wire.ConfigTestPrefix
}

func parse(c *cli.Context) (request, error) {
	r := request{target: initiator.AllTargets, op: wire.ConfigRead}
	switch c.NArg() {
	case 0:
	case 1:
		a, err := initiator.ParseAddr(c.Args().First())
		if err != nil {
			return r, err
		}
		r.target = a
	default:
		if strings.HasPrefix(c.Args().Get(1), "-") {
			return r, fmt.Errorf("options go before the target, e.g. aoe-cfg --set host1 e1.2 (got %q)", c.Args().Slice())
		}
		return r, fmt.Errorf("one target at most, got %q", c.Args().Slice())
	}
	var picked []string
	for _, f := range []struct {
		name string
		op   wire.ConfigCommand
	}{{"set", wire.ConfigSetIfEmpty}, {"test", wire.ConfigTest}, {"test-prefix", wire.ConfigTestPrefix}} {
		if c.IsSet(f.name) {
			picked = append(picked, "--"+f.name)
			r.op, r.str = f.op, c.String(f.name)
		}
	}
	switch {
	case len(picked) > 1:
		return r, fmt.Errorf("%v: pick one", picked)
	case c.Bool("force") && r.op != wire.ConfigSetIfEmpty:
		return r, errors.New("--force goes with --set STR")
	case r.op == wire.ConfigSetIfEmpty && r.target == initiator.AllTargets:
		return r, errors.New("--set needs a target, e.g. aoe-cfg --set host1 e1.2: every target's string at once is refused")
	case len(r.str) > wire.MaxConfigString:
		return r, fmt.Errorf("the string is %d bytes: %w", len(r.str), initiator.ErrConfigTooLong)
	}
	if c.Bool("force") {
		r.op = wire.ConfigForceSet
	}
	return r, nil
}

func run(c *cli.Context) error {
	r, err := parse(c)
	if err != nil {
		return version.Usage(err)
	}
	ini, _, err := discovery.Open(c.StringSlice("iface"), initiator.Options{})
	if err != nil {
		return err
	}
	defer ini.Close()
	out := output{c: c}
	if r.target == initiator.AllTargets {
		return every(ini, r, c.Duration("timeout"), out)
	}
	// A read first, whatever the command: it tells a missing target from
	// a mismatch, whose silence would say the same.
	ev, err := ini.ReadConfig(r.target, c.Duration("timeout"))
	if err != nil {
		return err
	}
	switch {
	case r.test():
		return test(ini, r, ev, out)
	case r.op != wire.ConfigRead:
		ev, err = ini.SetConfig(r.target, []byte(r.str), r.op == wire.ConfigForceSet)
		if errors.Is(err, initiator.ErrConfigPresent) {
			err = fmt.Errorf("%w; use --force to replace it", err)
		}
		if err != nil {
			return err
		}
	}
	return out.one(ev, nil, "")
}

// test runs a test on one target, whose string ev (a read) has.
func test(ini *initiator.Initiator, r request, ev initiator.ConfigEvent, out output) error {
	prefix := r.op == wire.ConfigTestPrefix
	got, err := ini.TestConfig(r.target, []byte(r.str), prefix)
	if err != nil {
		return err
	}
	match := len(got) > 0
	if match {
		ev = got[0]
	} else if initiator.ConfigMatches(ev.Config.String, r.str, prefix) {
		return fmt.Errorf("%s: its config string %s matches, but it did not answer the test: it does not implement config string tests", r.target, strconv.Quote(ev.Config.String))
	}
	verb := map[[2]bool]string{
		{false, true}: "matches", {false, false}: "does not match",
		{true, true}: "starts with", {true, false}: "does not start with",
	}[[2]bool{prefix, match}]
	if err := out.one(ev, &match, verb+" "+strconv.Quote(r.str)); err != nil {
		return err
	}
	if !match {
		return errNoMatch
	}
	return nil
}

// every asks every target on the segment: for its string, or for the
// test r names.
func every(ini *initiator.Initiator, r request, wait time.Duration, out output) error {
	var got []initiator.ConfigEvent
	var err error
	if r.test() {
		got, err = ini.TestConfig(initiator.AllTargets, []byte(r.str), r.op == wire.ConfigTestPrefix)
	} else {
		got, err = ini.ReadConfigs(wait)
	}
	if err != nil {
		return err
	}
	if err := out.list(got, r.test()); err != nil {
		return err
	}
	switch {
	case len(got) > 0:
		return nil
	case r.test():
		return fmt.Errorf("no target's config string %s %s", map[bool]string{false: "is", true: "starts with"}[r.op == wire.ConfigTestPrefix], strconv.Quote(r.str))
	}
	return fmt.Errorf("no target answered within %v: check that targets are exported on this segment and --iface", wait)
}

// output prints answers as lines or, with --json, as JSON.
type output struct{ c *cli.Context }

// answer is an answer in JSON.
type answer struct {
	Target      string `json:"target"`
	Config      string `json:"config"`
	BufferCount int    `json:"buffer_count"`
	Firmware    uint16 `json:"firmware"`
	MaxSectors  int    `json:"max_sectors"`
	Interface   string `json:"interface"`
	MAC         string `json:"mac"`
	// Match is set for a test only.
	Match *bool `json:"match,omitempty"`
}

func toJSON(ev initiator.ConfigEvent, match *bool) answer {
	return answer{
		Target: ev.Target.String(), Config: ev.Config.String,
		BufferCount: ev.Config.BufferCount, Firmware: ev.Config.Firmware, MaxSectors: ev.Config.MaxSectors,
		Interface: ev.Port, MAC: ev.MAC.String(), Match: match,
	}
}

// one prints one target's answer; then, if set, follows the string.
func (o output) one(ev initiator.ConfigEvent, match *bool, then string) error {
	if o.c.Bool("json") {
		return o.json(toJSON(ev, match))
	}
	line := ev.Target.String() + ": " + strconv.Quote(ev.Config.String)
	if then != "" {
		line += " " + then
	}
	_, err := fmt.Fprintln(o.c.App.Writer, line)
	return err
}

// list prints every target's answer: an array in JSON, even empty.
func (o output) list(evs []initiator.ConfigEvent, test bool) error {
	if o.c.Bool("json") {
		all := make([]answer, 0, len(evs))
		for _, ev := range evs {
			var match *bool
			if test {
				match = &test
			}
			all = append(all, toJSON(ev, match))
		}
		return o.json(all)
	}
	for _, ev := range evs {
		if err := o.one(ev, nil, ""); err != nil {
			return err
		}
	}
	return nil
}

func (o output) json(v any) error {
	enc := json.NewEncoder(o.c.App.Writer)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
