// Command quirktarget is an AoE target that can behave like AoE targets
// other than vblade, for the project's tests and the guest harness only: it
// is not a product, not tuned, not hardened. It is memnet.Target (the
// engine's in-memory test target) served on a real raw socket, with a file
// as its disk and memnet.Quirks chosen on the command line.
//
// Its command line is vblade's, so scripts can run it in vblade's place:
//
//	quirktarget [-r] [-b BUFCNT] [-s SECTORS] [-q QUIRK[,QUIRK...]] SHELF SLOT IFACE FILE
//
//	-r          read-only: writes fail with ABRT (the file is opened O_RDONLY)
//	-b BUFCNT   buffer count advertised (16); it queues 4 times as many
//	-s SECTORS  sector count Query Config advertises; (MTU-36)/512 of IFACE
//	            by default, as vblade. More than fits the MTU is a quirk too:
//	            the answers to such requests are too large to send.
//	-q QUIRKS   comma-separated quirk names, -q may be repeated:
//	  silent-control     no answer to Reserve/Release and MAC mask list
//	  control-error1     AoE error 1 to Reserve/Release and MAC mask list
//	  echo-flush-status  flushes "complete" with the command byte as status
//	  abort-flush        every flush aborted although IDENTIFY claims it
//	  claim-no-flush     IDENTIFY claims no flush; flushes aborted
//	  flush-ext          IDENTIFY claims FLUSH CACHE EXT, 0xEA served
//	  bufcnt0            buffer count 0 advertised
//	  firmware0          firmware version 0 advertised
//	  announce-v0        start-up announcement with AoE version 0
//
// The capacity is the file's size in 512-byte sectors. Once its socket is
// open and its announcement sent, it prints what vblade prints,
// "pid N: eSHELF.SLOT, C sectors O_RDWR" (O_RDONLY with -r), then serves
// until SIGTERM or SIGINT. Usage errors exit with status 2, failures to
// start with 1.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"syscall"

	"github.com/goaoe/goaoe/internal/memnet"
	"github.com/goaoe/goaoe/rawport"
)

// quirks maps the command line's names to what they set.
var quirks = map[string]func(q *memnet.Quirks){
	"silent-control":    func(q *memnet.Quirks) { q.Control = memnet.ControlSilent },
	"control-error1":    func(q *memnet.Quirks) { q.Control = memnet.ControlUnrecognized },
	"echo-flush-status": func(q *memnet.Quirks) { q.EchoFlushStatus = true },
	"abort-flush":       func(q *memnet.Quirks) { q.AbortFlush = true },
	"claim-no-flush":    func(q *memnet.Quirks) { q.ClaimNoFlush = true },
	"flush-ext":         func(q *memnet.Quirks) { q.FlushExt = true },
	"bufcnt0":           func(q *memnet.Quirks) { q.ZeroBufferCount = true },
	"firmware0":         func(q *memnet.Quirks) { q.FirmwareZero = true },
	"announce-v0":       func(q *memnet.Quirks) { q.AnnounceVersion0 = true },
}

// quirkNames lists the valid names, sorted.
func quirkNames() string {
	names := make([]string, 0, len(quirks))
	for n := range quirks {
		names = append(names, n)
	}
	slices.Sort(names)
	return strings.Join(names, ", ")
}

// options is the parsed command line.
type options struct {
	readOnly    bool
	bufCount    int
	sectorCount int // -1: from the MTU
	quirks      memnet.Quirks
	shelf, slot int
	iface, file string
}

// errUsage marks a command line error (exit status 2).
var errUsage = errors.New("usage")

// quirkList is the -q flag: names accumulate over repeated flags.
type quirkList struct {
	q       *memnet.Quirks
	control string // the control quirk given, to refuse two
}

func (l *quirkList) String() string { return "" }

func (l *quirkList) Set(s string) error {
	for _, name := range strings.Split(s, ",") {
		set, ok := quirks[name]
		if !ok {
			return fmt.Errorf("unknown quirk %q; valid quirks: %s", name, quirkNames())
		}
		if name == "silent-control" || name == "control-error1" {
			if l.control != "" && l.control != name {
				return fmt.Errorf("quirks %s and %s contradict each other", l.control, name)
			}
			l.control = name
		}
		set(l.q)
	}
	return nil
}

// sectorCount is the -s flag: 0..255, or -1 when not given.
type sectorCount struct{ n int }

func (c *sectorCount) String() string { return "" }

