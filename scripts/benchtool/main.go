// Command benchtool is the guest-side helper of scripts/bench, the
// side-by-side benchmark of aoe-attach against the Linux kernel's aoe
// driver, and the host-side formatter of its results.
//
//	benchtool randread --dev PATH [--qd N] [--seconds S] [--bs B] [measure flags]
//	benchtool run [--bytes N] [measure flags] -- COMMAND [ARG...]
//	benchtool table < console.log
//	benchtool mark --iface IF LABEL
//	benchtool wire --iface IF [--out FILE]
//	benchtool memdisk --size N[K|M|G] [--device /dev/nbdN] [--write-through]
//
// randread issues random, aligned O_DIRECT reads from N goroutines for S
// seconds. run runs a command (dd, typically) and measures it. Both print
// one line of key=value pairs on stdout (see Result.Line) that the guest
// script prefixes with "BENCH workload=... who=..." and table turns into
// the report. Measure flags: --pid PID (the serving process, whose
// utime+stime is counted), --iface IF (whose packet counters are counted),
// --state FILE (aoe-attach's state file, for its sent/retransmitted/lost
// counters), --timeout D (give up on a hung run), --kick DEV and
// --kick-debugfs FILE (get the Linux aoe driver out of a stall, kick.go).
//
// mark and wire (wire.go) show where a run's time goes: the guest marks
// each run on the wire, and wire, on the host, times the target's answers.
//
// memdisk (memdisk.go) serves an in-memory disk as /dev/nbdN through our
// NBD server, as aoe-attach serves a target: the NBD ceiling of the
// benchmark. It prints the device once it is usable and detaches on
// SIGTERM.
//
// Built static (CGO_ENABLED=0) for the test guest; Linux only.
package main

import (
	"fmt"
	"os"
)

func main() {
	if len(os.Args) < 2 {
		usage()
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "randread":
		err = randreadCmd(os.Args[2:])
	case "run":
		err = runCmd(os.Args[2:])
	case "table":
		err = tableCmd(os.Args[2:])
	case "mark":
		err = markCmdMain(os.Args[2:])
	case "wire":
		err = wireCmdMain(os.Args[2:])
	case "memdisk":
		err = memdiskCmd(os.Args[2:])
	case "-h", "--help", "help":
		usage()
		return
	default:
		fmt.Fprintf(os.Stderr, "benchtool: unknown command %q\n", os.Args[1])
		usage()
		os.Exit(2)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "benchtool:", err)
		if e, ok := err.(exitError); ok {
			os.Exit(e.code)
		}
		os.Exit(1)
	}
}

func usage() {
	fmt.Fprint(os.Stderr, `usage:
  benchtool randread --dev PATH [--qd N] [--seconds S] [--bs BYTES] [--span BYTES] [measure flags]
  benchtool run [--bytes N] [measure flags] -- COMMAND [ARG...]
  benchtool table < console.log
  benchtool mark --iface IF LABEL
  benchtool wire --iface IF [--out FILE]
  benchtool memdisk --size N[K|M|G] [--device /dev/nbdN] [--write-through] [--nbd-interface auto|netlink|ioctl]
measure flags: --pid PID  --iface IF  --state FILE  --timeout DURATION
               --kick DEV  --kick-debugfs FILE
`)
}

// exitError carries a specific exit status (a failed command's).
type exitError struct {
	code int
	msg  string
}

func (e exitError) Error() string { return e.msg }
