#!/bin/sh
# faults-deadline.sh: attached with --timeout 10s, the target's vblade is
# killed for good (host hook "kill 0") during a write: the write fails with
# an I/O error about 10 s later, aoe-stat says down, aoe-detach still works.
# Results: dd_running_at_kill, write_rc, write_err, fail_secs (kill request
# to dd's exit), state (within state_secs of dd's exit), detach_rc, detach_secs, free.
. /e2e/lib.sh
set -u
T=${GOAOE_TARGETS%% *}

attach DEV --timeout 10s "$T"
result device "$DEV"
show dd if=/dev/zero of="$DEV" bs=1M count=1024 oflag=direct
dd if=/dev/zero of="$DEV" bs=1M count=1024 oflag=direct 2>"$W/dd.err" &
ddpid=$!
wait_progress "$DEV" 7 4 "$ddpid"
tk=$(now_ms)
echo "E2E-HOST 1 kill 0"
if running "$ddpid"; then result dd_running_at_kill yes; else result dd_running_at_kill no; fi
if ! wait_gone "$ddpid" 60; then
	result write_rc hung
	proc_info "$ddpid"
	fail "the write still runs 60 s after vblade was killed"
fi
result fail_secs "$(secs_since "$tk")"
wait "$ddpid"
rc=$?
cat "$W/dd.err"
result write_rc "$rc"
result write_err "$(last_line "$W/dd.err")"
# The state file is refreshed every second: give aoe-stat up to 5 s.
t0=$(now_ms)
while [ "$(stat_field "$T" STATE)" != down ] && [ $(($(now_ms) - t0)) -lt 5000 ]; do sleep 0.2; done
result state_secs "$(secs_since "$t0")"
show aoe-stat -v
aoe-stat -v
result state "$(stat_field "$T" STATE)"
t0=$(now_ms)
show timeout 60 aoe-detach "$T"
timeout 60 aoe-detach "$T"
drc=$?
result detach_rc "$drc"
result detach_secs "$(secs_since "$t0")"
result free "$(dev_free "$DEV")"
[ "$rc" != 0 ] || fail "the write succeeded although the target was gone"
[ "$drc" = 0 ] || fail "aoe-detach exited with status $drc"
result result pass
