package version

import (
	"bytes"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/urfave/cli/v2"
)

func testApp(out io.Writer) *cli.App {
	return Apply(&cli.App{Name: "aoe-x", Usage: "does x", ArgsUsage: "eSHELF.SLOT", Writer: out,
		Action: func(*cli.Context) error { return nil },
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "verbose", Aliases: []string{"v"}, Usage: "say more"},
			&cli.BoolFlag{Name: "secret", Hidden: true},
		}})
}

// The man page and the completion come from the command's own flags:
// visible ones in, hidden ones out.
func TestManPageAndCompletion(t *testing.T) {
	var out bytes.Buffer
	if err := testApp(&out).Run([]string{"aoe-x", "--man"}); err != nil {
		t.Fatal(err)
	}
	page := out.String()
	for _, want := range []string{".TH aoe-x 8", "aoe-x \\- does x", "--verbose, -v", "say more", "aoe-x [options] eSHELF.SLOT", ".SH SEE ALSO", `\fBaoe-attach\fP(8)`} {
		if !strings.Contains(page, want) {
			t.Errorf("man page has no %q:\n%s", want, page)
		}
	}
	for _, unwanted := range []string{"secret", "bash-completion", "COMMAND OPTIONS", `\fBaoe-x\fP(8)`} {
		if strings.Contains(page, unwanted) {
			t.Errorf("man page has %q:\n%s", unwanted, page)
		}
	}

	out.Reset()
	if err := testApp(&out).Run([]string{"aoe-x", "--bash-completion"}); err != nil {
		t.Fatal(err)
	}
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("no bash")
	}
	script := filepath.Join(t.TempDir(), "aoe-x")
	if err := os.WriteFile(script, out.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	// What TAB offers after "aoe-x --ve".
	got, err := exec.Command(bash, "-c", `source "$1" && complete -p aoe-x >/dev/null &&
		COMP_WORDS=(aoe-x --ve) COMP_CWORD=1 && _goaoe_aoe_x && echo "${COMPREPLY[*]}"`, "bash", script).CombinedOutput()
	if err != nil || strings.TrimSpace(string(got)) != "--verbose --version" {
		t.Errorf("completing --ve: %q, %v; want \"--verbose --version\"\n%s", got, err, out.String())
	}
}

// The zsh completion parses and offers the visible flags after a dash
// (compadd and _files stand in for zsh's completion system).
func TestZshCompletion(t *testing.T) {
	zsh, err := exec.LookPath("zsh")
	if err != nil {
		t.Skip("no zsh (Debian package zsh; scripts/install-deps installs it)")
	}
	var out bytes.Buffer
	if err := testApp(&out).Run([]string{"aoe-x", "--zsh-completion"}); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(out.String(), "#compdef aoe-x\n") {
		t.Errorf("no #compdef line:\n%s", out.String())
	}
	fn := filepath.Join(t.TempDir(), "_aoe-x")
	if err := os.WriteFile(fn, out.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	if b, err := exec.Command(zsh, "-n", fn).CombinedOutput(); err != nil {
		t.Fatalf("zsh -n: %v\n%s", err, b)
	}
	got, err := exec.Command(zsh, "-fc", `compadd() { print -r -- ${(P)2} }; _files() {}; PREFIX=--ve; source "$1"`, "zsh", fn).CombinedOutput()
	if err != nil || strings.TrimSpace(string(got)) != "--help --verbose --version -h -v" {
		t.Errorf("flags offered after a dash: %q, %v; want \"--help --verbose --version -h -v\"", got, err)
	}
}
