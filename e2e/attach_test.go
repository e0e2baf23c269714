package e2e

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

var nbdPath = regexp.MustCompile(`^/dev/nbd[0-9]+$`)

// expectDevice checks that key holds a /dev/nbdN path and returns it.
func expectDevice(t *testing.T, r *bootResult, key string) string {
	t.Helper()
	dev, ok := r.value(key)
	if !ok || !nbdPath.MatchString(dev) {
		t.Errorf("%s = %q, want a /dev/nbdN path (what aoe-attach prints)", key, dev)
	}
	return dev
}

// TestAttachMkfsDetachReattach is the main use, scenarios 1 and 2 of the
// issue: aoe-attach loads nbd itself and prints the device, which has its
// /dev/etherd link and shows up in aoe-stat; an ext4 filesystem with 100
// files of random sizes (up to 5 MiB by default, see below) survives aoe-detach and a new
// aoe-attach bit for bit (sha256sum -c in the guest; on the host, e2fsck of
// the backing file and every file extracted from it with debugfs).
func TestAttachMkfsDetachReattach(t *testing.T) {
	needGuest(t)
	const files = 100
	// The issue asks for files of up to 8 MiB; under TCG that boot takes
	// about 3.5 minutes (~390 MB written with sync, then read back through
	// ext4 at a few MB/s), so the default is 5 MiB (~250 MB, about 2.5
	// minutes). GOAOE_E2E_MAX_KIB=8192 runs the full size.
	maxKiB := 5120
	if v := os.Getenv("GOAOE_E2E_MAX_KIB"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			t.Fatalf("GOAOE_E2E_MAX_KIB=%q: want a positive number of KiB", v)
		}
		maxKiB = n
	}
	img := sparseFile(t, t.TempDir(), "e1.2.img", 2<<30)
	r := boot(t, bootOptions{
		Script:  "attach-mkfs.sh",
		Targets: []target{{Addr: "1.2", File: img}},
		Env:     []string{fmt.Sprintf("E2E_FILES=%d", files), fmt.Sprintf("E2E_MAX_KIB=%d", maxKiB)},
		Timeout: 10 * time.Minute,
	})

	// Scenario 1: attach.
	r.expect(t, "nbd_loaded_before", "no")
	r.expect(t, "discover_found", "yes")
	dev := expectDevice(t, r, "device")
	r.expect(t, "nbd_loaded_after", "yes")
	r.expect(t, "link", dev)
	r.expect(t, "stat_state", "up")
	r.expect(t, "stat_device", dev)
	r.expect(t, "stat_payload", "1024") // 2 sectors per 1500-byte frame
	// The kernel aoe driver's request size and read-ahead, not nbd's 128 KiB.
	r.expect(t, "max_sectors_kb", "1280")
	r.expect(t, "read_ahead_kb", "4096")

	// Scenario 2: the filesystem survives detach and attach.
	r.expect(t, "files_written", strconv.Itoa(files))
	r.expect(t, "detach1", "e1.2 detached from "+dev)
	r.expect(t, "free_after_detach1", "yes")
	r.expect(t, "link_after_detach", "absent")
	r.expect(t, "stat_after_detach", "absent")
	dev2 := expectDevice(t, r, "device2")
	r.expect(t, "verify_rc", "0")
	r.expect(t, "verify_ok", strconv.Itoa(files))
	r.expect(t, "fsck_rc", "0")
	r.expect(t, "detach2", "e1.2 detached from "+dev2)
	r.expect(t, "free_after_detach2", "yes")
	r.expect(t, "result", "pass")
	t.Logf("guest: %s bytes in %d files; sync took %s s, sha256sum -c %s s",
		r.last("bytes_written"), files, r.last("sync_secs"), r.last("verify_secs"))

	// On the host: the backing file is a clean ext4 filesystem holding
	// exactly the files the guest wrote.
	sums := map[string]string{}
	for _, line := range r.Results["sum"] {
		f := strings.Fields(line)
		if len(f) != 2 {
			t.Fatalf("bad sum line %q", line)
		}
		sums[f[1]] = f[0]
	}
	if len(sums) != files {
		t.Fatalf("the guest listed %d checksums, want %d", len(sums), files)
	}
	checkImageFiles(t, img, sums, r.must(t, "bytes_written"))
}

