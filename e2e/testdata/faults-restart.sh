#!/bin/sh
# faults-restart.sh: vblade is killed in the middle of a 64 MiB O_DIRECT
# write and started again 5 s later (host hook "restart 0 5"); the write
# must complete without an I/O error and read back equal.
# Results: dd_running_at_kill, write_rc, stall_secs (the longest time no
# write completed), sha_match, state; then revalidate.sh's.
. /e2e/lib.sh
set -u
T=${GOAOE_TARGETS%% *}
MIB=${E2E_MIB:-64}

show dd if=/dev/urandom of="$W/pattern" bs=1M count="$MIB"
random_file "$W/pattern" "$MIB"
want=$(file_sha "$W/pattern")
attach DEV "$T"
result device "$DEV"
show dd if="$W/pattern" of="$DEV" bs=1M oflag=direct
t0=$(now_ms)
dd if="$W/pattern" of="$DEV" bs=1M oflag=direct 2>"$W/dd.err" &
ddpid=$!
wait_progress "$DEV" 7 8 "$ddpid"
echo "E2E-HOST 1 restart 0 5"
# The longest time no write completed, while dd runs (the outage).
last=$(sectors "$DEV" 7)
lastt=$(now_ms)
stall=0
sleep 1
if running "$ddpid"; then result dd_running_at_kill yes; else result dd_running_at_kill no; fi
while running "$ddpid"; do
	s=$(sectors "$DEV" 7)
	n=$(now_ms)
	if [ "$s" != "$last" ]; then
		last=$s
		lastt=$n
	elif [ $((n - lastt)) -gt "$stall" ]; then
		stall=$((n - lastt))
	fi
	[ $((n - t0)) -gt 180000 ] && { proc_info "$ddpid"; fail "the write hangs (more than 180 s)"; }
	sleep 0.2
done
wait "$ddpid"
rc=$?
cat "$W/dd.err"
result write_rc "$rc"
result write_secs "$(secs_since "$t0")"
result stall_secs "$(awk -v ms="$stall" 'BEGIN { printf "%.1f\n", ms / 1000 }')"
show aoe-stat -v
aoe-stat -v
result state "$(stat_field "$T" STATE)"
got=$(region_sha "$DEV" 0 "$MIB")
result sha_match "$([ "$got" = "$want" ] && echo yes || echo no)"
[ "$rc" = 0 ] || fail "dd exited with status $rc"
[ "$got" = "$want" ] || fail "the pattern did not read back"
# The same boot then resizes the target under aoe-revalidate.
. /e2e/revalidate.sh
detach "$T"
result free "$(dev_free "$DEV")"
result result pass
