#!/bin/sh
# guest.sh: the guest side of scripts/bench (runs as /guest.sh in the test
# guest of scripts/guest/boot; /bin/sh is dash). Attaches ONE vblade export
# with both initiators at once: the kernel's aoe driver (/dev/etherd/eX.Y)
# and aoe-attach (/dev/nbdN), then measures them one at a time, in pairs,
# alternating which goes first. The kernel driver's runs are watched for a
# stall of the driver and kicked out of it (benchtool --kick, kick.go).
# In perf mode a third device joins each group: the NBD ceiling, an
# in-memory disk of the export's size served through our NBD server
# (benchtool memdisk, another /dev/nbdN: no AoE, no network), run between
# the two (kernel, ceiling, ours; then ours, ceiling, kernel; ...).
#
# Needs in /usr/local/bin: aoe-attach aoe-detach aoe-stat benchtool.
# Settings (environment, from boot --env):
#   BENCH_MODE        perf (default) or hostile
#   BENCH_MIB         MiB per sequential run (256)
#   BENCH_REPS        pairs per workload (4)
#   BENCH_RAND_SECS   seconds per random-read run (10)
#   BENCH_RUN_TIMEOUT seconds after which a run counts as hung (600)
#   BENCH_WIRE        1: mark each perf run on the wire (benchtool mark) for
#                     the host's watcher (benchtool wire, bench --wire)
#   BENCH_HOSTILE_MIB MiB written and read back on the hostile link (4)
#   BENCH_NETEM       netem settings for the hostile link, both ways
#   BENCH_ATTACH      per-pair (default): aoe-attach is attached for its own
#                     runs only and detached for the kernel driver's. Its raw
#                     socket receives every AoE frame on eth0, the kernel
#                     driver's replies too, and drops them in userspace: CPU
#                     taken from the kernel's runs. (Stopping it with SIGSTOP
#                     instead is no option: that ends the nbd device.)
#                     stay: attach once and leave it attached, counting its
#                     CPU time in the kernel driver's runs too. (The NBD
#                     ceiling's runs are treated as the kernel's.)
#   BENCH_CEILING     1 (default): measure the NBD ceiling too (perf mode)
#
# Output: "BENCH ..." result lines, "BENCH-VERIFY ..." data checks,
# "BENCH-NOTE ..." and "BENCH-FAIL ..." lines for `benchtool table`, and
# "bench: ..." progress. Exit status 0 only if every run and every check
# passed; on a failure the serving process's log and other diagnostics are
# printed and the script stops.
set -u

MODE=${BENCH_MODE:-perf}
MIB=${BENCH_MIB:-256}
REPS=${BENCH_REPS:-4}
RSECS=${BENCH_RAND_SECS:-10}
RUN_TIMEOUT=${BENCH_RUN_TIMEOUT:-600}
HMIB=${BENCH_HOSTILE_MIB:-4}
NETEM=${BENCH_NETEM:-loss 5% duplicate 5% reorder 10% delay 20ms 10ms}
ATTACH=${BENCH_ATTACH:-per-pair}
WIRE=${BENCH_WIRE:-0}
CEILING=${BENCH_CEILING:-1}
[ "$MODE" = perf ] || CEILING=0
ATTACH_MS=
T=${GOAOE_TARGETS%% *}
MTU=${GOAOE_MTU:-1500}
IF=eth0
W=/tmp/bench
KDEV=/dev/etherd/$T
ODEV=
OPID=
CDEV=
CPID=
STATE=/run/goaoe/$T.json
mkdir -p "$W"

say() { echo "bench: $*"; }
now_ms() { awk '{ printf "%d\n", $1 * 1000 }' /proc/uptime; }

