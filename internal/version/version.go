// Package version gives every command the same --version and help shape,
// and its man page and bash completion rendered from that help:
// the version is the module version the binary was built from (go install
// ...@v1.2.3), else the revision go build stamped in from the checkout,
// else "devel".
package version

import (
	"errors"
	"runtime/debug"

	"github.com/urfave/cli/v2"
)

// String is this binary's version.
func String() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "devel"
	}
	if v := bi.Main.Version; v != "" && v != "(devel)" {
		return v
	}
	rev, dirty := "", false
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			dirty = s.Value == "true"
		}
	}
	if rev == "" {
		return "devel"
	}
	if len(rev) > 12 {
		rev = rev[:12]
	}
	if dirty {
		rev += "-dirty"
	}
	return "devel-" + rev
}

// Apply gives a command's app --version (only the long form: aoe-stat's
// -v is --verbose), hides the help subcommand, which a command that does
// one thing has no use for, and adds the hidden --man and
// --bash-completion (docs.go).
func Apply(app *cli.App) *cli.App {
	cli.VersionFlag = &cli.BoolFlag{Name: "version", Usage: "print the version"}
	app.Version = String()
	app.HideHelpCommand = true
	addDocs(app)
	return app
}

// UsageError is a command line that says nothing sensible. The commands
// exit 2 on it (ExitCode), so that a script can tell it from a failure.
type UsageError struct{ Err error }

// Usage marks err as a UsageError.
func Usage(err error) error { return UsageError{Err: err} }

func (e UsageError) Error() string { return e.Err.Error() }
func (e UsageError) Unwrap() error { return e.Err }

// ExitCode is a failed command's exit status: 2 for a UsageError, else 1.
func ExitCode(err error) int {
	var u UsageError
	if errors.As(err, &u) {
		return 2
	}
	return 1
}
