package e2e

import (
	"fmt"
	"strconv"
	"testing"
	"time"
)

// shelfSlots is how many targets TestShelf exports on one shelf: a full
// Coraid shelf, and the nbd module's default device count.
const shelfSlots = 16

// TestShelf: a whole shelf (16 vblade exports, e1.0 … e1.15) attached by
// one `aoe-attach 'e1.*'`, a line per target; aoe-stat lists every one up
// with its /dev/etherd name; 16 MiB written to all at once and read back,
// each equal; a second attach of the pattern skips them all; the
// auto-attacher takes back a target whose server was killed but leaves
// one a person detached alone; `aoe-detach --all` frees every device.
// RSS and sockets per serving process are reported.
func TestShelf(t *testing.T) {
	needGuest(t)
	dir := t.TempDir()
	var targets []target
	for slot := range shelfSlots {
		addr := fmt.Sprintf("1.%d", slot)
		targets = append(targets, target{Addr: addr, File: sparseFile(t, dir, "e"+addr+".img", 64*MiB)})
	}
	r := boot(t, bootOptions{
		Script:  "shelf.sh",
		Targets: targets,
		Env:     []string{"E2E_SHELF=1", "E2E_MIB=16"},
		Timeout: 10 * time.Minute,
	})
	n := strconv.Itoa(shelfSlots)
	r.expect(t, "targets", n)
	r.expect(t, "attach_rc", "0")
	r.expect(t, "attach_lines", n)
	r.expect(t, "stat_up", n)
	r.expect(t, "etherd_links", n)
	r.expect(t, "dev_sha_match", n)
	r.expect(t, "reattach_rc", "0")
	r.expect(t, "reattach_skipped", n)
	r.expect(t, "auto_reattached", "yes")
	r.expect(t, "auto_detached_left", "yes")
	r.expect(t, "auto_running", "yes")
	r.expect(t, "auto_lines", "1")
	r.expect(t, "detach_rc", "0")
	r.expect(t, "free", n)
	r.expect(t, "remaining", "0")
	r.expect(t, "result", "pass")
	t.Logf("%s targets: 16 MiB each written at once in %s s, read in %s s; RSS of the serving processes %s KiB in all (at most %s KiB, %s sockets, each); auto-attacher took a killed server's device back in %s s",
		n, r.last("write_secs"), r.last("read_secs"), r.last("rss_kib_total"), r.last("rss_kib_max"), r.last("sockets_max"), r.last("auto_reattach_secs"))
}

// raidTimeout is the --timeout raid.sh attaches the members with (its D).
const raidTimeout = 10 // seconds

// TestRAID1MemberDies: md RAID1 over two targets with ext4 on it. One
// member's vblade is killed during a write: md marks it faulty within the
// timeout and a few seconds (the engine fails its I/O cleanly at the
// deadline), the write finishes and verifies. vblade is started again,
// the member comes back up by itself, `mdadm --re-add` resyncs it (write-
// intent bitmap), and with the other member failed and removed every file
// still reads back equal from the re-added one; e2fsck -fn is clean.
func TestRAID1MemberDies(t *testing.T) {
	needGuest(t)
	dir := t.TempDir()
	r := boot(t, bootOptions{
		Script: "raid.sh",
		Targets: []target{
			{Addr: "1.1", File: sparseFile(t, dir, "e1.1.img", 256*MiB)},
			{Addr: "1.2", File: sparseFile(t, dir, "e1.2.img", 256*MiB)},
		},
		HostHook: "host-hook.sh",
		Timeout:  8 * time.Minute,
	})
	expectDevice(t, r, "dev1")
	expectDevice(t, r, "dev2")
	r.expect(t, "faulty", "yes")
	// The deadline + 5 s, and 3 s more for TCG.
	if s := secs(t, r, "faulty_secs"); s > raidTimeout+8 {
		t.Errorf("md marked the dead member faulty %.1f s after its vblade was killed, want within %d s", s, raidTimeout+8)
	}
	r.expect(t, "dd_rc", "0")
	r.expect(t, "sha1_match", "yes")
	r.expect(t, "sha2_match", "yes")
	r.expect(t, "readd_rc", "0")
	r.expect(t, "degraded", "0")
	r.expect(t, "only_readd_sha1", "yes")
	r.expect(t, "only_readd_sha2", "yes")
	r.expect(t, "fsck_rc", "0")
	r.expect(t, "md_io_errors", "0")
	r.expect(t, "stop_rc", "0")
	r.expect(t, "free1", "yes")
	r.expect(t, "free2", "yes")
	r.expect(t, "result", "pass")
	t.Logf("RAID1: member faulty %s s after its vblade was killed, the write done %s s after it; back up %s s after the restart; re-add resync %s s",
		r.last("faulty_secs"), r.last("dd_after_kill_secs"), r.last("member_up_secs"), r.last("resync_secs"))
}