diagnostics() {
	echo "----- diagnostics"
	for f in /run/goaoe/*.log /run/goaoe/*.json; do
		[ -e "$f" ] || continue
		echo "----- $f"
		cat "$f"
	done
	echo "----- aoe-stat -v"
	aoe-stat -v 2>&1
	kernel_stats
	if [ -n "$CPID" ]; then
		echo "----- benchtool memdisk (pid $CPID, $CDEV)"
		cat "$W/memdisk.err" 2>/dev/null
	fi
	if [ -n "$OPID" ] && [ -d "/proc/$OPID" ]; then
		echo "----- serving process $OPID"
		grep -E '^(State|Threads|VmRSS)' "/proc/$OPID/status"
		echo "wchan: $(cat "/proc/$OPID/wchan" 2>/dev/null)"
	fi
	echo "----- processes in the benchmark (state, wchan, kernel stack)"
	for d in /proc/[0-9]*; do
		c=$(cat "$d/comm" 2>/dev/null) || continue
		case "$c" in
		dd | benchtool | aoe-attach | aoe-detach | sync | aoe_*) ;;
		*) continue ;;
		esac
		echo "pid ${d#/proc/} $c: $(tr '\0' ' ' <"$d/cmdline" 2>/dev/null)"
		grep -E '^(State|Threads)' "$d/status" 2>/dev/null
		echo "wchan: $(cat "$d/wchan" 2>/dev/null)"
		cat "$d/stack" 2>/dev/null
		for t in "$d"/task/*; do
			[ "$t" = "$d/task/${d#/proc/}" ] && continue
			st=$(sed -n 's/^State:\t*//p' "$t/status" 2>/dev/null)
			case "$st" in D*) echo "thread ${t##*/} $st"; cat "$t/stack" 2>/dev/null ;; esac
		done
	done
	echo "----- block devices: in flight (reads writes), stat"
	for b in /sys/block/etherd* /sys/block/nbd*; do
		[ -r "$b/inflight" ] || continue
		[ "$(cat "$b/size")" = 0 ] && continue
		echo "${b##*/}: inflight $(cat "$b/inflight"); stat $(cat "$b/stat")"
	done
	echo "----- $IF: $(cat /sys/class/net/$IF/statistics/tx_packets) frames out, $(cat /sys/class/net/$IF/statistics/rx_packets) in, $(cat /sys/class/net/$IF/statistics/rx_dropped) dropped in, $(cat /sys/class/net/$IF/statistics/tx_dropped) dropped out"
	sleep 2
	echo "----- $IF 2 s later: $(cat /sys/class/net/$IF/statistics/tx_packets) frames out, $(cat /sys/class/net/$IF/statistics/rx_packets) in"
	echo "----- /proc/net/packet"
	cat /proc/net/packet
	echo "----- ps"
	ps
	echo "----- dmesg (last 60 lines)"
	dmesg | tail -n 60
	echo "-----"
}

# kernel_stats: the aoe driver's own view (debugfs), if there.
kernel_stats() {
	f=/sys/kernel/debug/aoe/$T
	[ -r "$f" ] || return 0
	echo "----- $f"
	cat "$f"
}

fail() {
	echo "BENCH-FAIL mtu=$MTU $*"
	diagnostics
	exit 1
}

# wait_block PATH SECS [CMD...]: wait for a block device, running CMD
# every second (no udev here to say when it appears).
wait_block() {
	p=$1 n=$2 i=0
	shift 2
	while [ ! -b "$p" ]; do
		[ "$i" -ge "$n" ] && return 1
		[ $# -eq 0 ] || "$@"
		sleep 1
		i=$((i + 1))
	done
}

discover() { echo >/dev/etherd/discover; }

setup() {
	# Kernel messages must not split result lines on the serial console
	# (they stay in dmesg, which is shown on failure).
	dmesg -n 1
	modprobe nbd || fail "modprobe nbd"
	# The kernel driver first: aoe-attach links /dev/etherd/eX.Y to its nbd
	# device only if that name is free, and it must stay the kernel's.
	modprobe aoe aoe_iflist="$IF" || fail "modprobe aoe"
	wait_block "$KDEV" 30 discover || fail "$KDEV did not appear"
	[ -L "$KDEV" ] && fail "$KDEV is a symlink, not the kernel driver's device"
	say "kernel driver: $KDEV, $(blockdev --getsize64 "$KDEV") bytes"
	attach
	say "ours: $ODEV (pid $OPID), $(blockdev --getsize64 "$ODEV") bytes"
	[ "$(blockdev --getsize64 "$KDEV")" = "$(blockdev --getsize64 "$ODEV")" ] || fail "the two devices differ in size"
	aoe-stat
	echo "BENCH-NOTE mtu=$MTU: kernel aoe on $KDEV, aoe-attach on $ODEV; guest $(nproc) vCPUs, $(uname -r)"
	if [ "$CEILING" = 1 ]; then
		memdisk_start
		echo "BENCH-NOTE mtu=$MTU: NBD ceiling: benchtool memdisk on $CDEV (pid $CPID): an in-memory disk of $(blockdev --getsize64 "$CDEV") bytes through our NBD server (started path, answered in the calling goroutine) with aoe-attach's server options${CWT:+ (write-through, as aoe-attach serves this target)}; guest memory $(awk '$1 == "MemTotal:" { printf "%d MiB", $2 / 1024 }' /proc/meminfo)"
	fi
	if [ "$ATTACH" = stay ]; then
		echo "BENCH-NOTE mtu=$MTU: aoe-attach stayed attached (and received every AoE frame) during the kernel driver's runs"
	else
		echo "BENCH-NOTE mtu=$MTU: aoe-attach was attached for its own runs only (detached during the kernel driver's)"
	fi
}

# attach: aoe-attach the target, set ODEV and OPID.
attach() {
	t0=$(now_ms)
	ODEV=$(aoe-attach -i "$IF" "$T" 2>"$W/attach.err") || fail "aoe-attach -i $IF $T: $(cat "$W/attach.err")"
	ms=$(($(now_ms) - t0))
	case "$ODEV" in
	/dev/nbd[0-9]*) ;;
	*) fail "aoe-attach printed '$ODEV', not a /dev/nbdN path" ;;
	esac
	[ -b "$ODEV" ] || fail "$ODEV is not a block device"
	OPID=$(sed -n 's/.*"pid": *\([0-9]*\).*/\1/p' "$STATE")
	[ -n "$OPID" ] && [ -d "/proc/$OPID" ] || fail "no serving process in $STATE"
	ATTACH_MS="$ATTACH_MS $ms"
}

