// Command aoe-attach makes an AoE target a local disk: it finds the target,
// attaches it to an nbd device, prints the device's path and leaves a
// background process serving it (or serves in front with --foreground).
package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"log"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/goaoe/goaoe/initiator"
	"github.com/goaoe/goaoe/internal/cpuprofile"
	"github.com/goaoe/goaoe/internal/version"
	"github.com/goaoe/goaoe/nbd"
	"github.com/goaoe/goaoe/session"
)

func main() {
	app := version.Apply(&cli.App{
		Name:      "aoe-attach",
		Usage:     "attach an AoE target as a local block device (/dev/nbdN)",
		ArgsUsage: "eSHELF.SLOT | eSHELF | eSHELF.* | --all",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "device", Aliases: []string{"d"}, Usage: "nbd device to use, e.g. /dev/nbd3 (default: the first free one)"},
			&cli.StringSliceFlag{Name: "iface", Aliases: []string{"i"}, Usage: "interface to use (repeat for more); default: every Ethernet interface that is up"},
			&cli.BoolFlag{Name: "read-only", Aliases: []string{"r"}, Usage: "attach read-only: writes fail"},
			&cli.DurationFlag{Name: "timeout", Aliases: []string{"t"}, Value: initiator.DefaultDeadline, Usage: "AoE deadline: I/O fails after the target is silent this long"},
			&cli.DurationFlag{Name: "find-timeout", Value: 10 * time.Second, Usage: "how long to wait for the target to answer discovery"},
			&cli.BoolFlag{Name: "reserve", Usage: "reserve the target for this host while attached (AoE Reserve/Release): other initiators' I/O is refused"},
			&cli.BoolFlag{Name: "foreground", Aliases: []string{"f"}, Usage: "serve in the foreground (for systemd) instead of in the background"},
			&cli.StringFlag{Name: "nbd-interface", Value: "auto", Usage: "kernel interface to nbd: netlink (the device outlives this process: a new aoe-attach of the target takes it back), ioctl (it dies with it), or auto (netlink where the kernel has it)"},
			&cli.BoolFlag{Name: "all", Aliases: []string{"a"}, Usage: "attach every target that answers (a pattern such as e1 or e1.* attaches a shelf); one line per target, those attached already skipped"},
			&cli.BoolFlag{Name: "auto", Usage: "with --all or a pattern: keep running and attach each target as it appears (announces itself or answers the periodic query), as the kernel aoe driver does; never one a person detached with aoe-detach, until it is attached by hand"},
			&cli.DurationFlag{Name: "scan", Value: 2 * time.Second, Usage: "with --all or a pattern: how long to collect answers"},
			&cli.IntFlag{Name: "ready-fd", Hidden: true, Usage: "internal: where the background process reports readiness"},
		},
		Action: run,
	})
	if err := app.Run(os.Args); err != nil {
		fmt.Fprintln(os.Stderr, "aoe-attach:", err)
		os.Exit(1)
	}
}