// checkImageFiles runs e2fsck -fn on an ext4 image and extracts every file
// of sums with debugfs, comparing its sha256.
func checkImageFiles(t *testing.T, img string, sums map[string]string, totalBytes string) {
	t.Helper()
	if out, err := exec.Command("e2fsck", "-fn", img).CombinedOutput(); err != nil {
		t.Errorf("host: e2fsck -fn on the backing file: %v\n%s", err, out)
	}
	dir := t.TempDir()
	var cmds bytes.Buffer
	for name := range sums {
		fmt.Fprintf(&cmds, "dump /%s %s\n", name, filepath.Join(dir, name))
	}
	cmdFile := filepath.Join(dir, "debugfs.cmds")
	if err := os.WriteFile(cmdFile, cmds.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("debugfs", "-f", cmdFile, img).CombinedOutput(); err != nil {
		t.Fatalf("host: debugfs: %v\n%s", err, out)
	}
	var total int64
	bad := 0
	for name, want := range sums {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Errorf("host: %s is not in the backing file's filesystem: %v", name, err)
			bad++
			continue
		}
		total += int64(len(b))
		if got := sha256hex(b); got != want {
			t.Errorf("host: %s in the backing file has sha256 %s, the guest wrote %s", name, got, want)
			bad++
		}
	}
	if strconv.FormatInt(total, 10) != totalBytes {
		t.Errorf("host: the files in the backing file hold %d bytes, the guest wrote %s", total, totalBytes)
	}
	if bad == 0 {
		t.Logf("host: e2fsck clean; all %d files (%d bytes) in the backing file match", len(sums), total)
	}
}