# memdisk_start: serve the NBD ceiling, an in-memory disk of the export's
# size (its memory is taken only where written, so at most the sequential
# runs' MiB), with the flush setting aoe-attach chose; set CDEV and CPID.
memdisk_start() {
	CWT=
	grep -q 'attached write-through' "/run/goaoe/$T.log" 2>/dev/null && CWT=--write-through
	size=$(blockdev --getsize64 "$KDEV")
	benchtool memdisk --size "$size" $CWT >"$W/memdisk.out" 2>"$W/memdisk.err" &
	CPID=$!
	i=0
	while [ ! -s "$W/memdisk.out" ]; do
		[ -d "/proc/$CPID" ] || fail "benchtool memdisk ended: $(cat "$W/memdisk.err")"
		[ "$i" -ge 300 ] && fail "benchtool memdisk: no device after 30 s: $(cat "$W/memdisk.err")"
		sleep 0.1
		i=$((i + 1))
	done
	CDEV=$(head -n 1 "$W/memdisk.out")
	case "$CDEV" in
	/dev/nbd[0-9]*) ;;
	*) fail "benchtool memdisk printed '$CDEV', not a /dev/nbdN path" ;;
	esac
	[ -b "$CDEV" ] || fail "$CDEV is not a block device"
	[ "$CDEV" != "$ODEV" ] || fail "benchtool memdisk and aoe-attach both on $CDEV"
	[ "$(blockdev --getsize64 "$CDEV")" = "$size" ] || fail "$CDEV is not $size bytes"
}

