#!/bin/sh
# attach-mkfs.sh: an AoE target as a local disk, the way a user does it.
#
#   aoe-attach eX.Y -> mkfs.ext4 -> mount -> write files -> sync -> sha256
#   -> umount -> aoe-detach -> aoe-attach again -> mount -> sha256sum -c
#   -> umount -> e2fsck -fn -> aoe-detach
#
# Runs inside the test guest of scripts/guest/boot (dash, busybox, the real
# dd/sha256sum/mkfs.ext4/e2fsck) with aoe-attach, aoe-detach, aoe-stat and
# aoe-discover in /usr/local/bin. Used by the e2e tests and by the demo.
#
# Settings (environment, all optional):
#   E2E_TARGET   target to use (default: the first of $GOAOE_TARGETS)
#   E2E_FILES    how many files to write (default 100)
#   E2E_MAX_KIB  largest file size in KiB; sizes are random in 1..this (8192)
#
# Output: a transcript for humans ("$ command" then its output, "===" steps)
# and result lines "E2E key=value" for the tests. Exit status 0 only if
# every step did what it should; on failure the serving processes' logs
# (/run/goaoe/*.log) and the end of dmesg are printed.
set -u

TARGET=${E2E_TARGET:-${GOAOE_TARGETS%% *}}
NFILES=${E2E_FILES:-100}
MAXKIB=${E2E_MAX_KIB:-8192}
MNT=/mnt/aoe
WORK=/tmp/attach-mkfs
mkdir -p "$MNT" "$WORK"

step() { printf '\n=== %s\n' "$*"; }
show() { echo "\$ $*"; }
run() {
	show "$@"
	"$@"
}
result() { echo "E2E $1=$2"; }
# now_ms: milliseconds since boot (busybox date has no %N).
now_ms() { awk '{ printf "%d\n", $1 * 1000 }' /proc/uptime; }
secs_since() { awk -v a="$1" -v b="$(now_ms)" 'BEGIN { printf "%.1f\n", (b - a) / 1000 }'; }

