# lib.sh: shell helpers for the e2e guest scripts (dash). Shipped to the guest
# as /e2e/lib.sh and sourced. Result lines are "E2E key=value" (the value is
# the rest of the line); the Go tests parse them.

W=/tmp/e2e
mkdir -p "$W"

step() { printf '\n=== %s\n' "$*"; }
show() { echo "\$ $*"; }
result() { echo "E2E $1=$2"; }
# now_ms: milliseconds since boot (busybox date has no %N).
now_ms() { awk '{ printf "%d\n", $1 * 1000 }' /proc/uptime; }
secs_since() { awk -v a="$1" -v b="$(now_ms)" 'BEGIN { printf "%.1f\n", (b - a) / 1000 }'; }

dump_logs() {
	echo "----- diagnostics"
	for f in /run/goaoe/*.log /run/goaoe/*.json; do
		[ -e "$f" ] || continue
		echo "----- $f"
		cat "$f"
	done
	echo "----- aoe-stat -v"
	aoe-stat -v 2>&1
	echo "----- ps"
	ps
	echo "----- dmesg (last 60 lines)"
	dmesg | tail -n 60
	echo "-----"
}

fail() {
	echo "E2E-FAIL $*"
	result result fail
	dump_logs
	exit 1
}

# running PID: the process exists and is not a zombie (a finished background
# job stays a zombie until waited for, and kill -0 succeeds on zombies).
running() {
	local st
	[ -r "/proc/$1/stat" ] || return 1
	st=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -c1)
	[ -n "$st" ] && [ "$st" != Z ]
}

# wait_gone PID SECS: wait until PID has ended; 1 if it is still there.
wait_gone() {
	local i=0
	while running "$1"; do
		[ "$i" -ge $(($2 * 10)) ] && return 1
		sleep 0.1
		i=$((i + 1))
	done
	return 0
}

# proc_info PID: where a process is stuck, for failure reports.
proc_info() {
	echo "process $1: $(cat "/proc/$1/cmdline" 2>/dev/null | tr '\0' ' ')"
	grep -E '^(State|Threads)' "/proc/$1/status" 2>/dev/null
	echo "wchan: $(cat "/proc/$1/wchan" 2>/dev/null)"
	cat "/proc/$1/stack" 2>/dev/null
}

# attach VAR [aoe-attach options...] TARGET: attach, check the output is an
# nbd device, store it in VAR.
attach() {
	local var=$1 out rc
	shift
	show aoe-attach "$@"
	out=$(aoe-attach "$@")
	rc=$?
	echo "$out"
	[ "$rc" = 0 ] || fail "aoe-attach $* exited with status $rc"
	case "$out" in
	/dev/nbd[0-9]*) ;;
	*) fail "aoe-attach $* printed '$out', not a /dev/nbdN path" ;;
	esac
	[ -b "$out" ] || fail "$out is not a block device"
	eval "$var=\$out"
}

# detach TARGET: aoe-detach, checking its status; prints its output.
detach() {
	local out rc
	show aoe-detach "$1"
	out=$(aoe-detach "$1" 2>&1)
	rc=$?
	echo "$out"
	[ "$rc" = 0 ] || fail "aoe-detach $1 exited with status $rc"
}

# stat_field TARGET COLUMN: the named column (TARGET SIZE INTERFACES PAYLOAD
# STATE DEVICE) of the target's row in aoe-stat's table. Cut by the
# header's column positions, because a column can be empty (INTERFACES of
# a session whose process is gone).
stat_field() {
	aoe-stat | awk -v t="$1" -v col="$2" '
	NR == 1 {
		n = split($0, names, " ")
		for (i = 1; i <= n; i++) pos[i] = index($0, names[i])
		next
	}
	$1 == t {
		for (i = 1; i <= n; i++) {
			if (names[i] != col) continue
			e = i < n ? pos[i + 1] : length($0) + 1
			v = substr($0, pos[i], e - pos[i])
			gsub(/ +$/, "", v)
			print v
		}
	}'
}

# log_lines TARGET: how many lines the target's log has now (it is appended
# to by every session); log_since TARGET N: the lines after the first N.
log_lines() { cat "/run/goaoe/$1.log" 2>/dev/null | wc -l; }
log_since() { tail -n +$(($2 + 1)) "/run/goaoe/$1.log"; }

# server_pid TARGET: the serving process, from its state file.
server_pid() { sed -n 's/.*"pid": *\([0-9]*\).*/\1/p' "/run/goaoe/$1.json" 2>/dev/null; }

# dev_free DEV: yes if no process serves the nbd device.
dev_free() { [ -e "/sys/block/${1#/dev/}/pid" ] && echo no || echo yes; }

# sectors DEV FIELD: completed sectors read (3) or written (7) on DEV.
sectors() { awk -v f="$2" '{ print $f }' "/sys/block/${1#/dev/}/stat"; }

# wait_progress DEV FIELD MIB PID: wait until MIB more MiB were read/written
# on DEV than when called, or until PID is no longer running.
wait_progress() {
	local goal i=0
	goal=$(($(sectors "$1" "$2") + $3 * 2048))
	while running "$4" && [ "$(sectors "$1" "$2")" -lt "$goal" ]; do
		[ "$i" -ge 600 ] && fail "no progress on $1 in 60 s"
		sleep 0.1
		i=$((i + 1))
	done
}

# records_out FILE: the whole records dd reported as written ("N+M records out").
records_out() { sed -n 's/^\([0-9]*\)+[0-9]* records out$/\1/p' "$1" | tail -n 1; }

# region_sha DEV SKIP_MIB COUNT_MIB: sha256 of a region, read with O_DIRECT.
region_sha() {
	dd if="$1" bs=1M skip="$2" count="$3" iflag=direct status=none | sha256sum | cut -d' ' -f1
}

# file_sha FILE [MIB]: sha256 of a file or of its first MIB MiB.
file_sha() {
	if [ $# -ge 2 ]; then
		dd if="$1" bs=1M count="$2" status=none | sha256sum | cut -d' ' -f1
	else
		sha256sum "$1" | cut -d' ' -f1
	fi
}

# random_file FILE MIB: MIB MiB from /dev/urandom (dd: busybox head is slow).
random_file() { dd if=/dev/urandom of="$1" bs=1M count="$2" status=none; }

# last_line FILE: the last non-empty line (dd's error message).
last_line() { grep -v '^$' "$1" | grep -v 'records\|copied' | tail -n 1; }

# state_str TARGET KEY: a top-level string field of the target's state file
# (e.g. nbd_interface).
state_str() { sed -n "s/^  \"$2\": *\"\([^\"]*\)\".*/\1/p" "/run/goaoe/$1.json" 2>/dev/null | head -n 1; }

# dev_size DEV: the device's size in 512-byte sectors (0: not set up).
dev_size() { cat "/sys/block/${1#/dev/}/size" 2>/dev/null; }

# io_errors DEV: how many kernel log lines report an I/O error on DEV.
io_errors() {
	dmesg | grep 'I/O error' | grep -c -E "(^|[^a-z0-9])${1#/dev/}([^0-9p]|\$)"
}

# wait_moves DEV FIELD BASE SECS: wait until DEV's completed-sectors counter
# FIELD (see sectors) is above BASE; 1 if it is not within SECS.
wait_moves() {
	local i=0
	while [ "$(sectors "$1" "$2")" -le "$3" ]; do
		[ "$i" -ge $(($4 * 10)) ] && return 1
		sleep 0.1
		i=$((i + 1))
	done
	return 0
}

# wait_free DEV SECS: wait until no process serves DEV (dev_free) and its
# size is 0; 1 if that is not so within SECS.
wait_free() {
	local i=0
	until [ "$(dev_free "$1")" = yes ] && [ "$(dev_size "$1")" = 0 ]; do
		[ "$i" -ge $(($2 * 10)) ] && return 1
		sleep 0.1
		i=$((i + 1))
	done
	return 0
}

# bounded SECS COMMAND...: run COMMAND, waiting at most SECS for it; its
# exit status, or 124 if it still runs then (it is left running, and
# proc_info shows where it is stuck).
bounded() {
	local secs=$1 bpid bi=0
	shift
	"$@" &
	bpid=$!
	while running "$bpid"; do
		if [ "$bi" -ge $((secs * 10)) ]; then
			echo "still running after $secs s: $*"
			proc_info "$bpid"
			return 124
		fi
		sleep 0.1
		bi=$((bi + 1))
	done
	wait "$bpid"
}

# dev_info DEV: what holds an nbd device, for failure reports.
dev_info() {
	local n=${1#/dev/} f
	echo "----- $1"
	for f in pid backend size; do
		echo "/sys/block/$n/$f: $(cat "/sys/block/$n/$f" 2>&1)"
	done
	echo "holders: $(ls "/sys/block/$n/holders" 2>/dev/null)"
	echo "mounts: $(grep "^$1 " /proc/mounts)"
	echo "open by: $(fuser "$1" 2>/dev/null)"
	grep -H . /sys/block/"$n"/stat 2>/dev/null
	echo "-----"
}
