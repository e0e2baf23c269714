#!/bin/sh
# interop.sh: every kind of target the host side runs, used as a disk.
#
# For each read-write target in E2E_RW (eX.Y names): aoe-attach (stderr
# kept) -> what aoe-stat --json says was learned -> mkfs.ext4 -> mount ->
# files -> sync -> umount -> aoe-detach -> aoe-attach -> mount ->
# sha256sum -c -> umount -> aoe-detach. For E2E_NORES (a target without
# Reserve/Release) also aoe-attach --reserve, which must be refused. For
# E2E_RO (a read-only export): attach, read the known pattern back
# (E2E_RO_SHA, the sha256 of its first E2E_RO_MIB MiB), a write fails
# clearly, the device turns read-only, and a second write fails at once.
#
# Result lines: E2E <target>_<key>=<value>; E2E result=pass at the end.
set -u
. /e2e/lib.sh

MNT=/mnt/aoe
mkdir -p "$MNT"

# json_field TARGET KEY: a scalar from aoe-stat --json for TARGET (its
# object is the lines between its "target" line and the next one).
json_field() {
	aoe-stat --json | awk -v t="\"$1\"," -v k="\"$2\":" '
	$1 == "\"target\":" { in_t = ($2 == t) }
	in_t && $1 == k { v = $2; sub(/,$/, "", v); gsub(/"/, "", v); print v; exit }'
}

# attach_warn VAR TARGET [options]: aoe-attach keeping stderr in $W/TARGET.err.
attach_warn() {
	var=$1 tgt=$2
	shift 2
	show aoe-attach "$@" "$tgt"
	out=$(aoe-attach "$@" "$tgt" 2>"$W/$tgt.err")
	rc=$?
	echo "$out"
	cat "$W/$tgt.err"
	[ "$rc" = 0 ] || fail "aoe-attach $* $tgt exited with status $rc"
	case "$out" in
	/dev/nbd[0-9]*) ;;
	*) fail "aoe-attach $tgt printed '$out', not a /dev/nbdN path" ;;
	esac
	eval "$var=\$out"
}

learned() {
	for k in flush reservations buffer_count sectors_per_frame lba48; do
		result "${1}_$k" "$(json_field "$1" $k)"
	done
}

rw_target() {
	tgt=$1
	step "$tgt: attach, mkfs, files"
	attach_warn dev "$tgt"
	result "${tgt}_warnings" "$(grep -c 'warning:' "$W/$tgt.err")"
	result "${tgt}_nores_warnings" "$(grep -c 'has no reservations' "$W/$tgt.err")"
	learned "$tgt"
	mkfs.ext4 -q -F "$dev" || fail "mkfs.ext4 on $dev ($tgt)"
	mount -t ext4 "$dev" "$MNT" || fail "mount $dev ($tgt)"
	for i in 1 2 3 4; do random_file "$MNT/f$i" 2; done
	(cd "$MNT" && sha256sum f1 f2 f3 f4 >"$W/$tgt.sums")
	sync
	umount "$MNT" || fail "umount ($tgt)"
	sleep 1.2 # the state file is rewritten every second
	result "${tgt}_echoes" "$(json_field "$tgt" flush_status_echoes)"
	detach "$tgt"

	step "$tgt: attach again, verify"
	attach_warn dev "$tgt"
	mount -t ext4 "$dev" "$MNT" || fail "mount $dev again ($tgt)"
	(cd "$MNT" && sha256sum -c "$W/$tgt.sums") || fail "sha256sum -c on $tgt"
	result "${tgt}_verified" "$(wc -l <"$W/$tgt.sums")"
	umount "$MNT" || fail "umount ($tgt)"
	e2fsck -fn "$dev" >/dev/null 2>&1
	result "${tgt}_fsck" "$?"
	detach "$tgt"
}

modprobe nbd

if [ -n "${E2E_NORES:-}" ]; then
	step "$E2E_NORES: --reserve on a target without reservations"
	show aoe-attach --reserve "$E2E_NORES"
	aoe-attach --reserve "$E2E_NORES" >"$W/reserve.out" 2>"$W/reserve.err"
	result reserve_rc "$?"
	cat "$W/reserve.out" "$W/reserve.err"
	result reserve_refusal "$(grep -c 'cannot reserve' "$W/reserve.err")"
fi

for tgt in $E2E_RW; do rw_target "$tgt"; done

if [ -n "${E2E_RO:-}" ]; then
	tgt=$E2E_RO
	step "$tgt: a read-only export"
	attach_warn dev "$tgt"
	learned "$tgt"
	result "${tgt}_read_sha" "$(region_sha "$dev" 0 "$E2E_RO_MIB")"
	show dd of="$dev" oflag=direct
	dd if=/dev/zero of="$dev" bs=4k count=1 seek=100 oflag=direct 2>"$W/ro1.err"
	result "${tgt}_write1_rc" "$?"
	cat "$W/ro1.err"
	i=0
	while [ "$(blockdev --getro "$dev")" != 1 ] && [ $i -lt 50 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	result "${tgt}_getro" "$(blockdev --getro "$dev")"
	start=$(now_ms)
	dd if=/dev/zero of="$dev" bs=4k count=1 seek=200 oflag=direct 2>"$W/ro2.err"
	result "${tgt}_write2_rc" "$?"
	result "${tgt}_write2_secs" "$(secs_since "$start")"
	cat "$W/ro2.err"
	sleep 1.2 # the state file is rewritten every second
	show aoe-stat
	aoe-stat | tee "$W/ro.stat"
	result "${tgt}_stat_says" "$(grep -c "$tgt: refuses writes" "$W/ro.stat")"
	result "${tgt}_target_read_only" "$(json_field "$tgt" target_read_only)"
	result "${tgt}_log_says" "$(grep -c 'refused a write' "/run/goaoe/$tgt.log")"
	result "${tgt}_read_sha_after" "$(region_sha "$dev" 0 "$E2E_RO_MIB")"
	detach "$tgt"
fi

result result pass