func (c *sectorCount) Set(s string) error {
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 || n > 0xff {
		return fmt.Errorf("want 0..255")
	}
	c.n = n
	return nil
}

const usageLine = "usage: quirktarget [-r] [-b BUFCNT] [-s SECTORS] [-q QUIRK[,QUIRK...]] SHELF SLOT IFACE FILE"

// parseArgs reads the command line; its errors wrap errUsage.
func parseArgs(args []string, stderr io.Writer) (*options, error) {
	o := &options{}
	fs := flag.NewFlagSet("quirktarget", flag.ContinueOnError)
	// run prints the errors, once; -h prints the flags.
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	fs.BoolVar(&o.readOnly, "r", false, "export read-only: writes fail with ABRT")
	fs.IntVar(&o.bufCount, "b", 16, "advertised buffer count `BUFCNT` (it queues 4 times as many)")
	sc := &sectorCount{n: -1}
	fs.Var(sc, "s", "advertised sector count `SECTORS` (default (MTU-36)/512 of IFACE)")
	fs.Var(&quirkList{q: &o.quirks}, "q", "comma-separated `QUIRKS` (repeatable): "+quirkNames())
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(stderr, usageLine)
			fs.SetOutput(stderr)
			fs.PrintDefaults()
			return nil, err
		}
		return nil, fmt.Errorf("%w: %v", errUsage, err)
	}
	bad := func(format string, a ...any) (*options, error) {
		return nil, fmt.Errorf("%w: "+format, append([]any{errUsage}, a...)...)
	}
	if fs.NArg() != 4 {
		return bad("want SHELF SLOT IFACE FILE, got %d arguments", fs.NArg())
	}
	var err error
	if o.shelf, err = strconv.Atoi(fs.Arg(0)); err != nil || o.shelf < 0 || o.shelf >= 0xffff {
		return bad("bad shelf %q: want 0..65534", fs.Arg(0))
	}
	if o.slot, err = strconv.Atoi(fs.Arg(1)); err != nil || o.slot < 0 || o.slot >= 0xff {
		return bad("bad slot %q: want 0..254", fs.Arg(1))
	}
	if o.bufCount < 1 || o.bufCount > 0xffff {
		return bad("bad -b %d: want 1..65535 (-q bufcnt0 advertises 0)", o.bufCount)
	}
	o.sectorCount = sc.n
	o.iface, o.file = fs.Arg(2), fs.Arg(3)
	return o, nil
}

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

func run(args []string, stdout, stderr io.Writer) int {
	o, err := parseArgs(args, stderr)
	switch {
	case errors.Is(err, flag.ErrHelp):
		return 0
	case err != nil:
		fmt.Fprintln(stderr, "quirktarget:", strings.TrimPrefix(err.Error(), errUsage.Error()+": "))
		fmt.Fprintln(stderr, usageLine)
		return 2
	}
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, syscall.SIGINT)
	tg, f, err := start(o, stdout)
	if err != nil {
		fmt.Fprintln(stderr, "quirktarget:", err)
		return 1
	}
	<-stop
	tg.Stop()
	f.Close()
	return 0
}

// start opens the file and the socket, announces the target and says so.
func start(o *options, stdout io.Writer) (*memnet.Target, *os.File, error) {
	flags, mode := os.O_RDWR, "O_RDWR"
	if o.readOnly {
		flags, mode = os.O_RDONLY, "O_RDONLY"
	}
	f, err := os.OpenFile(o.file, flags, 0)
	if err != nil {
		return nil, nil, err
	}
	// Seek, not Stat: a block device's size is not in its inode.
	size, err := f.Seek(0, io.SeekEnd)
	if err != nil {
		f.Close()
		return nil, nil, fmt.Errorf("size of %s: %w", o.file, err)
	}
	p, err := rawport.Open(o.iface)
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	sc := o.sectorCount
	if sc < 0 {
		sc = min(max((p.MTU()-36)/512, 0), 0xff)
	}
	sectors := uint64(size) / 512
	tg := memnet.NewTargetOn(p, memnet.TargetConfig{
		Shelf:       uint16(o.shelf),
		Slot:        uint8(o.slot),
		Sectors:     sectors,
		BufferCount: o.bufCount,
		SectorCount: uint8(sc),
		ReadOnly:    o.readOnly,
		Quirks:      o.quirks,
		Disk:        f,
	})
	tg.Start()
	fmt.Fprintf(stdout, "pid %d: e%d.%d, %d sectors %s\n", os.Getpid(), o.shelf, o.slot, sectors, mode)
	return tg, f, nil
}
