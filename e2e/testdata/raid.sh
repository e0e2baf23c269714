#!/bin/sh
# raid.sh: md RAID1 over two targets, as admins run it over AoE. The first
# two targets of $GOAOE_TARGETS are attached with --timeout 10s and made
# a RAID1 (internal write-intent bitmap) with ext4 on it; a file is
# written; during a second write the second target's vblade is killed
# (host hook: vblade 1). md must mark that member faulty within the
# timeout and a few seconds, the write goes on and verifies. vblade is
# started again, the member comes back up, `mdadm --re-add` and the
# resync run; then the other member is failed and removed, so that every
# file is read back from the re-added one alone; e2fsck -fn is clean.
# Results: faulty, faulty_secs, dd_rc, sha1_match, sha2_match,
# member_up_secs, readd_rc, resync_secs, degraded, only_readd_sha1,
# only_readd_sha2, fsck_rc, md_io_errors, stop_rc, free1, free2.
. /e2e/lib.sh
set -u

D=10
MIB1=${E2E_MIB1:-16}
MIB2=${E2E_MIB2:-48}
T1=${GOAOE_TARGETS%% *}
rest=${GOAOE_TARGETS#* }
T2=${rest%% *}
MD=/dev/md0

run() {
	show "$@"
	"$@"
}

# member_state DEV: md's state of the member (in_sync, faulty, ...).
member_state() { cat "/sys/block/md0/md/dev-${1#/dev/}/state" 2>/dev/null; }

# host CMD...: a request to the host hook.
HN=0
host() {
	HN=$((HN + 1))
	echo "E2E-HOST $HN $*"
}

run modprobe raid1 || fail "modprobe raid1 failed"
attach DEV1 --timeout "${D}s" "$T1"
attach DEV2 --timeout "${D}s" "$T2"
result dev1 "$DEV1"
result dev2 "$DEV2"

step "RAID1 over $T1 ($DEV1) and $T2 ($DEV2), internal bitmap, ext4"
# --assume-clean: both exports start as zeros, so they already agree.
run mdadm --create "$MD" --run --level=1 --raid-devices=2 --metadata=1.2 \
	--bitmap=internal --assume-clean "$DEV1" "$DEV2" || fail "mdadm --create failed"
# Without md's bad-block log: with it, raid1 answers a failed write by
# writing the range again one sector at a time to record bad blocks, so a
# dead member costs a round trip per sector before it is failed (minutes
# over any network disk). mdadm creates the log; assembling drops it.
run mdadm --stop "$MD" || fail "mdadm --stop failed"
run mdadm --assemble "$MD" --update=no-bbl "$DEV1" "$DEV2" || fail "mdadm --assemble --update=no-bbl failed"
mdadm --examine "$DEV2" | grep -i 'bad block' || echo "no bad block log on $DEV2"
cat /proc/mdstat
run mkfs.ext4 -q -F "$MD" || fail "mkfs.ext4 $MD failed"
mkdir -p /mnt/raid
run mount -t ext4 "$MD" /mnt/raid || fail "mount $MD failed"
random_file "$W/f1" "$MIB1"
random_file "$W/f2" "$MIB2"
run dd if="$W/f1" of=/mnt/raid/f1 bs=1M conv=fsync status=none || fail "writing f1 failed"

step "$MIB2 MiB written while $T2's vblade is killed"
show dd if="$W/f2" of=/mnt/raid/f2 bs=1M conv=fsync '&'
dd if="$W/f2" of=/mnt/raid/f2 bs=1M conv=fsync 2>"$W/f2.dd" &
DDPID=$!
wait_progress "$DEV2" 7 8 "$DDPID"
running "$DDPID" || fail "dd finished before the kill (make E2E_MIB2 bigger)"
host kill 1
TK=$(now_ms)
faulty=no i=0
while [ "$i" -lt $(((D + 30) * 10)) ]; do
	case "$(member_state "$DEV2")" in
	*faulty*)
		faulty=yes
		break
		;;
	esac
	sleep 0.1
	i=$((i + 1))
done
result faulty "$faulty"
result faulty_secs "$(secs_since "$TK")"
cat /proc/mdstat
dmesg | grep -E 'md/raid1|md0' | tail -n 5
wait_gone "$DDPID" 120 || fail "dd still runs 120 s after the kill"
wait "$DDPID"
result dd_rc "$?"
result dd_after_kill_secs "$(secs_since "$TK")"
cat "$W/f2.dd"
echo 3 >/proc/sys/vm/drop_caches
result sha1_match "$([ "$(file_sha /mnt/raid/f1)" = "$(file_sha "$W/f1")" ] && echo yes || echo no)"
result sha2_match "$([ "$(file_sha /mnt/raid/f2)" = "$(file_sha "$W/f2")" ] && echo yes || echo no)"

step "vblade of $T2 back; mdadm --re-add $DEV2; resync"
host restart 1
TR=$(now_ms)
i=0
until [ "$(stat_field "$T2" STATE)" = up ]; do
	[ "$i" -ge 600 ] && fail "$T2 not up 60 s after its vblade was started again"
	sleep 0.1
	i=$((i + 1))
done
result member_up_secs "$(secs_since "$TR")"
run mdadm "$MD" --remove "$DEV2"
run mdadm "$MD" --re-add "$DEV2"
result readd_rc "$?"
TS=$(now_ms)
i=0
until [ "$(cat /sys/block/md0/md/degraded)" = 0 ] && [ "$(cat /sys/block/md0/md/sync_action)" = idle ]; do
	[ "$i" -ge 1200 ] && break
	sleep 0.1
	i=$((i + 1))
done
result resync_secs "$(secs_since "$TS")"
result degraded "$(cat /sys/block/md0/md/degraded)"
cat /proc/mdstat
run mdadm --detail "$MD"

step "only the re-added member: $DEV1 failed and removed, every file read back"
run mdadm "$MD" --fail "$DEV1"
run mdadm "$MD" --remove "$DEV1"
echo 3 >/proc/sys/vm/drop_caches
result only_readd_sha1 "$([ "$(file_sha /mnt/raid/f1)" = "$(file_sha "$W/f1")" ] && echo yes || echo no)"
result only_readd_sha2 "$([ "$(file_sha /mnt/raid/f2)" = "$(file_sha "$W/f2")" ] && echo yes || echo no)"
run umount /mnt/raid || fail "umount /mnt/raid failed"
run e2fsck -fn "$MD"
result fsck_rc "$?"
result md_io_errors "$(io_errors "$MD")"
run mdadm --stop "$MD"
result stop_rc "$?"

detach "$T1"
detach "$T2"
result free1 "$(wait_free "$DEV1" 10 && echo yes || echo no)"
result free2 "$(wait_free "$DEV2" 10 && echo yes || echo no)"
result result pass
