package version

import (
	"bytes"
	"strings"
	"testing"

	"github.com/urfave/cli/v2"
)

func TestApply(t *testing.T) {
	var out bytes.Buffer
	app := Apply(&cli.App{Name: "aoe-x", Writer: &out, Flags: []cli.Flag{&cli.BoolFlag{Name: "verbose", Aliases: []string{"v"}}}})
	if err := app.Run([]string{"aoe-x", "--version"}); err != nil {
		t.Fatal(err)
	}
	if got := out.String(); !strings.HasPrefix(got, "aoe-x version ") || strings.TrimSpace(strings.TrimPrefix(got, "aoe-x version ")) == "" {
		t.Errorf("--version printed %q", got)
	}
	out.Reset()
	if err := app.Run([]string{"aoe-x", "--help"}); err != nil {
		t.Fatal(err)
	}
	if h := out.String(); strings.Contains(h, "COMMANDS") || !strings.Contains(h, "--version") || !strings.Contains(h, "--verbose, -v") {
		t.Errorf("--help:\n%s", h)
	}
}
