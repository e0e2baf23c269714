#!/bin/sh
# faults-kernel.sh: the kernel aoe driver and aoe-attach on the same target
# at once. Data written through one is read back through the other, both
# ways, twice; aoe-attach warns about the driver and leaves the kernel's
# /dev/etherd/eX.Y alone.
# Results: kdev (block), warning, kdev_after_attach, a_via_kernel,
# b_via_nbd, a2_via_kernel, b2_via_nbd (ok), kdev_after_detach, free.
. /e2e/lib.sh
set -u
T=${GOAOE_TARGETS%% *}
K=/dev/etherd/$T
kind() { if [ -L "$1" ]; then echo "link $(readlink "$1")"; elif [ -b "$1" ]; then echo block; elif [ -e "$1" ]; then echo other; else echo absent; fi; }

step "the kernel driver finds the target"
show modprobe aoe
modprobe aoe || fail "modprobe aoe failed"
i=0
while [ ! -b "$K" ]; do
	[ $((i % 10)) = 0 ] && [ -e /dev/etherd/discover ] && echo >/dev/etherd/discover
	[ "$i" -ge 300 ] && break
	sleep 0.1
	i=$((i + 1))
done
ls -l /dev/etherd/
cat /sys/block/etherd*/state 2>/dev/null
result kdev "$(kind "$K")"
[ -b "$K" ] || fail "the kernel driver did not create $K in 30 s"

step "aoe-attach alongside"
show aoe-attach "$T"
DEV=$(aoe-attach "$T" 2>"$W/attach.err")
rc=$?
cat "$W/attach.err"
echo "$DEV"
[ "$rc" = 0 ] || fail "aoe-attach exited with status $rc"
[ -b "$DEV" ] || fail "aoe-attach printed '$DEV', not a block device"
result device "$DEV"
result warning "$(grep -i warning "$W/attach.err" | head -n 1)"
result kdev_after_attach "$(kind "$K")"
aoe-stat

random_file "$W/a" 8
random_file "$W/b" 8
sa=$(file_sha "$W/a")
sb=$(file_sha "$W/b")
# round OFF_MIB SUFFIX: A through nbd -> read through the kernel's device;
# B through the kernel's device -> read through nbd, in the same place.
round() {
	show dd if=a of="$DEV" seek="$1" oflag=direct
	dd if="$W/a" of="$DEV" bs=1M seek="$1" oflag=direct status=none || fail "write through $DEV failed"
	got=$(region_sha "$K" "$1" 8)
	result "a${2}_via_kernel" "$([ "$got" = "$sa" ] && echo ok || echo "mismatch $got")"
	show dd if=b of="$K" seek="$1" oflag=direct
	dd if="$W/b" of="$K" bs=1M seek="$1" oflag=direct status=none || fail "write through $K failed"
	got=$(region_sha "$DEV" "$1" 8)
	result "b${2}_via_nbd" "$([ "$got" = "$sb" ] && echo ok || echo "mismatch $got")"
}
step "round 1 at 0 MiB"
round 0 ""
step "round 2 at 40 MiB"
round 40 2
aoe-stat -v
detach "$T"
result free "$(dev_free "$DEV")"
result kdev_after_detach "$(kind "$K")"
result result pass
