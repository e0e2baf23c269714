// Package cpuprofile owns the GOAOE_CPUPROFILE switch that aoe-attach and
// aoe-bench share: a CPU profile of the whole run, for finding where time
// goes on a slow host (see the README's "where the time goes").
package cpuprofile

import (
	"fmt"
	"os"
	"runtime/pprof"
)

// Env names the file to write the profile to; unset, nothing is profiled.
const Env = "GOAOE_CPUPROFILE"

// Start begins profiling if Env is set and returns what ends it, to be
// deferred. A profile that cannot start is reported on stderr and the run
// goes on without it: profiling is a diagnostic, never a reason to fail.
func Start(prog string) (stop func()) {
	path := os.Getenv(Env)
	if path == "" {
		return func() {}
	}
	f, err := os.Create(path)
	if err == nil {
		if err = pprof.StartCPUProfile(f); err != nil {
			f.Close()
		}
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: %s=%s: no CPU profile: %v\n", prog, Env, path, err)
		return func() {}
	}
	return func() {
		pprof.StopCPUProfile()
		if err := f.Close(); err != nil {
			fmt.Fprintf(os.Stderr, "%s: %s=%s: %v\n", prog, Env, path, err)
		}
	}
}
