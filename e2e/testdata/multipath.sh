#!/bin/sh
# multipath.sh: every NIC that sees the target carries traffic, and NICs
# come and go without an I/O error. Needs 3 NICs and host-hook.sh.
#
# Result lines: agg1/agg2/agg3 (MB/s reading with 1, 2, 3 equal NICs),
# aggjoin (MB/s with 2 equal NICs, the second up only after attach),
# fast/both (MB/s with a 40 and a 10 Mbit/s NIC): timings, for the test's
# log and scripts/bench-multipath, never checked; paths_used2/paths_used3/
# paths_used_join/paths_used_both (how many paths carried replies), failover_* and join_*
# (see below). A wait below (eth1 back, eth2 joined) is bounded at 30 s so
# that a busy machine is slow, not failing; the seconds it took are shown.
. /e2e/lib.sh
set -u
T=${E2E_TARGET:-e1.2}
N=0
# host CMD...: ask the host hook for a change, give it a moment.
host() {
	N=$((N + 1))
	echo "E2E-HOST $N $*"
	sleep 1
}
# read_mbs DEV MIB [SKIP_MIB]: read with O_DIRECT, print MB/s.
read_mbs() {
	local t0
	t0=$(now_ms)
	dd if="$1" of=/dev/null bs=1M count="$2" skip="${3:-0}" iflag=direct status=none || fail "read from $1 failed"
	awk -v ms=$(($(now_ms) - t0)) -v mib="$2" 'BEGIN { printf "%.2f\n", mib * 1.048576 / (ms / 1000) }'
}
# path_field IFACE FIELD: a path's field from aoe-stat --json (one target).
path_field() {
	aoe-stat --json | awk -v ifc="$1" -v f="$2" '
		/"interface":/ { gsub(/[",]/, "", $2); cur = $2 }
		$1 == "\"" f "\":" && cur == ifc { gsub(/[",]/, "", $2); print $2 }'
}
# fresh: wait (up to 10 s) until the serving process has rewritten its
# state file once more (every second), so what aoe-stat shows includes all
# the I/O done before the call.
fresh() {
	local u i=0
	u=$(aoe-stat --json | grep '"updated":')
	while [ "$(aoe-stat --json | grep '"updated":')" = "$u" ] && [ "$i" -lt 100 ]; do
		sleep 0.1
		i=$((i + 1))
	done
}
# used: how many paths have carried replies.
used() { aoe-stat --json | grep '"replies":' | grep -vc '"replies": 0,'; }
npaths() { aoe-stat --json | grep -c '"interface":'; }

step "aggregation: three NICs, each limited to 20 Mbit/s on the host"
for k in 0 1 2; do host rate "$k" 20mbit; done
attach DEV -i eth0 "$T"
result agg1 "$(read_mbs "$DEV" 12)"
detach "$T"
attach DEV -i eth0 -i eth1 "$T"
result agg2 "$(read_mbs "$DEV" 24)"
fresh
result paths_used2 "$(used)"
aoe-stat -v
detach "$T"
attach DEV -i eth0 -i eth1 -i eth2 "$T"
result agg3 "$(read_mbs "$DEV" 36)"
fresh
result paths_used3 "$(used)"
aoe-stat -v
detach "$T"

step "a NIC that joins after attach takes its share: eth1 comes up after"
show ip link set eth1 down
ip link set eth1 down
attach DEV -i eth0 -i eth1 "$T"
show ip link set eth1 up
ip link set eth1 up
t0=$(now_ms)
while [ "$(npaths)" != 2 ] && [ "$(secs_since "$t0" | cut -d. -f1)" -lt 30 ]; do sleep 0.2; done
result aggjoin "$(read_mbs "$DEV" 24)"
fresh
result paths_used_join "$(used)"
aoe-stat -v
detach "$T"

step "unequal NICs: 40 and 10 Mbit/s"
host rate 0 40mbit
host rate 1 10mbit
attach DEV -i eth0 "$T"
result fast "$(read_mbs "$DEV" 16)"
detach "$T"
attach DEV -i eth0 -i eth1 "$T"
result both "$(read_mbs "$DEV" 16)"
fresh
result paths_used_both "$(used)"
aoe-stat -v
detach "$T"
for k in 0 1 2; do host norate "$k"; done

step "failover: eth1's host end goes down during a 256 MiB write"
show "dd if=/dev/urandom of=$W/pattern bs=1M count=256"
dd if=/dev/urandom of="$W/pattern" bs=1M count=256 status=none
want=$(sha256sum "$W/pattern" | cut -d' ' -f1)
attach DEV -i eth0 -i eth1 "$T"
dd if="$W/pattern" of="$DEV" bs=1M oflag=direct status=none 2>"$W/dd.err" &
ddpid=$!
sleep 3
host down 1
wait "$ddpid"
rc=$?
result failover_write_rc "$rc"
[ "$rc" = 0 ] || cat "$W/dd.err"
got=$(dd if="$DEV" bs=1M count=256 iflag=direct status=none | sha256sum | cut -d' ' -f1)
result failover_sha_match "$([ "$got" = "$want" ] && echo yes || echo no)"
fresh
result failover_eth1_state "$(path_field eth1 state)"
aoe-stat -v
before=$(path_field eth1 replies)
host up 1
# Read while watching eth1: it must carry traffic again (the seconds it
# took are shown, not checked; the README says within a second). The
# reader loops until told to stop, so a read that ends quickly cannot end
# the watch before eth1 had its chance (CI once saw exactly that).
t0=$(now_ms)
rm -f "$W/stop"
(while [ ! -e "$W/stop" ]; do
	dd if="$DEV" of=/dev/null bs=1M count=64 iflag=direct status=none || exit 1
done) &
rdpid=$!
back=never
while [ "$(secs_since "$t0" | cut -d. -f1)" -lt 30 ]; do
	if [ "$(path_field eth1 replies)" != "$before" ]; then
		back=$(secs_since "$t0")
		break
	fi
	running "$rdpid" || break
	sleep 0.2
done
touch "$W/stop"
wait "$rdpid" || fail "reading from $DEV failed while eth1 came back"
result failover_back_secs "$back"
aoe-stat -v
detach "$T"

step "a NIC that is down at attach joins when it comes up"
show ip link set eth2 down
ip link set eth2 down
attach DEV "$T"
result join_paths_before "$(npaths)"
show ip link set eth2 up
ip link set eth2 up
t0=$(now_ms)
joined=never
while [ "$(secs_since "$t0" | cut -d. -f1)" -lt 30 ]; do
	if [ "$(npaths)" = 3 ]; then
		joined=$(secs_since "$t0")
		break
	fi
	sleep 0.2
done
result join_secs "$joined"
read_mbs "$DEV" 32 >/dev/null
fresh
result join_eth2_replies "$(path_field eth2 replies)"
aoe-stat -v
detach "$T"
result result pass
