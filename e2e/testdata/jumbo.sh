#!/bin/sh
# jumbo.sh: aoe-attach over 9000-byte frames: aoe-stat shows 8704 bytes of
# payload (17 sectors) and E2E_JUMBO_MIB MiB written at E2E_JUMBO_OFF MiB
# with O_DIRECT read back equal. Needs /e2e/lib.sh and boot --mtu 9000.
set -u
. /e2e/lib.sh

T=${GOAOE_TARGETS%% *}
echo "jumbo.sh: target $T, mtu $GOAOE_MTU"
show ip link show eth0
ip link show eth0

step "attach over jumbo frames"
attach DEV "$T"
result device "$DEV"
show aoe-stat
aoe-stat
result payload "$(stat_field "$T" PAYLOAD)"
result state "$(stat_field "$T" STATE)"

step "write ${E2E_JUMBO_MIB} MiB and read it back"
random_file "$W/pattern" "$E2E_JUMBO_MIB"
want=$(file_sha "$W/pattern")
result pattern_sha "$want"
t0=$(now_ms)
show dd if="$W/pattern" of="$DEV" bs=1M seek="$E2E_JUMBO_OFF" oflag=direct
dd if="$W/pattern" of="$DEV" bs=1M seek="$E2E_JUMBO_OFF" oflag=direct || fail "dd write failed"
result write_secs "$(secs_since "$t0")"
t0=$(now_ms)
got=$(region_sha "$DEV" "$E2E_JUMBO_OFF" "$E2E_JUMBO_MIB")
result read_secs "$(secs_since "$t0")"
result readback "$([ "$got" = "$want" ] && echo ok || echo "mismatch $got")"
[ "$got" = "$want" ] || fail "the pattern does not read back equal"
show aoe-stat -v
aoe-stat -v
detach "$T"
result free "$(dev_free "$DEV")"
result result pass
echo "jumbo.sh: all steps passed"