# memdisk_stop: SIGTERM, which detaches cleanly; it must exit 0.
memdisk_stop() {
	[ -n "$CPID" ] || return 0
	kill -TERM "$CPID"
	wait "$CPID"
	rc=$?
	echo "----- benchtool memdisk"
	cat "$W/memdisk.err"
	pid=$CPID
	CPID=
	[ "$rc" = 0 ] || fail "benchtool memdisk (pid $pid) exited with status $rc after SIGTERM"
	i=0
	while [ "$(cat "/sys/block/${CDEV#/dev/}/size")" != 0 ]; do
		[ "$i" -ge 50 ] && fail "$CDEV still has a size 5 s after benchtool memdisk detached"
		sleep 0.1
		i=$((i + 1))
	done
}

# detach: aoe-detach the target and wait for its process to end.
detach() {
	t0=$(now_ms)
	aoe-detach "$T" >"$W/detach.out" 2>&1 || fail "aoe-detach $T: $(cat "$W/detach.out")"
	i=0
	while [ -d "/proc/$OPID" ] && [ "$(sed 's/.*) //' "/proc/$OPID/stat" 2>/dev/null | cut -c1)" != Z ]; do
		[ "$i" -ge 100 ] && fail "aoe-attach's process $OPID still there 10 s after aoe-detach"
		sleep 0.1
		i=$((i + 1))
	done
	DETACH_MS="${DETACH_MS:-} $(($(now_ms) - t0))"
	ODEV= OPID=
}

# ready WHO: attach or detach aoe-attach as WHO's run needs (the NBD
# ceiling's runs as the kernel's: no aoe-attach on the wire).
ready() {
	if [ "$1" = ours ]; then
		[ -n "$OPID" ] || attach
	elif [ "$ATTACH" != stay ] && [ -n "$OPID" ]; then
		detach
	fi
}

drop_caches() {
	sync
	echo 3 >/proc/sys/vm/drop_caches
}

# The kernel driver's runs are watched for its stall (see kick.go: it can
# wait for good with no frame out until some new request comes in) and
# kicked out of it with a 4 KiB read; the BENCH lines count the kicks.
KICK="--kick $KDEV --kick-debugfs /sys/kernel/debug/aoe/$T"

# measure WHO ARGS...: benchtool ARGS with the measure flags for WHO.
# aoe-attach's CPU time is counted in every run (in the kernel's runs it is
# the cost of its listening, if it stays attached), its frame counters in
# ours.
measure() {
	who=$1
	shift
	sub=$1
	shift
	if [ "$who" = ours ]; then
		benchtool "$sub" --iface "$IF" --pid "$OPID" --state "$STATE" --timeout "${RUN_TIMEOUT}s" "$@"
	elif [ "$who" = ceiling ]; then
		benchtool "$sub" --iface "$IF" --pid "$CPID" --timeout "${RUN_TIMEOUT}s" "$@"
	elif [ -n "$OPID" ]; then
		benchtool "$sub" --iface "$IF" --pid "$OPID" --timeout "${RUN_TIMEOUT}s" $KICK "$@"
	else
		benchtool "$sub" --iface "$IF" --timeout "${RUN_TIMEOUT}s" $KICK "$@"
	fi
}

# xdd WHO DD-ARGS...: dd through benchtool (a timeout, and the kicker for
# the kernel driver), quietly; for the data checks.
xdd() {
	who=$1
	shift
	if [ "$who" != kernel ]; then
		benchtool run --timeout "${RUN_TIMEOUT}s" -- dd "$@" >/dev/null
	else
		benchtool run --timeout "${RUN_TIMEOUT}s" --iface "$IF" $KICK -- dd "$@" >/dev/null
	fi
}

# mark LABEL: tell the host's wire watcher a run starts (or, "end", ends).
mark() {
	[ "$WIRE" = 1 ] || return 0
	benchtool mark --iface "$IF" "$1" || fail "benchtool mark --iface $IF $1 failed"
}

dev_of() {
	case "$1" in
	kernel) echo "$KDEV" ;;
	ceiling) echo "$CDEV" ;;
	*) echo "$ODEV" ;;
	esac
}

# run_one WORKLOAD WHO REP FIRST: one measured run, one BENCH line.
run_one() {
	wl=$1 who=$2 rep=$3 first=$4
	extra=
	ready "$who"
	dev=$(dev_of "$who")
	drop_caches
	# The host's wire watcher times the initiators' runs; the ceiling
	# has no frames to time.
	[ "$who" = ceiling ] || mark "workload=$wl mtu=$MTU who=$who rep=$rep"
	case "$wl" in
	seq-read)
		out=$(measure "$who" run --bytes $((MIB << 20)) -- \
			dd if="$dev" of=/dev/null bs=1M count="$MIB" iflag=direct 2>"$W/err")
		;;
	seq-write)
		out=$(measure "$who" run --bytes $((MIB << 20)) -- \
			dd if=/dev/zero of="$dev" bs=1M count="$MIB" oflag=direct 2>"$W/err")
		;;
	randread-qd*)
		qd=${wl#randread-qd}
		extra="bs=4096 qd=$qd"
		out=$(measure "$who" randread --dev "$dev" --qd "$qd" --seconds "$RSECS" --bs 4096 2>"$W/err")
		;;
	*) fail "unknown workload $wl" ;;
	esac
	rc=$?
	[ "$who" = ceiling ] || mark end
	if [ "$rc" != 0 ]; then
		cat "$W/err"
		fail "workload=$wl who=$who rep=$rep dev=$dev: exit status $rc: $(grep -v 'records\|copied' "$W/err" | tail -n 3 | tr '\n' ' ')"
	fi
	case "$wl" in
	seq-*) dd_moved "$W/err" "$MIB" || fail "workload=$wl who=$who rep=$rep dev=$dev: dd did not move $MIB MiB: $(tr '\n' ' ' <"$W/err")" ;;
	esac
	[ "$who" != kernel ] || extra="$extra $(kernel_frames)"
	echo "BENCH workload=$wl mtu=$MTU who=$who rep=$rep first=$first $extra $out"
}