dump_logs() {
	echo "----- diagnostics"
	for f in /run/goaoe/*.log; do
		[ -e "$f" ] || continue
		echo "----- $f"
		cat "$f"
	done
	echo "----- aoe-stat -v"
	aoe-stat -v 2>&1
	echo "----- dmesg (last 40 lines)"
	dmesg | tail -n 40
	echo "-----"
}
fail() {
	echo "E2E-FAIL $*"
	result result fail
	dump_logs
	exit 1
}

# stat_field TARGET COLUMN: the named column (TARGET SIZE INTERFACES PAYLOAD
# STATE DEVICE) of the target's row in aoe-stat's table. Cut by the
# header's column positions, because a column can be empty (INTERFACES of
# a session whose process is gone).
stat_field() {
	aoe-stat | awk -v t="$1" -v col="$2" '
	NR == 1 {
		n = split($0, names, " ")
		for (i = 1; i <= n; i++) pos[i] = index($0, names[i])
		next
	}
	$1 == t {
		for (i = 1; i <= n; i++) {
			if (names[i] != col) continue
			e = i < n ? pos[i + 1] : length($0) + 1
			v = substr($0, pos[i], e - pos[i])
			gsub(/ +$/, "", v)
			print v
		}
	}'
}

# random_size: 1 .. MAXKIB KiB, in bytes.
random_size() {
	r=$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')
	echo $((r % (MAXKIB * 1024) + 1))
}

# attach: aoe-attach the target, print its output, set DEV.
attach() {
	show aoe-attach "$TARGET"
	DEV=$(aoe-attach "$TARGET") || fail "aoe-attach $TARGET exited with status $?"
	echo "$DEV"
	case "$DEV" in
	/dev/nbd[0-9]*) ;;
	*) fail "aoe-attach printed '$DEV', not a /dev/nbdN path" ;;
	esac
	[ -b "$DEV" ] || fail "$DEV is not a block device"
}

# detach: aoe-detach the target and check the device is free again.
detach() {
	show aoe-detach "$TARGET"
	out=$(aoe-detach "$TARGET" 2>&1)
	rc=$?
	echo "$out"
	[ "$rc" = 0 ] || fail "aoe-detach $TARGET exited with status $rc"
	result "$1" "$out"
	if [ -e "/sys/block/${DEV#/dev/}/pid" ]; then
		result "$2" no
		fail "$DEV still has a serving process after aoe-detach (/sys/block/${DEV#/dev/}/pid exists)"
	fi
	result "$2" yes
	echo "($DEV is free: no /sys/block/${DEV#/dev/}/pid)"
}

echo "attach-mkfs: target $TARGET, $NFILES files of 1..$MAXKIB KiB"

step "before: is the nbd module loaded? (aoe-attach loads it itself)"
show lsmod
lsmod
if [ -e /sys/module/nbd ]; then
	result nbd_loaded_before yes
	echo "nbd is already loaded"
else
	result nbd_loaded_before no
	echo "nbd is not loaded (no /sys/module/nbd)"
fi

step "find the target"
show aoe-discover
if aoe-discover >"$WORK/discover" 2>&1; then :; else echo "aoe-discover exited with status $?"; fi
cat "$WORK/discover"
if awk -v t="$TARGET" '$1 == t { found = 1 } END { exit !found }' "$WORK/discover"; then
	result discover_found yes
else
	result discover_found no
fi

step "attach it"
attach
DEV1=$DEV
result device "$DEV1"
[ -e /sys/module/nbd ] && result nbd_loaded_after yes || result nbd_loaded_after no
show ls -l /dev/etherd/
ls -l /dev/etherd/
result link "$(readlink "/dev/etherd/$TARGET")"
show aoe-stat
aoe-stat
result stat_state "$(stat_field "$TARGET" STATE)"
result stat_device "$(stat_field "$TARGET" DEVICE)"
result stat_payload "$(stat_field "$TARGET" PAYLOAD)"
result max_sectors_kb "$(cat "/sys/block/${DEV#/dev/}/queue/max_sectors_kb")"
result read_ahead_kb "$(cat "/sys/block/${DEV#/dev/}/queue/read_ahead_kb")"
[ "$(stat_field "$TARGET" STATE)" = up ] || fail "aoe-stat does not show $TARGET up"

step "make a filesystem and mount it"
run mkfs.ext4 -q -F -L goaoe-demo "$DEV" || fail "mkfs.ext4 $DEV failed"
run mount -t ext4 "$DEV" "$MNT" || fail "mount $DEV failed"
show df -h "$MNT"
df -h "$MNT"

step "write $NFILES files of random sizes (1..$MAXKIB KiB) from /dev/urandom"
t0=$(now_ms)
total=0
i=1
while [ "$i" -le "$NFILES" ]; do
	name=$(printf 'file-%03d' "$i")
	size=$(random_size)
	dd if=/dev/urandom of="$MNT/$name" bs="$size" count=1 iflag=fullblock status=none ||
		fail "writing $MNT/$name failed"
	total=$((total + size))
	[ $((i % 10)) -eq 0 ] && echo "  $i files, $((total / 1048576)) MiB"
	i=$((i + 1))
done
result files_written "$NFILES"
result bytes_written "$total"
echo "wrote $total bytes in $(secs_since "$t0") s (to the page cache)"
t0=$(now_ms)
run sync || fail "sync failed"
echo "sync took $(secs_since "$t0") s"
result sync_secs "$(secs_since "$t0")"
show "(cd $MNT && sha256sum file-*) > $WORK/SHA256SUMS"
(cd "$MNT" && sha256sum file-*) >"$WORK/SHA256SUMS" || fail "sha256sum failed"
head -n 3 "$WORK/SHA256SUMS"
echo "... ($(wc -l <"$WORK/SHA256SUMS") files)"
sed 's/^/E2E sum=/' "$WORK/SHA256SUMS"
show ls "$MNT" "| wc -l"
ls "$MNT" | wc -l
run umount "$MNT" || fail "umount failed"

step "detach: the device becomes free"
detach detach1 free_after_detach1
if [ -e "/dev/etherd/$TARGET" ]; then result link_after_detach present; else result link_after_detach absent; fi
stat_row=$(aoe-stat | awk -v t="$TARGET" '$1 == t')
result stat_after_detach "${stat_row:-absent}"
# Nothing of the old device may be served from memory afterwards.
sync
echo 3 >/proc/sys/vm/drop_caches

step "attach again and check every file"
attach
DEV2=$DEV
result device2 "$DEV2"
run mount -t ext4 "$DEV2" "$MNT" || fail "mount $DEV2 after re-attach failed"
t0=$(now_ms)
show "(cd $MNT && sha256sum -c $WORK/SHA256SUMS)"
(cd "$MNT" && sha256sum -c "$WORK/SHA256SUMS") >"$WORK/check" 2>&1
rc=$?
result verify_rc "$rc"
result verify_ok "$(grep -c ': OK$' "$WORK/check")"
grep -v ': OK$' "$WORK/check"
result verify_secs "$(secs_since "$t0")"
echo "$(grep -c ': OK$' "$WORK/check") files OK, checked in $(secs_since "$t0") s"
[ "$rc" = 0 ] || fail "sha256sum -c found differences"
run aoe-stat -v
run umount "$MNT" || fail "umount failed"

step "filesystem check"
run e2fsck -fn "$DEV2"
rc=$?
result fsck_rc "$rc"
[ "$rc" = 0 ] || fail "e2fsck -fn $DEV2 exited with status $rc"

step "detach"
detach detach2 free_after_detach2

result result pass
echo "attach-mkfs: all steps passed"
