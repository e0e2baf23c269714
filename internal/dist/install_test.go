package dist

import (
	"compress/gzip"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/goaoe/goaoe/internal/version"
)

// make install (scripts/install) lays out a binary, a man page and a completion per
// command and the systemd units naming the installed aoe-attach; every
// binary runs, every page renders, every completion loads; make uninstall
// takes every file away again.
func TestInstallLayout(t *testing.T) {
	if testing.Short() {
		t.Skip("builds every command")
	}
	root, err := filepath.Abs("../..") // the checkout
	if err != nil {
		t.Fatal(err)
	}
	dest := t.TempDir()
	list := exec.Command(filepath.Join(root, "scripts", "install"), "--list")
	list.Env = append(os.Environ(), "PREFIX=/usr")
	out, err := list.Output()
	if err != nil {
		t.Fatal(err)
	}
	want := strings.Fields(string(out))
	mk := func(target string) {
		t.Helper()
		out, err := exec.Command("make", "-C", root, target, "DESTDIR="+dest, "PREFIX=/usr").CombinedOutput()
		if err != nil {
			t.Fatalf("make %s: %v\n%s", target, err, out)
		}
	}
	mk("install")
	var got []string
	err = filepath.Walk(dest, func(p string, fi os.FileInfo, err error) error {
		if err == nil && !fi.IsDir() {
			got = append(got, strings.TrimPrefix(p, dest))
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("installed files:\n%s\nwant (--list):\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	man, err := exec.LookPath("man")
	if err != nil {
		t.Fatal("no man (Debian package man-db; scripts/install-deps installs it)")
	}
	for _, c := range version.Commands {
		if out, err := exec.Command(dest+"/usr/sbin/"+c, "--version").Output(); err != nil || !strings.HasPrefix(string(out), c+" version ") {
			t.Errorf("%s --version: %q, %v", c, out, err)
		}
		page := readGzip(t, dest+"/usr/share/man/man8/"+c+".8.gz")
		cmd := exec.Command(man, "-l", "-")
		cmd.Stdin = strings.NewReader(page)
		cmd.Env = append(os.Environ(), "MANPAGER=cat", "MANWIDTH=80")
		// Fields: man justifies lines with extra spaces.
		if out, err := cmd.Output(); err != nil || !strings.Contains(string(out), "SEE ALSO") ||
			!strings.Contains(strings.Join(strings.Fields(string(out)), " "), "NAME "+c+" - ") {
			t.Errorf("man -l %s.8.gz: %v\n%s", c, err, out)
		}
		if out, err := exec.Command("bash", "-c", `source "$1" && complete -p "$2"`, "bash",
			dest+"/usr/share/bash-completion/completions/"+c, c).CombinedOutput(); err != nil {
			t.Errorf("bash completion of %s does not load: %v\n%s", c, err, out)
		}
		if out, err := exec.Command("zsh", "-n", dest+"/usr/share/zsh/vendor-completions/_"+c).CombinedOutput(); err != nil {
			t.Errorf("zsh completion of %s does not parse: %v\n%s", c, err, out)
		}
	}
	unit, err := os.ReadFile(dest + "/usr/lib/systemd/system/aoe-attach@.service")
	if err != nil || !strings.Contains(string(unit), "ExecStart=/usr/sbin/aoe-attach --foreground %i") {
		t.Errorf("aoe-attach@.service does not start the installed aoe-attach (%v):\n%s", err, unit)
	}
	mk("uninstall")
	for _, p := range want {
		if _, err := os.Stat(dest + p); err == nil {
			t.Errorf("%s is still there after --uninstall", p)
		}
	}
}

func readGzip(t *testing.T, path string) string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	z, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(z)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
