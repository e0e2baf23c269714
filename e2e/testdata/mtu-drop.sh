#!/bin/sh
# mtu-drop.sh: the MTU drops from 9000 to 1500 on both ends of the link
# (the guest's eth0 and, through the host hook, its tap and bridge) while
# an E2E_MTU_MIB MiB O_DIRECT write of 17-sector frames runs. The write
# must finish and read back equal, now in 2-sector frames. Needs
# /e2e/lib.sh, boot --mtu 9000 and host-hook.sh.
set -u
. /e2e/lib.sh

T=${GOAOE_TARGETS%% *}
step "attach over jumbo frames"
attach DEV "$T"
result payload_before "$(stat_field "$T" PAYLOAD)"
random_file "$W/pattern" "$E2E_MTU_MIB"
want=$(file_sha "$W/pattern")

step "write ${E2E_MTU_MIB} MiB; lower the MTU under it"
show dd if="$W/pattern" of="$DEV" bs=1M oflag=direct
dd if="$W/pattern" of="$DEV" bs=1M oflag=direct 2>"$W/dd.err" &
dd_pid=$!
wait_progress "$DEV" 7 16 "$dd_pid"
echo "E2E-HOST 1 mtu 0 1500"
ip link set eth0 mtu 1500
result lowered_at_mib "$(($(sectors "$DEV" 7) / 2048))"
wait "$dd_pid"
rc=$?
cat "$W/dd.err"
result write_rc "$rc"
[ "$rc" = 0 ] || fail "the write failed across the MTU change: $(last_line "$W/dd.err")"

step "read it back"
got=$(region_sha "$DEV" 0 "$E2E_MTU_MIB")
result readback "$([ "$got" = "$want" ] && echo ok || echo "mismatch $got")"
sleep 1.2 # the state file is rewritten every second
result payload_after "$(stat_field "$T" PAYLOAD)"
show aoe-stat -v
aoe-stat -v
grep 'sectors a frame' "/run/goaoe/$T.log"
detach "$T"
result result pass