func run(c *cli.Context) error {
	iface, err := nbd.ParseInterface(c.String("nbd-interface"))
	if err != nil {
		return err
	}
	if c.Bool("all") || c.Bool("auto") || c.NArg() == 1 && !isTarget(c.Args().First()) {
		return attachMany(c)
	}
	if c.NArg() != 1 {
		return errors.New("name one target (e.g. aoe-attach e1.2), a shelf (e1.*) or --all")
	}
	addr, err := initiator.ParseAddr(c.Args().First())
	if err != nil {
		return err
	}
	if session.KernelDriverLoaded() && c.Int("ready-fd") == 0 {
		fmt.Fprintf(os.Stderr, "aoe-attach: warning: the kernel aoe driver is loaded too; both work side by side, but do not use %s through /dev/etherd/%s and the nbd device at once\n", addr, addr)
	}
	if !c.Bool("foreground") {
		dev, err := background(addr, os.Args[1:], printWarning)
		if err == nil {
			fmt.Println(dev)
		}
		return err
	}
	var ready *os.File
	if fd := c.Int("ready-fd"); fd > 0 {
		ready = os.NewFile(uintptr(fd), "ready")
	}
	logger := log.New(os.Stderr, "aoe-attach["+addr.String()+"]: ", log.LstdFlags)
	// GOAOE_CPUPROFILE=FILE profiles the serving process until it exits.
	defer cpuprofile.Start("aoe-attach")()
	// SIGTERM and SIGINT are a clean detach: Serve flushes, then lets go.
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	// SIGHUP is a revalidate (aoe-revalidate, systemctl reload): the
	// target is asked its size again and the device resized to it.
	revalidate := make(chan struct{}, 1)
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, session.RevalidateSignal)
	go func() {
		for range hup {
			select {
			case revalidate <- struct{}{}:
			default: // one is pending already: it reads the size afresh
			}
		}
	}()
	// SIGUSR2 is a restart (systemd's RestartKillSignal): stop serving but
	// leave the device set up, for the next aoe-attach to take back.
	leave := make(chan struct{})
	usr2 := make(chan os.Signal, 1)
	signal.Notify(usr2, syscall.SIGUSR2)
	go func() {
		<-usr2
		logger.Printf("SIGUSR2: leaving the device to the next server")
		close(leave)
	}()
	// Warnings reach the person who ran aoe-attach: through the readiness
	// pipe from the background process; in the foreground the log is
	// stderr already.
	var warnf func(string, ...any)
	if ready != nil {
		warnf = func(format string, args ...any) {
			if ready != nil {
				fmt.Fprintf(ready, "warn %s\n", strings.ReplaceAll(fmt.Sprintf(format, args...), "\n", " "))
			}
		}
	}
	err = session.Serve(ctx, session.Config{
		Target:       addr,
		Device:       c.String("device"),
		Interfaces:   c.StringSlice("iface"),
		ReadOnly:     c.Bool("read-only"),
		Deadline:     c.Duration("timeout"),
		FindTimeout:  c.Duration("find-timeout"),
		Reserve:      c.Bool("reserve"),
		NBDInterface: iface,
		Leave:        leave,
		Revalidate:   revalidate,
		Logf:         logger.Printf,
		Warnf:        warnf,
		Ready: func(dev string) {
			fmt.Println(dev)
			if ready != nil {
				fmt.Fprintf(ready, "ok %s\n", dev)
				ready.Close()
				ready = nil
			}
		},
	})
	if err != nil && ready != nil {
		fmt.Fprintf(ready, "error %s\n", err)
	}
	return err
}

func printWarning(msg string) { fmt.Fprintln(os.Stderr, "aoe-attach: warning:", msg) }

// background starts this command again with args, detached, with
// --foreground, and returns the device once that process says it is
// usable, or why it is not. Its warnings go to warn.
func background(addr initiator.Addr, args []string, warn func(string)) (string, error) {
	if err := os.MkdirAll(session.RunDir, 0o755); err != nil {
		return "", err
	}
	logFile, err := os.OpenFile(session.LogPath(addr.String()), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return "", err
	}
	defer logFile.Close()
	r, w, err := os.Pipe()
	if err != nil {
		return "", err
	}
	defer r.Close()
	exe, err := os.Executable()
	if err != nil {
		return "", err
	}
	cmd := exec.Command(exe, append([]string{"--foreground", "--ready-fd", "3"}, args...)...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.ExtraFiles = []*os.File{w}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return "", err
	}
	w.Close()
	// "warn MSG" lines, then "ok DEVICE" or "error MSG".
	lines := bufio.NewScanner(r)
	for lines.Scan() {
		line := strings.TrimSpace(lines.Text())
		switch {
		case strings.HasPrefix(line, "warn "):
			warn(strings.TrimPrefix(line, "warn "))
		case strings.HasPrefix(line, "ok "):
			cmd.Process.Release()
			return strings.TrimPrefix(line, "ok "), nil
		case strings.HasPrefix(line, "error "):
			cmd.Wait()
			return "", errors.New(strings.TrimPrefix(line, "error "))
		}
	}
	err = cmd.Wait()
	return "", fmt.Errorf("the serving process ended before the device was ready (%v); see %s", err, session.LogPath(addr.String()))
}
