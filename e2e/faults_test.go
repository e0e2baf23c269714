package e2e

import (
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Fault injection: the link, the target and a second initiator (the
// kernel's aoe driver) misbehave or compete under a running attach. Each
// test is one boot; the guest scripts are testdata/faults-*.sh.

// secs parses a seconds result ("12.3"), failing the test when it is not
// a number.
func secs(t *testing.T, r *bootResult, key string) float64 {
	t.Helper()
	v, err := strconv.ParseFloat(r.must(t, key), 64)
	if err != nil {
		t.Fatalf("%s = %q, not a number of seconds", key, r.last(key))
	}
	return v
}

// count parses a counter result, failing the test when it is not a number.
func count(t *testing.T, r *bootResult, key string) int {
	t.Helper()
	n, err := strconv.Atoi(r.must(t, key))
	if err != nil {
		t.Fatalf("%s = %q, not a number", key, r.last(key))
	}
	return n
}

// TestHostileLinkFilesystem: with netem on the guest's NIC in both
// directions (5% loss, 5% duplicates, 10% reordered, 20±10 ms delay), an
// ext4 filesystem made, filled, detached and attached again reads back
// bit for bit and e2fsck finds nothing; the frames that were lost were
// retransmitted (aoe-stat counts them).
func TestHostileLinkFilesystem(t *testing.T) {
	needGuest(t)
	const files = 10
	img := sparseFile(t, t.TempDir(), "e1.2.img", 64*MiB)
	r := boot(t, bootOptions{
		Script:  "faults-hostile.sh",
		Targets: []target{{Addr: "1.2", File: img}},
		Env:     []string{fmt.Sprintf("E2E_FILES=%d", files), "E2E_MAX_KIB=512"},
		// About 3 minutes under TCG (the link gives a few hundred KB/s).
		Timeout: 8 * time.Minute,
	})
	r.expect(t, "netem_egress", "yes")
	r.expect(t, "netem_ingress", "yes")
	expectDevice(t, r, "device")
	r.expect(t, "files_written", strconv.Itoa(files))
	r.expect(t, "free1", "yes")
	r.expect(t, "verify_rc", "0")
	r.expect(t, "verify_ok", strconv.Itoa(files))
	r.expect(t, "fsck_rc", "0")
	r.expect(t, "free2", "yes")
	r.expect(t, "result", "pass")
	// 5% loss over thousands of frames: a session that retransmitted
	// nothing did not run over the hostile link.
	if n := count(t, r, "retransmitted1"); n == 0 {
		t.Errorf("aoe-stat counted no retransmissions through mkfs and %d files over a 5%%-loss link", files)
	}
	t.Logf("hostile link: %s bytes; mkfs %s s, write+sync %s s, sha256sum -c %s s, e2fsck %s s; retransmitted %s+%s, late replies %s+%s",
		r.last("bytes_written"), r.last("mkfs_secs"), r.last("write_secs"), r.last("verify_secs"), r.last("fsck_secs"),
		r.last("retransmitted1"), r.last("retransmitted2"), r.last("late1"), r.last("late2"))
}

// TestTargetRestartDuringWrite: vblade is killed in the middle of a 64 MiB
// O_DIRECT write and started again 5 s later. The write waits it out
// (the default 60 s deadline) and finishes without an I/O error, the data
// reads back equal and the target is up again.
//
// The same boot then resizes the target (truncate, restart vblade) under
// aoe-revalidate: see checkRevalidate.
func TestTargetRestartDuringWrite(t *testing.T) {
	needGuest(t)
	img := sparseFile(t, t.TempDir(), "e1.2.img", 128*MiB)
	revalidate, err := filepath.Abs(filepath.Join("testdata", "revalidate.sh"))
	if err != nil {
		t.Fatal(err)
	}
	r := boot(t, bootOptions{
		Script:   "faults-restart.sh",
		Targets:  []target{{Addr: "1.2", File: img}},
		Env:      []string{"E2E_MIB=64"},
		Files:    []string{revalidate + ":/e2e/revalidate.sh"},
		HostHook: "host-hook.sh",
		Timeout:  6 * time.Minute,
	})
	expectDevice(t, r, "device")
	r.expect(t, "dd_running_at_kill", "yes")
	r.expect(t, "write_rc", "0")
	r.expect(t, "sha_match", "yes")
	r.expect(t, "state", "up")
	checkRevalidate(t, r)
	r.expect(t, "free", "yes")
	r.expect(t, "result", "pass")
	// The outage must have happened during the write: no write completed
	// for most of the 5 s vblade was gone.
	if s := secs(t, r, "stall_secs"); s < 3 {
		t.Errorf("the longest time without a completed write was %.1f s: vblade's 5 s outage did not hit the write", s)
	}
	t.Logf("64 MiB written in %s s, stalled %s s by the restart", r.last("write_secs"), r.last("stall_secs"))
}

// TestTargetGoneBeyondDeadline: attached with --timeout 10s, the target
// disappears for good during a write. The write fails with EIO about 10 s
// after the target went (not at once, not much later), aoe-stat shows the
// target down, and aoe-detach still frees the device promptly.
func TestTargetGoneBeyondDeadline(t *testing.T) {
	needGuest(t)
	img := sparseFile(t, t.TempDir(), "e1.2.img", 1<<30)
	r := boot(t, bootOptions{
		Script:   "faults-deadline.sh",
		Targets:  []target{{Addr: "1.2", File: img}},
		HostHook: "host-hook.sh",
		Timeout:  4 * time.Minute,
	})
	expectDevice(t, r, "device")
	r.expect(t, "dd_running_at_kill", "yes")
	if rc := r.must(t, "write_rc"); rc == "0" || rc == "hung" {
		t.Errorf("the write with the target gone: dd status %s, want a failure", rc)
	}
	if msg := r.must(t, "write_err"); !strings.Contains(msg, "Input/output error") {
		t.Errorf("dd's error is %q, want EIO (Input/output error)", msg)
	}
	// The kill request is printed right after a completed write; the
	// write fails when the 10 s deadline has passed since the last reply.
	if s := secs(t, r, "fail_secs"); s < 8 || s > 15 {
		t.Errorf("the write failed %.1f s after the target was killed, want 8..15 s (deadline 10 s)", s)
	}
	// aoe-stat reads a state file the serving process refreshes every
	// second; the script polls it for up to 5 s after dd's failure.
	r.expect(t, "state", "down")
	r.expect(t, "detach_rc", "0")
	r.expect(t, "free", "yes")
	r.expect(t, "result", "pass")
	t.Logf("write failed %s s after the kill; aoe-stat said down %s s later; aoe-detach took %s s", r.last("fail_secs"), r.last("state_secs"), r.last("detach_secs"))
}

// TestKernelDriverAlongside: the kernel's aoe driver and aoe-attach use
// the same target at once. aoe-attach warns, does not replace the
// kernel's /dev/etherd/e1.2 with its link, and data written through
// either device reads back through the other.
func TestKernelDriverAlongside(t *testing.T) {
	needGuest(t)
	img := sparseFile(t, t.TempDir(), "e1.2.img", 128*MiB)
	r := boot(t, bootOptions{
		Script:  "faults-kernel.sh",
		Targets: []target{{Addr: "1.2", File: img}},
		Timeout: 4 * time.Minute,
	})
	r.expect(t, "kdev", "block")
	expectDevice(t, r, "device")
	if w := r.must(t, "warning"); !strings.Contains(w, "kernel aoe driver") {
		t.Errorf("aoe-attach's warning is %q, want one about the kernel aoe driver", w)
	}
	r.expect(t, "kdev_after_attach", "block")
	r.expect(t, "a_via_kernel", "ok")
	r.expect(t, "b_via_nbd", "ok")
	r.expect(t, "a2_via_kernel", "ok")
	r.expect(t, "b2_via_nbd", "ok")
	r.expect(t, "free", "yes")
	r.expect(t, "kdev_after_detach", "block")
	r.expect(t, "result", "pass")
}

// TestMTULoweredDuringWrite: the link's MTU drops from 9000 to 1500 at
// both ends while a large O_DIRECT write runs in 17-sector frames (before
// the engine re-cut frames, this failed the write with EIO). The write
// completes, reads back bit for bit, and the target is used in 2-sector
// frames from then on.
func TestMTULoweredDuringWrite(t *testing.T) {
	needGuest(t)
	img := sparseFile(t, t.TempDir(), "e1.2.img", 256*MiB)
	r := boot(t, bootOptions{
		Script:   "mtu-drop.sh",
		Targets:  []target{{Addr: "1.2", File: img}},
		Env:      []string{"E2E_MTU_MIB=128"},
		MTU:      9000,
		HostHook: "host-hook.sh",
		Timeout:  6 * time.Minute,
	})
	r.expect(t, "payload_before", "8704")
	t.Logf("MTU lowered after %s MiB of 128", r.last("lowered_at_mib"))
	r.expect(t, "write_rc", "0")
	r.expect(t, "readback", "ok")
	r.expect(t, "payload_after", "1024")
	r.expect(t, "result", "pass")
}

// checkRevalidate: aoe-revalidate follows a target that grew under a
// mounted ext4 (resize2fs then grows it online, its files intact),
// refuses to shrink the device under the mount and shrinks it once
// unmounted, and resizes a device on the ioctl interface too.
func checkRevalidate(t *testing.T, r *bootResult) {
	t.Helper()
	dev := r.last("device")
	r.expect(t, "reval_grow", fmt.Sprintf("e1.2: %s grown from %d to %d bytes (resize2fs %s grows an ext4 on it)", dev, 128*MiB, 192*MiB, dev))
	r.expect(t, "reval_size_grown", fmt.Sprint(192*MiB))
	r.expect(t, "resize2fs_rc", "0")
	r.expect(t, "fs_grew", "yes")
	r.expect(t, "reval_verify", "0")
	r.expect(t, "reval_shrink_mounted", "1")
	r.expect(t, "reval_size_kept", fmt.Sprint(192*MiB))
	r.expect(t, "reval_shrink", fmt.Sprintf("e1.2: %s shrunk from %d to %d bytes", dev, 192*MiB, 160*MiB))
	r.expect(t, "reval_size_shrunk", fmt.Sprint(160*MiB))
	if got := r.last("reval_ioctl_grow"); !strings.Contains(got, fmt.Sprintf("grown from %d to %d bytes", 160*MiB, 176*MiB)) {
		t.Errorf("reval_ioctl_grow = %q, want the ioctl device grown from 160 to 176 MiB", got)
	}
	r.expect(t, "reval_size_ioctl", fmt.Sprint(176*MiB))
}
