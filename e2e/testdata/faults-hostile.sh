#!/bin/sh
# faults-hostile.sh: a filesystem on a target behind a hostile link. netem
# on eth0 in both directions (egress directly, ingress through ifb0) loses,
# duplicates, reorders and delays frames; mkfs, writes, a detach and a new
# attach, sha256sum -c and e2fsck -fn must all come out clean.
# Settings: E2E_FILES (10), E2E_MAX_KIB (512).
# Results: netem_egress/netem_ingress (installed: yes), files_written,
# verify_rc, verify_ok, fsck_rc, retransmitted, late, *_secs.
. /e2e/lib.sh
set -u
T=${GOAOE_TARGETS%% *}
NFILES=${E2E_FILES:-10}
MAXKIB=${E2E_MAX_KIB:-512}
NETEM="loss 5% duplicate 5% reorder 10% delay 20ms 10ms"
MNT=/mnt/aoe
mkdir -p "$MNT"

# retrans/late: counters of the current session (all paths).
retrans() { aoe-stat --json | awk '/"retransmitted":/ { gsub(/[^0-9]/, "", $2); s += $2 } END { print s + 0 }'; }
late() { aoe-stat --json | awk '/"replies_late":/ { gsub(/[^0-9]/, "", $2); s += $2 } END { print s + 0 }'; }

step "netem on eth0 both ways: $NETEM"
for m in sch_netem sch_ingress ifb act_mirred cls_matchall cls_u32; do modprobe "$m" 2>/dev/null || echo "modprobe $m failed"; done
show tc qdisc add dev eth0 root netem $NETEM
tc qdisc add dev eth0 root netem $NETEM || fail "netem on eth0 egress"
result netem_egress yes
[ -e /sys/class/net/ifb0 ] || ip link add ifb0 type ifb || fail "no ifb0"
ip link set ifb0 up || fail "ip link set ifb0 up"
tc qdisc add dev eth0 handle ffff: ingress || fail "ingress qdisc on eth0"
if ! tc filter add dev eth0 parent ffff: matchall action mirred egress redirect dev ifb0; then
	echo "matchall failed; u32 instead"
	tc filter add dev eth0 parent ffff: protocol all u32 match u32 0 0 action mirred egress redirect dev ifb0 ||
		fail "redirecting eth0 ingress to ifb0"
fi
tc qdisc add dev ifb0 root netem $NETEM || fail "netem on ifb0"
result netem_ingress yes
tc qdisc show dev eth0
tc filter show dev eth0 parent ffff:
tc qdisc show dev ifb0

step "attach, mkfs.ext4, mount"
attach DEV "$T"
result device "$DEV"
t0=$(now_ms)
show mkfs.ext4 -q -F "$DEV"
mkfs.ext4 -q -F "$DEV" || fail "mkfs.ext4 $DEV failed"
result mkfs_secs "$(secs_since "$t0")"
mount -t ext4 "$DEV" "$MNT" || fail "mount $DEV failed"

step "write $NFILES files of 1..$MAXKIB KiB, sync"
t0=$(now_ms)
total=0
i=1
while [ "$i" -le "$NFILES" ]; do
	r=$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')
	size=$((r % (MAXKIB * 1024) + 1))
	dd if=/dev/urandom of="$MNT/file-$i" bs="$size" count=1 iflag=fullblock status=none || fail "writing file-$i failed"
	total=$((total + size))
	i=$((i + 1))
done
sync || fail "sync failed"
result files_written "$NFILES"
result bytes_written "$total"
result write_secs "$(secs_since "$t0")"
(cd "$MNT" && sha256sum file-*) >"$W/SHA256SUMS" || fail "sha256sum failed"
cat "$W/SHA256SUMS"
umount "$MNT" || fail "umount failed"
show aoe-stat -v
aoe-stat -v
result retransmitted1 "$(retrans)"
result late1 "$(late)"
detach "$T"
result free1 "$(dev_free "$DEV")"
sync
echo 3 >/proc/sys/vm/drop_caches

step "attach again, sha256sum -c, e2fsck -fn"
attach DEV "$T"
mount -t ext4 "$DEV" "$MNT" || fail "mount $DEV after re-attach failed"
t0=$(now_ms)
(cd "$MNT" && sha256sum -c "$W/SHA256SUMS") >"$W/check" 2>&1
rc=$?
cat "$W/check"
result verify_rc "$rc"
result verify_ok "$(grep -c ': OK$' "$W/check")"
result verify_secs "$(secs_since "$t0")"
umount "$MNT" || fail "umount failed"
t0=$(now_ms)
show e2fsck -fn "$DEV"
e2fsck -fn "$DEV"
frc=$?
result fsck_rc "$frc"
result fsck_secs "$(secs_since "$t0")"
show aoe-stat -v
aoe-stat -v
result retransmitted2 "$(retrans)"
result late2 "$(late)"
tc -s qdisc show dev eth0
tc -s qdisc show dev ifb0
detach "$T"
result free2 "$(dev_free "$DEV")"
[ "$rc" = 0 ] || fail "sha256sum -c found differences"
[ "$frc" = 0 ] || fail "e2fsck -fn exited with status $frc"
result result pass
