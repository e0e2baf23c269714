package e2e

import (
	"bytes"
	"os"
	"testing"
	"time"

	"github.com/goaoe/goaoe/internal/testbed"
)

// TestInteropTargets: one boot, every kind of target the host side runs,
// each used as a disk the way a person would (testdata/interop.sh):
// vblade as it comes (e1.1), vblade advertising a buffer count of 1
// (e1.2) and of 64 (e1.3), vblade exporting read-only (e1.4, holding a
// known pattern), and our quirky target (e1.5) that drops Reserve/Release
// without a word and answers flushes with the command byte as status.
// The read-write ones survive mkfs, files, detach, attach and sha256sum
// -c; the quirky one warns once that it has no reservations and refuses
// --reserve; the read-only one reads back, refuses writes clearly and
// turns the device read-only.
func TestInteropTargets(t *testing.T) {
	needGuest(t)
	quirky := testbed.QuirkTargetBinary(t)
	dir := t.TempDir()
	const roMiB = 4
	ro := sparseFile(t, dir, "e1.4.img", 32*MiB)
	pat := pattern(14, roMiB*MiB)
	if err := os.WriteFile(ro, pat, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(ro, 32*MiB); err != nil {
		t.Fatal(err)
	}
	r := boot(t, bootOptions{
		Script: "interop.sh",
		Targets: []target{
			{Addr: "1.1", File: sparseFile(t, dir, "e1.1.img", 64*MiB)},
			{Addr: "1.2", File: sparseFile(t, dir, "e1.2.img", 64*MiB), Args: []string{"-b", "1"}},
			{Addr: "1.3", File: sparseFile(t, dir, "e1.3.img", 64*MiB), Args: []string{"-b", "64"}},
			{Addr: "1.4", File: ro, ReadOnly: true},
			{Addr: "1.5", File: sparseFile(t, dir, "e1.5.img", 64*MiB), Args: []string{"prog=" + quirky, "-q", "silent-control+echo-flush-status"}},
		},
		Env: []string{"E2E_RW=e1.1 e1.2 e1.3 e1.5", "E2E_NORES=e1.5", "E2E_RO=e1.4",
			"E2E_RO_MIB=4", "E2E_RO_SHA=" + sha256hex(pat)},
		Timeout: 8 * time.Minute,
	})
	r.expect(t, "result", "pass")

	for _, tc := range []struct {
		target, bufcnt, flush, reservations string
	}{
		{"e1.1", "16", "0xe7", "true"},
		{"e1.2", "1", "0xe7", "true"},
		{"e1.3", "64", "0xe7", "true"},
		{"e1.5", "16", "0xe7", "false"},
	} {
		tg := tc.target
		r.expect(t, tg+"_buffer_count", tc.bufcnt)
		r.expect(t, tg+"_flush", tc.flush)
		r.expect(t, tg+"_reservations", tc.reservations)
		r.expect(t, tg+"_sectors_per_frame", "2")
		r.expect(t, tg+"_lba48", "true")
		r.expect(t, tg+"_verified", "4")
		r.expect(t, tg+"_fsck", "0")
	}
	// vblade: nothing to warn about, and its flushes are real.
	r.expect(t, "e1.1_warnings", "0")
	r.expect(t, "e1.1_echoes", "0")
	// The quirky target: one warning, --reserve refused, and the flushes
	// the filesystem sent (beyond the probe's) completed although every
	// answer's status was the command byte.
	r.expect(t, "e1.5_warnings", "1")
	r.expect(t, "e1.5_nores_warnings", "1")
	r.expect(t, "reserve_rc", "1")
	r.expect(t, "reserve_refusal", "1")
	if n := count(t, r, "e1.5_echoes"); n < 2 {
		t.Errorf("e1.5: %d flush answers with an echoed status, want the probe's and the filesystem's", n)
	}

	// The read-only export.
	r.expect(t, "e1.4_flush", "0xe7")
	r.expect(t, "e1.4_read_sha", sha256hex(pat))
	if rc := r.must(t, "e1.4_write1_rc"); rc == "0" {
		t.Error("a write to the read-only export succeeded")
	}
	if rc := r.must(t, "e1.4_write2_rc"); rc == "0" {
		t.Error("the second write to the read-only export succeeded")
	}
	if s := secs(t, r, "e1.4_write2_secs"); s > 2 {
		t.Errorf("the second write took %.1f s; it must fail at once", s)
	}
	r.expect(t, "e1.4_getro", "1")
	r.expect(t, "e1.4_stat_says", "1")
	r.expect(t, "e1.4_target_read_only", "true")
	r.expect(t, "e1.4_log_says", "1")
	r.expect(t, "e1.4_read_sha_after", sha256hex(pat))
	// The backing file is as it was.
	if got := region(t, ro, 0, roMiB*MiB); !bytes.Equal(got, pat) {
		t.Errorf("the read-only export's file changed: %s", firstDiff(got, pat))
	}
}
