#!/bin/sh
# shelf-guest.sh: the guest side of scripts/bench-shelf. Attaches every
# target of $GOAOE_TARGETS (one shelf) with one aoe-attach, then reads and
# writes with O_DIRECT: BENCH_MIB1 MiB on the first device alone, then
# BENCH_MIB16 MiB on every device at once (reads also on four at once). For each phase it prints the
# wall time and the CPU time (utime + stime) of all the serving processes
# together, idle ones included, as "BENCH key=value" lines.
. /e2e/lib.sh
set -u
S=${BENCH_SHELF:-1}
MIB1=${BENCH_MIB1:-256}
MIB16=${BENCH_MIB16:-64}
N=0
for t in $GOAOE_TARGETS; do N=$((N + 1)); done
bench() { echo "BENCH $1=$2"; }

aoe-attach "e$S.*" || fail "aoe-attach e$S.* failed"
PIDS=""
for t in $GOAOE_TARGETS; do PIDS="$PIDS $(server_pid "$t")"; done
FIRST=${GOAOE_TARGETS%% *}

# cpu_ticks: utime + stime of every serving process, in clock ticks (USER_HZ, 100).
cpu_ticks() {
	local p sum=0 v
	for p in $PIDS; do
		v=$(awk '{ print $14 + $15 }' "/proc/$p/stat")
		sum=$((sum + v))
	done
	echo "$sum"
}

# sock_counter TARGET KEY: a socket counter of the target's serving
# process (its state file, rewritten every second), summed over its NICs.
sock_counter() {
	sed -n "s/^ *\"$2\": *\([0-9]*\).*/\1/p" "/run/goaoe/$1.json" | awk '{ s += $1 } END { print s + 0 }'
}

# phase NAME MIB TARGETS... with OP (read or write) in $OP. Also how many
# frames the first target's process moved per system call.
phase() {
	local name=$1 mib=$2 t c0 t0 fo so fin ri
	shift 2
	sleep 1.2 # a fresh state file
	fo=$(sock_counter "$FIRST" frames_out) so=$(sock_counter "$FIRST" send_calls)
	fin=$(sock_counter "$FIRST" frames_in) ri=$(sock_counter "$FIRST" receive_calls)
	c0=$(cpu_ticks)
	t0=$(now_ms)
	for t in "$@"; do
		if [ "$OP" = read ]; then
			dd if="/dev/etherd/$t" of=/dev/null bs=1M count="$mib" iflag=direct status=none &
		else
			dd if=/dev/zero of="/dev/etherd/$t" bs=1M count="$mib" oflag=direct status=none &
		fi
	done
	wait
	bench "${name}_secs" "$(secs_since "$t0")"
	bench "${name}_ticks" "$(($(cpu_ticks) - c0))"
	bench "${name}_mib" "$((mib * $#))"
	sleep 1.2
	bench "${name}_per_send" "$(awk -v f="$(($(sock_counter "$FIRST" frames_out) - fo))" -v c="$(($(sock_counter "$FIRST" send_calls) - so))" 'BEGIN { printf "%.1f", c ? f / c : 0 }')"
	bench "${name}_per_receive" "$(awk -v f="$(($(sock_counter "$FIRST" frames_in) - fin))" -v c="$(($(sock_counter "$FIRST" receive_calls) - ri))" 'BEGIN { printf "%.1f", c ? f / c : 0 }')"
}

bench targets "$N"
sleep 2 # let every server settle after the attach
OP=idle
c0=$(cpu_ticks)
sleep 10
bench idle10_ticks "$(($(cpu_ticks) - c0))"
OP=read phase read1 "$MIB1" "$FIRST"
set -- $GOAOE_TARGETS
OP=read phase read4 "$MIB16" "$1" "$2" "$3" "$4"
OP=read phase read16 "$MIB16" $GOAOE_TARGETS
OP=write phase write1 "$MIB1" "$FIRST"
OP=write phase write16 "$MIB16" $GOAOE_TARGETS
rss=0
for p in $PIDS; do rss=$((rss + $(awk '$1 == "VmRSS:" { print $2 }' "/proc/$p/status"))); done
bench rss_kib_total "$rss"
aoe-detach --all >/dev/null || fail "aoe-detach --all failed"
bench done yes