# kernel_frames: the aoe driver's frame accounting after a run (debugfs):
# frames allocated for the target, outstanding, and the times it found no
# frame to send with ("kicked").
kernel_frames() {
	f=/sys/kernel/debug/aoe/$T
	[ -r "$f" ] || return 0
	awk '$1 == "falloc:" { a = $2 } $1 == "kicked:" { k = $2 } /^[0-9a-f]+:[0-9]+:[0-9]+:[0-9]+$/ { split($1, x, ":"); o = x[2] }
		END { printf "aoe_falloc=%s aoe_nout=%s aoe_kicked=%s", a, o, k }' "$f"
}

# dd_moved FILE MIB: dd's messages in FILE say MIB whole 1 MiB records
# went in and out (dd stops without an error at the end of a device,
# which an nbd device that lost its server has at 0).
dd_moved() {
	grep -q "^$2+0 records in" "$1" && grep -q "^$2+0 records out" "$1"
}

# verify_cross: data written through one initiator reads back equal
# through the other, both ways (a few MiB, away from the benchmark region).
verify_cross() {
	n=4
	dd if=/dev/urandom of="$W/pat-a" bs=1M count=$n status=none
	dd if=/dev/urandom of="$W/pat-b" bs=1M count=$n status=none
	for spec in "ours kernel pat-a 900" "kernel ours pat-b 910"; do
		set -- $spec
		src=$(dev_of "$1") dst=$(dev_of "$2")
		drop_caches
		xdd "$1" if="$W/$3" of="$src" bs=1M seek="$4" oflag=direct status=none 2>"$W/err" || fail "cross-check write via $1: $(cat "$W/err")"
		xdd "$2" if="$dst" of="$W/back" bs=1M skip="$4" count=$n iflag=direct status=none 2>"$W/err" || fail "cross-check read via $2: $(cat "$W/err")"
		got=$(sha256sum "$W/back" | cut -d' ' -f1)
		want=$(sha256sum "$W/$3" | cut -d' ' -f1)
		res=ok
		[ "$got" = "$want" ] || res="mismatch"
		echo "BENCH-VERIFY mtu=$MTU name=written-by-$1-read-by-$2 mib=$n result=$res"
		[ "$res" = ok ] || fail "data written via $1 reads back different via $2"
	done
	[ "$CEILING" = 1 ] || return 0
	# The ceiling is a real disk too: what is written reads back, and
	# where nothing was written it reads zeros.
	drop_caches
	xdd ceiling if="$W/pat-a" of="$CDEV" bs=1M seek=900 oflag=direct status=none 2>"$W/err" || fail "ceiling write: $(cat "$W/err")"
	xdd ceiling if="$CDEV" of="$W/back" bs=1M skip=900 count=$n iflag=direct status=none 2>"$W/err" || fail "ceiling read: $(cat "$W/err")"
	xdd ceiling if="$CDEV" of="$W/zeros" bs=1M skip=920 count=1 iflag=direct status=none 2>"$W/err" || fail "ceiling read: $(cat "$W/err")"
	res=ok
	[ "$(sha256sum "$W/back" | cut -d' ' -f1)" = "$(sha256sum "$W/pat-a" | cut -d' ' -f1)" ] || res=mismatch
	[ -z "$(tr -d '\000' <"$W/zeros")" ] || res=nonzero
	echo "BENCH-VERIFY mtu=$MTU name=written-by-ceiling-read-by-ceiling mib=$n result=$res"
	[ "$res" = ok ] || fail "the NBD ceiling's disk reads back wrong ($res)"
}

perf() {
	verify_cross
	if [ "$CEILING" = 1 ]; then say "$REPS groups (kernel, NBD ceiling, ours) per workload; sequential $MIB MiB, random reads $RSECS s"; else say "$REPS pairs per workload; sequential $MIB MiB, random reads $RSECS s"; fi
	rep=1
	while [ "$rep" -le "$REPS" ]; do
		if [ $((rep % 2)) = 1 ]; then order="kernel ours"; else order="ours kernel"; fi
		[ "$CEILING" = 1 ] && order="${order% *} ceiling ${order#* }"
		first=${order%% *}
		for wl in seq-read seq-write randread-qd1 randread-qd32; do
			for who in $order; do
				run_one "$wl" "$who" "$rep" "$first"
			done
		done
		rep=$((rep + 1))
	done
}

