package dist

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/goaoe/goaoe/internal/version"
)

// scripts/package builds a .deb, lintian-clean, that dpkg installs on this host: every
// command runs --version from /usr/sbin, man finds every page, and the
// package holds what scripts/install lays out with PREFIX=/usr; dpkg -r
// removes every file it installed.
func TestDebianPackage(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("dpkg -i needs root")
	}
	if testing.Short() {
		t.Skip("builds every command and the packager")
	}
	for _, tool := range []string{"dpkg", "man", "lintian"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("no %s (scripts/install-deps installs man-db and lintian)", tool)
		}
	}
	if installed("goaoe") {
		t.Fatal("goaoe is installed on this host already: dpkg -r goaoe first (this test installs and removes it)")
	}
	if installed("aoetools") {
		t.Skip("aoetools is installed: the package takes its place (aoe-stat, aoe-discover), so dpkg -i would refuse; scripts/install-deps does not install it")
	}
	root, err := filepath.Abs("../..") // the checkout
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(filepath.Join(root, "scripts", "package"), "--out", t.TempDir()).Output()
	if err != nil {
		t.Fatalf("scripts/package: %v\n%s", err, stderr(err))
	}
	deb := strings.TrimSpace(string(out))
	// Lintian-clean: no error and no warning tag (the static binaries'
	// tag is overridden in the package, with why).
	if out, err := exec.Command("lintian", "--fail-on", "error,warning", "--tag-display-limit", "0", deb).CombinedOutput(); err != nil {
		t.Errorf("lintian %s: %v\n%s", filepath.Base(deb), err, out)
	}

	if out, err := exec.Command("dpkg", "-i", deb).CombinedOutput(); err != nil {
		t.Fatalf("dpkg -i %s: %v\n%s", deb, err, out)
	}
	removed := false
	t.Cleanup(func() {
		if !removed {
			_ = exec.Command("dpkg", "-r", "goaoe").Run()
		}
	})
	list, err := exec.Command("dpkg", "-L", "goaoe").Output()
	if err != nil {
		t.Fatalf("dpkg -L goaoe: %v", err)
	}
	var files []string
	for _, p := range strings.Fields(string(list)) {
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() {
			files = append(files, p)
		}
	}
	cmd := exec.Command(filepath.Join(root, "scripts", "install"), "--list")
	cmd.Env = append(os.Environ(), "PREFIX=/usr")
	want, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range strings.Fields(string(want)) {
		if !slices.Contains(files, p) {
			t.Errorf("the package has no %s", p)
		}
	}
	t.Logf("dpkg -L goaoe (files):\n%s", strings.Join(files, "\n"))
	for _, c := range version.Commands {
		if out, err := exec.Command("/usr/sbin/"+c, "--version").Output(); err != nil || !strings.HasPrefix(string(out), c+" version ") {
			t.Errorf("/usr/sbin/%s --version: %q, %v", c, out, err)
		}
		man := exec.Command("man", "8", c)
		man.Env = append(os.Environ(), "MANPAGER=cat", "MANWIDTH=80")
		if out, err := man.Output(); err != nil || !strings.Contains(string(out), "SEE ALSO") {
			t.Errorf("man 8 %s: %v\n%s", c, err, out)
		} else if c == "aoe-detach" {
			t.Logf("man 8 aoe-detach:\n%s", out)
		}
	}

	if out, err := exec.Command("dpkg", "-r", "goaoe").CombinedOutput(); err != nil {
		t.Fatalf("dpkg -r goaoe: %v\n%s", err, out)
	}
	removed = true
	for _, p := range files {
		if _, err := os.Stat(p); err == nil {
			t.Errorf("%s is still there after dpkg -r", p)
		}
	}
}

// installed reports whether dpkg has the package installed.
func installed(pkg string) bool {
	out, err := exec.Command("dpkg-query", "-W", "-f=${Status}", pkg).Output()
	return err == nil && strings.TrimSpace(string(out)) == "install ok installed"
}

func stderr(err error) string {
	if ee, ok := err.(*exec.ExitError); ok {
		return string(ee.Stderr)
	}
	return ""
}