// TestTwoTargetsReadOnlyAndSignals covers scenarios 3 to 7 in one boot
// with three vblade targets: two attaches at once (e1.2, e1.3), a
// read-only attach (e1.3), the serving process stopped by SIGTERM during a
// raw write (e1.2) and under a mounted ext4 with fsync'ing writers (e1.4),
// killed by SIGKILL during a read (e1.2, attached through the nbd ioctl
// interface, where that fails the I/O at once), and the host's view of the
// backing files throughout.
func TestTwoTargetsReadOnlyAndSignals(t *testing.T) {
	needGuest(t)
	dir := t.TempDir()
	imgA := sparseFile(t, dir, "e1.2.img", 256*MiB)
	imgB := sparseFile(t, dir, "e1.3.img", 64*MiB)
	imgF := sparseFile(t, dir, "e1.4.img", 64*MiB) // for the filesystem case
	patA, wantA := writePattern(t, dir, "pat-a", 1, 8*MiB)
	patB, wantB := writePattern(t, dir, "pat-b", 2, 4*MiB)
	patC, _ := writePattern(t, dir, "pat-c", 3, 1*MiB)
	const (
		aOff    = 37  // MiB: pat-a on A
		bOff    = 5   // MiB: pat-b on B
		roOff   = 20  // MiB: where pat-c is refused on B
		termOff = 100 // MiB: the region of A written during SIGTERM
		termMiB = 64
	)
	r := boot(t, bootOptions{
		Script:  "targets.sh",
		Targets: []target{{Addr: "1.2", File: imgA}, {Addr: "1.3", File: imgB}, {Addr: "1.4", File: imgF}},
		Files:   []string{patA + ":/e2e/pat-a", patB + ":/e2e/pat-b", patC + ":/e2e/pat-c"},
		Env: []string{
			fmt.Sprintf("E2E_A_OFF=%d", aOff), fmt.Sprintf("E2E_B_OFF=%d", bOff),
			fmt.Sprintf("E2E_RO_OFF=%d", roOff),
			fmt.Sprintf("E2E_TERM_OFF=%d", termOff), fmt.Sprintf("E2E_TERM_MIB=%d", termMiB),
		},
		Timeout: 6 * time.Minute,
	})

	t.Run("two targets at once", func(t *testing.T) {
		devA := expectDevice(t, r, "two_dev_a")
		devB := expectDevice(t, r, "two_dev_b")
		if devA == devB {
			t.Errorf("e1.2 and e1.3 both got %s", devA)
		}
		r.expect(t, "two_stat_a", "up "+devA)
		r.expect(t, "two_stat_b", "up "+devB)
		r.expect(t, "two_write_rc", "0 0")
		r.expect(t, "two_read_a", "ok")
		r.expect(t, "two_read_b", "ok")
		// Scenario 6: the bytes are in the right backing files, at the
		// right offsets, and only there.
		if got := region(t, imgA, aOff*MiB, len(wantA)); !bytes.Equal(got, wantA) {
			t.Errorf("host: e1.2's backing file at %d MiB does not hold pat-a: %s", aOff, firstDiff(got, wantA))
		}
		if got := region(t, imgB, bOff*MiB, len(wantB)); !bytes.Equal(got, wantB) {
			t.Errorf("host: e1.3's backing file at %d MiB does not hold pat-b: %s", bOff, firstDiff(got, wantB))
		}
		if !allZero(region(t, imgB, aOff*MiB, len(wantA))) {
			t.Errorf("host: e1.3's backing file changed at %d MiB, where only e1.2 was written", aOff)
		}
		if !allZero(region(t, imgA, bOff*MiB, len(wantB))) {
			t.Errorf("host: e1.2's backing file changed at %d MiB, where only e1.3 was written", bOff)
		}
	})

	t.Run("read-only attach refuses writes", func(t *testing.T) {
		expectDevice(t, r, "ro_dev")
		r.expect(t, "ro_getro", "1")
		if rc := r.must(t, "ro_write_rc"); rc == "0" {
			t.Errorf("dd oflag=direct to the read-only device exited 0: the write was not refused")
		}
		msg := r.must(t, "ro_write_err")
		if !strings.Contains(msg, "Operation not permitted") && !strings.Contains(msg, "Read-only file system") &&
			!strings.Contains(msg, "Input/output error") {
			t.Errorf("dd's error %q is not EPERM, EROFS or EIO", msg)
		}
		r.expect(t, "ro_write_records", "0")
		r.expect(t, "ro_read", "ok")
		if !allZero(region(t, imgB, roOff*MiB, MiB)) {
			t.Errorf("host: e1.3's backing file changed at %d MiB although it was attached read-only", roOff)
		}
	})

	t.Run("SIGTERM during a write", func(t *testing.T) {
		if rc := r.must(t, "term_dd_rc"); rc == "0" {
			t.Errorf("dd exited 0: the serving process was not stopped while it wrote")
		}
		n, err := strconv.Atoi(r.must(t, "term_records"))
		if err != nil {
			t.Fatalf("term_records: %v", err)
		}
		if n < 1 || n >= termMiB {
			t.Errorf("dd wrote %d of %d MiB before the serving process stopped: SIGTERM did not land mid-way", n, termMiB)
		}
		r.expect(t, "term_log_detached", "1")
		r.expect(t, "term_log_error", "")
		r.expect(t, "term_dev_free", "yes")
		r.expect(t, "term_state_file", "absent")
		r.expect(t, "term_link", "absent")
		expectDevice(t, r, "term_reattach_dev")
		if n >= 1 {
			r.expect(t, "term_readback", "ok")
			want := r.must(t, "term_pattern_sha")
			if got := sha256hex(region(t, imgA, termOff*MiB, n*MiB)); got != want {
				t.Errorf("host: the %d MiB at %d MiB of e1.2's backing file have sha256 %s, the guest wrote %s", n, termOff, got, want)
			}
		}
		if s, ok := r.value("term_exit_secs"); ok {
			t.Logf("the serving process exited %s s after SIGTERM; dd wrote %d MiB", s, n)
		}
	})

	t.Run("SIGTERM under a mounted filesystem", func(t *testing.T) {
		n, err := strconv.Atoi(r.must(t, "fs_fsynced"))
		if err != nil {
			t.Fatalf("fs_fsynced: %v", err)
		}
		if n < 1 || n >= 150 {
			t.Errorf("%d files were fsync'ed before the serving process stopped: SIGTERM did not land mid-way", n)
		}
		r.expect(t, "fs_log_detached", "1")
		r.expect(t, "fs_log_error", "")
		// After the journal replay (e2fsck -fy, any status) the filesystem
		// is clean and every file whose fsync returned is there, intact.
		r.expect(t, "fs_fsck_rc", "0")
		r.expect(t, "fs_verify_rc", "0")
		r.expect(t, "fs_verify_ok", strconv.Itoa(n))
		if rc, ok := r.value("fs_fsck_fix_rc"); ok {
			t.Logf("%d files fsync'ed before SIGTERM; e2fsck -fy afterwards exited %s", n, rc)
		}
		if out, err := exec.Command("e2fsck", "-fn", imgF).CombinedOutput(); err != nil {
			t.Errorf("host: e2fsck -fn on e1.4's backing file: %v\n%s", err, out)
		}
	})

	t.Run("SIGKILL fails I/O and a new attach works", func(t *testing.T) {
		rc := r.must(t, "kill_dd_rc")
		switch rc {
		case "0":
			t.Errorf("the dd reading while the serving process was killed exited 0")
		case "hung":
			t.Errorf("the dd reading while the serving process was killed hung")
		}
		if msg := r.must(t, "kill_dd_err"); !strings.Contains(msg, "Input/output error") {
			t.Errorf("dd's error after SIGKILL is %q, want EIO (Input/output error)", msg)
		}
		if s, ok := r.value("kill_dd_secs"); ok {
			t.Logf("dd failed %s s after SIGKILL", s)
		}
		r.expect(t, "kill_stat_state", "down")
		// A new open of the dead device must not hang or return data.
		frc := r.must(t, "kill_fresh_rc")
		if frc == "hung" {
			t.Errorf("a new read of the device hung after SIGKILL")
		} else if frc == "0" && r.must(t, "kill_fresh_bytes") != "0" {
			t.Errorf("a new read of the device after SIGKILL returned %s bytes", r.must(t, "kill_fresh_bytes"))
		}
		expectDevice(t, r, "kill_reattach_dev")
		r.expect(t, "kill_reattach_state", "up")
		r.expect(t, "kill_read_a", "ok")
		if _, ok := r.value("term_pattern_sha"); ok {
			r.expect(t, "kill_read_term", "ok")
		}
		r.expect(t, "kill_final_free", "yes")
	})

	r.expect(t, "result", "pass")
}