# hostile_link: netem on eth0 both ways: egress directly, ingress through
# ifb0 (ingress qdisc, matchall filter, mirred redirect).
hostile_link() {
	for m in sch_netem ifb act_mirred cls_matchall sch_ingress; do
		modprobe "$m" || fail "modprobe $m"
	done
	[ -e /sys/class/net/ifb0 ] || ip link add ifb0 type ifb || fail "ip link add ifb0"
	ip link set ifb0 up || fail "ifb0 up"
	# shellcheck disable=SC2086 # NETEM is a list of words
	tc qdisc add dev "$IF" root netem $NETEM || fail "netem on $IF"
	tc qdisc add dev "$IF" handle ffff: ingress || fail "ingress qdisc on $IF"
	tc filter add dev "$IF" parent ffff: matchall action mirred egress redirect dev ifb0 || fail "mirred to ifb0"
	# shellcheck disable=SC2086
	tc qdisc add dev ifb0 root netem $NETEM || fail "netem on ifb0"
	tc qdisc show
	echo "BENCH-NOTE hostile link: netem '$NETEM' on $IF egress and (via ifb0) ingress; $HMIB MiB written then read back with O_DIRECT per initiator"
}

# hostile_one WHO OFFSET_MIB FIRST: write a fresh pattern, read it back,
# compare; two BENCH lines (write, read).
hostile_one() {
	who=$1 off=$2 first=$3
	dd if=/dev/urandom of="$W/hpat-$who" bs=1M count="$HMIB" status=none
	want=$(sha256sum "$W/hpat-$who" | cut -d' ' -f1)
	ready "$who"
	dev=$(dev_of "$who")
	drop_caches
	out=$(measure "$who" run --bytes $((HMIB << 20)) -- \
		dd if="$W/hpat-$who" of="$dev" bs=1M seek="$off" oflag=direct 2>"$W/err")
	rc=$?
	[ "$rc" = 0 ] || { cat "$W/err"; fail "hostile write via $who: exit status $rc"; }
	dd_moved "$W/err" "$HMIB" || fail "hostile write via $who: dd did not move $HMIB MiB: $(tr '\n' ' ' <"$W/err")"
	echo "BENCH workload=hostile-write mtu=$MTU who=$who rep=1 first=$first $out"
	drop_caches
	out=$(measure "$who" run --bytes $((HMIB << 20)) -- \
		dd if="$dev" of="$W/hback-$who" bs=1M skip="$off" count="$HMIB" iflag=direct 2>"$W/err")
	rc=$?
	[ "$rc" = 0 ] || { cat "$W/err"; fail "hostile read via $who: exit status $rc"; }
	dd_moved "$W/err" "$HMIB" || fail "hostile read via $who: dd did not move $HMIB MiB: $(tr '\n' ' ' <"$W/err")"
	got=$(sha256sum "$W/hback-$who" | cut -d' ' -f1)
	v=ok
	[ "$got" = "$want" ] || v=mismatch
	echo "BENCH workload=hostile-read mtu=$MTU who=$who rep=1 first=$first verify=$v $out"
	[ "$v" = ok ] || fail "hostile link: data read back via $who differs from what was written (want $want, got $got)"
}

hostile() {
	hostile_link
	hostile_one kernel 300 kernel
	hostile_one ours 400 kernel
}

finish() {
	echo "BENCH-NOTE mtu=$MTU: aoe-attach attach times (ms):$ATTACH_MS; aoe-detach times (ms):${DETACH_MS:-}"
	echo "----- aoe-stat -v"
	aoe-stat -v
	kernel_stats
	echo "----- $IF: $(cat /sys/class/net/$IF/statistics/tx_packets) frames out, $(cat /sys/class/net/$IF/statistics/rx_packets) in, $(cat /sys/class/net/$IF/statistics/rx_dropped) dropped in"
	echo "----- /run/goaoe/$T.log"
	cat "/run/goaoe/$T.log"
	[ -z "$OPID" ] || detach
	memdisk_stop
	say "done"
}

setup
case "$MODE" in
perf) perf ;;
hostile) hostile ;;
*) fail "unknown BENCH_MODE $MODE" ;;
esac
finish
exit 0
