// Command aoe-stat lists the AoE targets attached on this host, with
// aoetools' aoe-stat columns plus the nbd device, and with -v every path's
// health; --json and --prometheus (prometheus.go) give the same for
// scripts and for monitoring.
package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/urfave/cli/v2"

	"github.com/goaoe/goaoe/internal/version"
	"github.com/goaoe/goaoe/session"
)

func main() {
	app := version.Apply(&cli.App{
		Name:  "aoe-stat",
		Usage: "show the attached AoE targets",
		Description: "The counterpart of aoetools' aoe-stat, read from goaoe's serving processes (/run/goaoe) " +
			"instead of the kernel aoe driver. For node_exporter's textfile collector, write to a temporary name and rename, " +
			"so that it never reads half a file: aoe-stat --prometheus > /var/lib/prometheus/node-exporter/aoe.prom.$$ && " +
			"mv /var/lib/prometheus/node-exporter/aoe.prom.$$ /var/lib/prometheus/node-exporter/aoe.prom",
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "verbose", Aliases: []string{"v"}, Usage: "show every path: interface, target MAC, window, RTT, frames"},
			&cli.BoolFlag{Name: "json", Usage: "print JSON for scripts"},
			&cli.BoolFlag{Name: "prometheus", Usage: "print every target's, path's and socket's counters in the Prometheus text format, for node_exporter's textfile collector (see DESCRIPTION)"},
		},
		Action: func(c *cli.Context) error {
			if c.Bool("json") && c.Bool("prometheus") {
				return version.Usage(errors.New("--json and --prometheus are two output formats: give one"))
			}
			all, err := session.List()
			if err != nil {
				return err
			}
			if c.Bool("prometheus") {
				return writePrometheus(c.App.Writer, all)
			}
			if c.Bool("json") {
				if all == nil {
					all = []session.State{}
				}
				enc := json.NewEncoder(c.App.Writer)
				enc.SetIndent("", "  ")
				return enc.Encode(all)
			}
			print(c.App.Writer, all, c.Bool("verbose"))
			return nil
		},
	})
	if err := app.Run(os.Args); err != nil {
		fmt.Fprintln(os.Stderr, "aoe-stat:", err)
		os.Exit(version.ExitCode(err))
	}
}

func print(w io.Writer, all []session.State, verbose bool) {
	tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "TARGET\tSIZE\tINTERFACES\tPAYLOAD\tSTATE\tDEVICE")
	for _, s := range all {
		ifaces := strings.Join(s.Interfaces(), ",")
		if ifaces == "" {
			ifaces = "-" // an empty column would shift the rest for awk
		}
		fmt.Fprintf(tw, "%s\t%.3fGB\t%s\t%d\t%s\t%s\n", s.Target, float64(s.SizeBytes)/1e9,
			ifaces, s.PayloadBytes, s.State, s.Device)
	}
	tw.Flush()
	for _, s := range all {
		if s.Reason != "" {
			fmt.Fprintf(w, "%s: %s\n", s.Target, s.Reason)
		}
		for _, warning := range s.Warnings {
			fmt.Fprintf(w, "%s: %s\n", s.Target, warning)
		}
	}
	if !verbose {
		return
	}
	for _, s := range all {
		fmt.Fprintf(w, "\n%s target: flush %s, reservations %s, LBA48 %s, %d sectors per frame, buffer count %d, read-only %s, flush status echoes %d\n",
			s.Target, s.Flush, yesNo(s.Reservations), yesNo(s.LBA48), s.SectorsPerFrame, s.BufferCount, yesNo(s.TargetReadOnly || s.ReadOnly), s.FlushStatusEchoes)
		fmt.Fprintf(w, "%s paths (late replies: %d; dropped: %d unmatched, %d foreign, %d malformed)\n", s.Target, s.RepliesLate, s.RepliesUnmatched, s.RepliesForeign, s.RepliesMalformed)
		tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
		fmt.Fprintln(tw, "  INTERFACE\tTARGET MAC\tSTATE\tWINDOW\tINFLIGHT\tSRTT\tSENT\tRETRANSMITTED\tLOST")
		for _, p := range s.Paths {
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%d\t%d\t%.0fus\t%d\t%d\t%d\n", p.Interface, p.MAC, p.State, p.Window, p.Inflight, p.SRTTMicros, p.Sent, p.Retransmitted, p.Lost)
		}
		tw.Flush()
		if len(s.Sockets) == 0 {
			continue
		}
		// Frames per system call: where a userspace initiator's CPU goes.
		fmt.Fprintf(w, "%s sockets (all traffic of the serving process)\n", s.Target)
		tw = tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
		fmt.Fprintln(tw, "  INTERFACE\tFRAMES OUT\tSENDS\tPER SEND\tSEND DROPPED\tFRAMES IN\tRECEIVES\tPER RECEIVE\tEMPTY RECEIVES\tKERNEL DROPPED")
		for _, k := range s.Sockets {
			fmt.Fprintf(tw, "  %s\t%d\t%d\t%s\t%d\t%d\t%d\t%s\t%d\t%d\n", k.NIC, k.FramesOut, k.SendCalls, per(k.FramesOut, k.SendCalls),
				k.SendDropped, k.FramesIn, k.ReceiveCalls, per(k.FramesIn, k.ReceiveCalls), k.ReceiveEmpty, k.KernelDropped)
		}
		tw.Flush()
	}
}

func per(frames, calls uint64) string {
	if calls == 0 {
		return "-"
	}
	return fmt.Sprintf("%.1f", float64(frames)/float64(calls))
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}