// TestJumboFrames attaches over 9000-byte frames: 17 sectors (8704 bytes)
// per frame, and 32 MiB written with O_DIRECT read back equal, in the
// guest and in the backing file.
func TestJumboFrames(t *testing.T) {
	needGuest(t)
	const off, size = 8, 32 // MiB
	img := sparseFile(t, t.TempDir(), "e1.2.img", 128*MiB)
	r := boot(t, bootOptions{
		Script:  "jumbo.sh",
		Targets: []target{{Addr: "1.2", File: img}},
		MTU:     9000,
		Env:     []string{fmt.Sprintf("E2E_JUMBO_OFF=%d", off), fmt.Sprintf("E2E_JUMBO_MIB=%d", size)},
		Timeout: 4 * time.Minute,
	})
	expectDevice(t, r, "device")
	r.expect(t, "payload", "8704")
	r.expect(t, "state", "up")
	r.expect(t, "readback", "ok")
	r.expect(t, "free", "yes")
	r.expect(t, "result", "pass")
	want := r.must(t, "pattern_sha")
	if got := sha256hex(region(t, img, off*MiB, size*MiB)); got != want {
		t.Errorf("host: the %d MiB at %d MiB of the backing file have sha256 %s, the guest wrote %s", size, off, got, want)
	}
	t.Logf("jumbo: write %s s, read %s s for %d MiB", r.last("write_secs"), r.last("read_secs"), size)
}
