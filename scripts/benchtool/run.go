package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"time"
)

// runCmd: benchtool run [--bytes N] [measure flags] -- COMMAND [ARG...]
// runs COMMAND (its stdout and stderr both go to our stderr, so that our
// stdout holds only the result line) and measures it.
func runCmd(args []string) error {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	var m measureFlags
	m.register(fs)
	bytes := fs.Int64("bytes", 0, "bytes the command moves (for MB/s and CPU-seconds per GiB)")
	if err := fs.Parse(args); err != nil {
		return exitError{2, err.Error()}
	}
	if fs.NArg() == 0 {
		return exitError{2, "run: no command given"}
	}
	cmd := exec.Command(fs.Arg(0), fs.Args()[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stderr, os.Stderr

	r := Result{Bytes: *bytes}
	if err := m.startKick(); err != nil {
		return err
	}
	defer m.stopKick()
	r.before = m.snap()
	if err := cmd.Start(); err != nil {
		return err
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	var err error
	select {
	case err = <-done:
	case <-time.After(m.timeout):
		cmd.Process.Kill()
		return exitError{124, fmt.Sprintf("run: %s still running after %v: killed", fs.Arg(0), m.timeout)}
	}
	end := time.Now()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) && ee.ExitCode() > 0 {
			return exitError{ee.ExitCode(), fmt.Sprintf("run: %s: %v", fs.Arg(0), err)}
		}
		return fmt.Errorf("run: %s: %w", fs.Arg(0), err)
	}
	r.Secs = end.Sub(r.before.at).Seconds()
	r.Kicks = m.stopKick()
	r.after = m.finish(end)
	fmt.Println(r.Line())
	return nil
}
