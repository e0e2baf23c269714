#!/bin/sh
# crash.sh: the serving process of a device dies (SIGKILL) or stops
# (SIGSTOP) under a mounted filesystem or a running write, and the disk must
# survive: a new aoe-attach of the target takes the device back (netlink),
# or, when nobody does, the I/O fails with EIO and the device comes free.
#
# Parts, run in the order given by E2E_PARTS (space separated; default all),
# each on the next target of $GOAOE_TARGETS and each ending with its device
# unmounted and detached:
#   kill5         netlink (the default), --timeout 10s, ext4 mounted, a
#                 256 MiB file written with dd conv=fsync; the server is
#                 SIGKILLed five times during the write and aoe-attach run
#                 again at once each time. A second aoe-attach while a server
#                 is live is refused once. Then the file is checked after a
#                 remount, e2fsck -fn, and no I/O error in the kernel log.
#                 Results: kill5_*, killK_* (K = 1..5).
#   supervise     a stand-in for systemd's Restart=on-failure restarts
#                 aoe-attach --foreground 1 s after it fails; the server is
#                 SIGKILLed twice during a 64 MiB O_DIRECT write to the
#                 device. Results: supervise_*.
#   restart       what systemctl restart does with aoe-attach@.service
#                 (RestartKillSignal=SIGUSR2): during a 64 MiB O_DIRECT
#                 write the server is sent SIGUSR2 (it leaves the device set
#                 up and exits 0) and aoe-attach is run again, twice. The
#                 write must end with exit 0 and read back; no I/O error.
#                 Results: restart_*.
#   sigstop       --timeout 30s: the server is stopped for 20 s (SIGSTOP),
#                 then continued, during a 64 MiB write. Results: sigstop_*.
#   orphan        netlink, ext4 mounted, an O_DIRECT write to a file; the
#                 server is SIGKILLed and nobody reconnects: the write fails
#                 with EIO, umount works, the device comes free.
#                 Results: orphan_*.
#   orphan_ioctl  the same with --nbd-interface ioctl. Results: orphan_ioctl_*.
#   ioctl_fs      --nbd-interface ioctl: mkfs, files, detach, attach again,
#                 sha256sum -c, e2fsck -fn. Results: ioctl_fs_*.
# Settings: E2E_PARTS, E2E_KILL5_MIB (256), E2E_KILLS (5),
# E2E_KILL_GAP_MIB (16: MiB written between kills).
# Times ("_secs") are measured and reported; the test asserts bounds only on
# the EIO of the orphaned parts.
. /e2e/lib.sh
set -u

ALL_PARTS="kill5 supervise restart sigstop orphan orphan_ioctl ioctl_fs"
PARTS=${E2E_PARTS:-$ALL_PARTS}
TLEFT=$GOAOE_TARGETS
FAILED=""

run() {
	show "$@"
	"$@"
}

# bad MSG: a check failed; the script goes on (the part ends cleanly, the
# next parts run) and fails at the end.
bad() {
	echo "E2E-FAIL $*"
	FAILED="$FAILED x"
}

yesno() { if "$@"; then echo yes; else echo no; fi; }

# other_live PID OLD: PID is set, is not OLD and runs.
other_live() { [ -n "$1" ] && [ "$1" != "$2" ] && running "$1"; }

# take_target PART: the next target of $GOAOE_TARGETS, in T.
take_target() {
	T=${TLEFT%% *}
	TLEFT=${TLEFT#"$T"}
	TLEFT=${TLEFT# }
	[ -n "$T" ] || fail "no target left for part $1 (GOAOE_TARGETS=$GOAOE_TARGETS)"
	echo "part $1: target $T"
}

# kill_server PREFIX K: SIGKILL the server of $T, wait until it is really
# gone; sets KPID (the killed pid), TK (when) and S0 (the written-sectors
# counter once it was gone).
kill_server() {
	KPID=$(server_pid "$T")
	[ -n "$KPID" ] || fail "$1 kill $2: no server pid in /run/goaoe/$T.json"
	show kill -9 "$KPID"
	TK=$(now_ms)
	kill -9 "$KPID"
	if wait_gone "$KPID" 10; then
		result "${1}kill${2}_gone" yes
	else
		result "${1}kill${2}_gone" no
		proc_info "$KPID"
		fail "$1 kill $2: server $KPID still runs 10 s after SIGKILL"
	fi
	S0=$(sectors "$DEV" 7)
}

# mkfs_mount DEV DIR PREFIX
mkfs_mount() {
	run mkfs.ext4 -q -F "$1" || fail "$3: mkfs.ext4 $1 failed"
	mkdir -p "$2"
	run mount -t ext4 "$1" "$2" || fail "$3: mount $1 failed"
}

# umount_bounded DIR PREFIX: umount, at most 60 s; result PREFIX_umount_rc.
umount_bounded() {
	show umount "$1"
	bounded 60 umount "$1"
	local urc=$?
	result "${2}_umount_rc" "$urc"
	[ "$urc" = 124 ] && fail "$2: umount $1 hangs"
	[ "$urc" = 0 ] || bad "$2: umount $1 exited with status $urc"
	return "$urc"
}

# detach_free PREFIX: aoe-detach $T (at most 60 s), then wait up to 10 s
# for $DEV to be free; results PREFIX_detach_rc, PREFIX_free.
detach_free() {
	show aoe-detach "$T"
	bounded 60 aoe-detach "$T"
	local drc=$?
	result "${1}_detach_rc" "$drc"
	[ "$drc" = 124 ] && fail "$1: aoe-detach $T hangs"
	[ "$drc" = 0 ] || bad "$1: aoe-detach $T exited with status $drc"
	if wait_free "$DEV" 10; then
		result "${1}_free" yes
	else
		result "${1}_free" no
		dev_info "$DEV"
		bad "$1: $DEV is not free 10 s after aoe-detach"
	fi
}

# wait_dd PREFIX SECS: wait for the background dd ($DDPID) at most SECS;
# sets DDRC and prints its messages ($W/$PREFIX.dd).
wait_dd() {
	if ! wait_gone "$DDPID" "$2"; then
		result "${1}_dd_rc" hung
		proc_info "$DDPID"
		fail "$1: dd still runs after $2 s"
	fi
	wait "$DDPID"
	DDRC=$?
	cat "$W/$1.dd"
}

# write_done PREFIX T0: wait for the background write (at most 180 s), then
# results PREFIX_dd_rc and PREFIX_write_secs (since T0, from now_ms).
write_done() {
	wait_dd "$1" 180
	result "${1}_dd_rc" "$DDRC"
	result "${1}_write_secs" "$(secs_since "$2")"
	[ "$DDRC" = 0 ] || bad "$1: dd exited with status $DDRC"
}

# pattern_back PREFIX MIB WANT: the first MIB MiB of $DEV read back with
# O_DIRECT hash to WANT; result PREFIX_sha_match.
pattern_back() {
	local got
	got=$(region_sha "$DEV" 0 "$2")
	result "${1}_sha_match" "$(yesno [ "$got" = "$3" ])"
	[ "$got" = "$3" ] || bad "$1: the pattern does not read back"
}

# ---------------------------------------------------------------- kill5
part_kill5() {
	local P=kill5 D=10 MIB=${E2E_KILL5_MIB:-256} KILLS=${E2E_KILLS:-5} GAP=${E2E_KILL_GAP_MIB:-16}
	local MNT=/mnt/kill5 k want got rc n0 out arc newpid msg rrc errs0 t0 ta
	take_target $P
	step "kill5: $T, netlink, --timeout ${D}s; ext4; $MIB MiB written with conv=fsync; the server SIGKILLed $KILLS times, aoe-attach again each time"
	show dd if=/dev/urandom of="$W/pattern" bs=1M count="$MIB"
	random_file "$W/pattern" "$MIB" || fail "$P: cannot make the pattern"
	want=$(file_sha "$W/pattern")
	attach DEV --timeout "${D}s" "$T"
	result kill5_device "$DEV"
	result kill5_nbd_interface "$(state_str "$T" nbd_interface)"
	errs0=$(io_errors "$DEV")
	mkfs_mount "$DEV" "$MNT" $P
	show dd if="$W/pattern" of="$MNT/file" bs=1M conv=fsync "&"
	t0=$(now_ms)
	dd if="$W/pattern" of="$MNT/file" bs=1M conv=fsync 2>"$W/$P.dd" &
	DDPID=$!
	k=1
	while [ "$k" -le "$KILLS" ]; do
		wait_progress "$DEV" 7 "$GAP" "$DDPID"
		if ! running "$DDPID"; then
			result kill5_kills $((k - 1))
			fail "$P: dd finished before kill $k (make E2E_KILL5_MIB bigger or E2E_KILL_GAP_MIB smaller)"
		fi
		step "kill $k of $KILLS ($(($(sectors "$DEV" 7) / 2048)) MiB written to $DEV)"
		n0=$(log_lines "$T")
		kill_server "" "$k"
		if [ "$k" = 1 ]; then
			show aoe-stat
			aoe-stat
			result kill5_state_killed "$(stat_field "$T" STATE)"
		fi
		show aoe-attach --timeout "${D}s" "$T"
		ta=$(now_ms)
		out=$(bounded 90 aoe-attach --timeout "${D}s" "$T")
		arc=$?
		echo "$out"
		result "kill${k}_attach_rc" "$arc"
		result "kill${k}_reattach_secs" "$(secs_since "$ta")"
		[ "$arc" = 0 ] || fail "$P kill $k: aoe-attach $T after the SIGKILL exited with status $arc"
		result "kill${k}_same_device" "$(yesno [ "$out" = "$DEV" ])"
		[ "$out" = "$DEV" ] || bad "$P kill $k: aoe-attach printed '$out', not $DEV"
		if log_since "$T" "$n0" | grep -q reconnected; then
			result "kill${k}_reconnected" yes
		else
			result "kill${k}_reconnected" no
			log_since "$T" "$n0"
			bad "$P kill $k: no 'reconnected' line in /run/goaoe/$T.log"
		fi
		newpid=$(server_pid "$T")
		result "kill${k}_new_pid" "$(yesno other_live "$newpid" "$KPID")"
		if ! wait_moves "$DEV" 7 "$S0" 90; then
			proc_info "$DDPID"
			fail "$P kill $k: no write completed on $DEV within 90 s of the SIGKILL"
		fi
		result "kill${k}_stall_secs" "$(secs_since "$TK")"
		if [ "$k" = 1 ]; then
			result kill5_state_reconnected "$(stat_field "$T" STATE)"
			step "a second aoe-attach while server $newpid is live: refused"
			show aoe-attach --timeout "${D}s" "$T"
			msg=$(bounded 60 aoe-attach --timeout "${D}s" "$T" 2>&1 >/dev/null)
			rrc=$?
			echo "$msg"
			result kill5_refused_rc "$rrc"
			result kill5_refused_msg "$(echo "$msg" | grep -v '^$' | tail -n 1)"
			[ "$rrc" != 0 ] || fail "$P: a second aoe-attach $T was accepted while server $newpid is live"
		fi
		k=$((k + 1))
	done
	result kill5_kills "$KILLS"
	step "wait for dd"
	wait_dd $P 300
	rc=$DDRC
	result kill5_dd_rc "$rc"
	result kill5_write_secs "$(secs_since "$t0")"
	[ "$rc" = 0 ] || bad "$P: dd exited with status $rc"
	run sync
	umount_bounded "$MNT" $P
	sync
	echo 3 >/proc/sys/vm/drop_caches
	run mount -t ext4 "$DEV" "$MNT"
	rc=$?
	result kill5_remount_rc "$rc"
	[ "$rc" = 0 ] || fail "$P: mounting $DEV again failed"
	got=$(file_sha "$MNT/file")
	echo "sha256 pattern $want, file $got"
	result kill5_sha_match "$(yesno [ "$got" = "$want" ])"
	[ "$got" = "$want" ] || bad "$P: the file does not read back as the pattern"
	umount_bounded "$MNT" $P
	run e2fsck -fn "$DEV"
	rc=$?
	result kill5_fsck_rc "$rc"
	[ "$rc" = 0 ] || bad "$P: e2fsck -fn $DEV exited with status $rc"
	n0=$(($(io_errors "$DEV") - errs0))
	result kill5_io_errors "$n0"
	if [ "$n0" != 0 ]; then
		dmesg | grep 'I/O error' | tail -n 20
		bad "$P: the kernel logged $n0 I/O errors on $DEV"
	fi
	show aoe-stat
	aoe-stat
	result kill5_state_end "$(stat_field "$T" STATE)"
	detach_free $P
	rm -f "$W/pattern"
}

# ---------------------------------------------------------------- supervise
# supervisor TARGET D: the stand-in for systemd's Restart=on-failure with
# RestartSec=1: run aoe-attach --foreground, and again 1 s after it exits
# with a non-zero status, until $W/sup.stop exists.
supervisor() {
	local src
	while [ ! -e "$W/sup.stop" ]; do
		echo "supervisor: starting aoe-attach --foreground --timeout $2 $1"
		echo start >>"$W/sup.trace"
		aoe-attach --foreground --timeout "$2" "$1" >>"$W/sup.out" 2>>"$W/sup.log"
		src=$?
		echo "supervisor: aoe-attach exited with status $src"
		[ "$src" = 0 ] && break
		[ -e "$W/sup.stop" ] && break
		sleep 1
	done
	echo "supervisor: done"
}

sup_fail() {
	echo "----- $W/sup.log"
	cat "$W/sup.log"
	fail "$@"
}

part_supervise() {
	local P=supervise D=10 MIB=64 k want i pid newpid suppid t0
	take_target $P
	step "supervise: $T under a restart loop (aoe-attach --foreground --timeout ${D}s); $MIB MiB O_DIRECT write; the server SIGKILLed twice"
	random_file "$W/pattern" "$MIB" || fail "$P: cannot make the pattern"
	want=$(file_sha "$W/pattern")
	rm -f "$W/sup.stop" "$W/sup.out" "$W/sup.log" "$W/sup.trace"
	: >"$W/sup.out"
	supervisor "$T" "${D}s" &
	suppid=$!
	i=0
	until grep -q '^/dev/nbd' "$W/sup.out"; do
		[ "$i" -ge 600 ] && sup_fail "$P: aoe-attach --foreground printed no device in 60 s"
		sleep 0.1
		i=$((i + 1))
	done
	DEV=$(grep '^/dev/nbd' "$W/sup.out" | head -n 1)
	echo "served as $DEV"
	result supervise_device "$DEV"
	show dd if="$W/pattern" of="$DEV" bs=1M oflag=direct "&"
	t0=$(now_ms)
	dd if="$W/pattern" of="$DEV" bs=1M oflag=direct 2>"$W/$P.dd" &
	DDPID=$!
	for k in 1 2; do
		wait_progress "$DEV" 7 12 "$DDPID"
		running "$DDPID" || sup_fail "$P: dd finished before kill $k"
		step "supervise: kill $k ($(($(sectors "$DEV" 7) / 2048)) MiB written)"
		kill_server supervise_ "$k"
		i=0
		while :; do
			newpid=$(server_pid "$T")
			other_live "$newpid" "$KPID" && break
			[ "$i" -ge 600 ] && sup_fail "$P kill $k: no new server within 60 s"
			sleep 0.1
			i=$((i + 1))
		done
		result "supervise_kill${k}_restart_secs" "$(secs_since "$TK")"
		if ! wait_moves "$DEV" 7 "$S0" 90; then
			proc_info "$DDPID"
			sup_fail "$P kill $k: no write completed on $DEV within 90 s of the SIGKILL"
		fi
		result "supervise_kill${k}_stall_secs" "$(secs_since "$TK")"
	done
	write_done $P "$t0"
	pattern_back $P "$MIB" "$want"
	result supervise_starts "$(grep -c start "$W/sup.trace")"
	result supervise_reconnected "$(grep -c reconnected "$W/sup.log")"
	result supervise_same_device "$(yesno [ "$(sort -u "$W/sup.out")" = "$DEV" ])"
	echo "----- $W/sup.out"
	cat "$W/sup.out"
	echo "----- $W/sup.log"
	cat "$W/sup.log"
	echo "-----"
	show aoe-stat
	aoe-stat
	result supervise_state "$(stat_field "$T" STATE)"
	touch "$W/sup.stop"
	detach_free $P
	if wait_gone "$suppid" 30; then
		result supervise_loop_ended yes
	else
		result supervise_loop_ended no
		bad "$P: the restart loop still runs 30 s after aoe-detach"
		kill "$suppid"
	fi
	rm -f "$W/pattern"
}

# ---------------------------------------------------------------- sigstop
part_restart() {
	local P=restart D=10 MIB=64 k want rc pid out io0 t0
	take_target $P
	step "restart: $T, --timeout ${D}s; $MIB MiB O_DIRECT write; SIGUSR2 to the server and aoe-attach again, twice"
	random_file "$W/pattern" "$MIB" || fail "$P: cannot make the pattern"
	want=$(file_sha "$W/pattern")
	attach DEV --timeout "${D}s" "$T"
	result restart_device "$DEV"
	io0=$(io_errors "$DEV")
	show dd if="$W/pattern" of="$DEV" bs=1M oflag=direct "&"
	t0=$(now_ms)
	dd if="$W/pattern" of="$DEV" bs=1M oflag=direct 2>"$W/$P.dd" &
	DDPID=$!
	for k in 1 2; do
		wait_progress "$DEV" 7 12 "$DDPID"
		running "$DDPID" || fail "$P: dd finished before restart $k"
		pid=$(server_pid "$T")
		show kill -USR2 "$pid"
		TK=$(now_ms)
		kill -USR2 "$pid"
		if wait_gone "$pid" 10; then
			result "restart${k}_left_secs" "$(secs_since "$TK")"
		else
			proc_info "$pid"
			fail "$P restart $k: server $pid still runs 10 s after SIGUSR2"
		fi
		S0=$(sectors "$DEV" 7)
		show aoe-attach --timeout "${D}s" "$T"
		out=$(aoe-attach --timeout "${D}s" "$T")
		rc=$?
		echo "$out"
		result "restart${k}_attach_rc" "$rc"
		[ "$rc" = 0 ] || bad "$P restart $k: aoe-attach exited with status $rc"
		result "restart${k}_same_device" "$(yesno [ "$out" = "$DEV" ])"
		if ! wait_moves "$DEV" 7 "$S0" 90; then
			proc_info "$DDPID"
			fail "$P restart $k: no write completed on $DEV within 90 s"
		fi
		result "restart${k}_stall_secs" "$(secs_since "$TK")"
	done
	write_done $P "$t0"
	pattern_back $P "$MIB" "$want"
	result restart_left "$(grep -c 'left .* set up for the next' "/run/goaoe/$T.log")"
	result restart_io_errors "$(($(io_errors "$DEV") - io0))"
	detach_free $P
	rm -f "$W/pattern"
}

part_sigstop() {
	local P=sigstop D=30 MIB=64 want pid pid2 s1 tc i st t0
	take_target $P
	step "sigstop: $T, --timeout ${D}s; the server stopped for 20 s during a $MIB MiB write"
	random_file "$W/pattern" "$MIB" || fail "$P: cannot make the pattern"
	want=$(file_sha "$W/pattern")
	attach DEV --timeout "${D}s" "$T"
	result sigstop_device "$DEV"
	pid=$(server_pid "$T")
	[ -n "$pid" ] || fail "$P: no server pid in /run/goaoe/$T.json"
	show dd if="$W/pattern" of="$DEV" bs=1M oflag=direct "&"
	t0=$(now_ms)
	dd if="$W/pattern" of="$DEV" bs=1M oflag=direct 2>"$W/$P.dd" &
	DDPID=$!
	wait_progress "$DEV" 7 8 "$DDPID"
	result sigstop_dd_running_at_stop "$(yesno running "$DDPID")"
	show kill -STOP "$pid"
	kill -STOP "$pid"
	show sleep 20
	sleep 20
	result sigstop_state_stopped "$(stat_field "$T" STATE)"
	s1=$(sectors "$DEV" 7)
	show kill -CONT "$pid"
	tc=$(now_ms)
	kill -CONT "$pid"
	if wait_moves "$DEV" 7 "$s1" 60; then
		result sigstop_resume_secs "$(secs_since "$tc")"
	else
		result sigstop_resume_secs none
	fi
	write_done $P "$t0"
	pid2=$(server_pid "$T")
	if [ "$pid2" = "$pid" ] && running "$pid"; then
		result sigstop_same_pid yes
	else
		result sigstop_same_pid no
		bad "$P: the server changed ($pid, now '$pid2') or is gone after SIGSTOP/SIGCONT"
	fi
	# The state file is rewritten every second.
	i=0
	while st=$(stat_field "$T" STATE) && [ "$st" != up ] && [ "$i" -lt 25 ]; do
		sleep 0.2
		i=$((i + 1))
	done
	show aoe-stat
	aoe-stat
	result sigstop_state "$st"
	pattern_back $P "$MIB" "$want"
	detach_free $P
	rm -f "$W/pattern"
}

# ---------------------------------------------------------------- orphan
# orphan_part PREFIX [aoe-attach options]: the server is SIGKILLed under a
# mounted filesystem with an O_DIRECT write running, and nobody reconnects.
orphan_part() {
	local P=$1 D=10 MIB=64 MNT i rc t0
	shift
	MNT=/mnt/$P
	take_target "$P"
	step "$P: $T ($* --timeout ${D}s); ext4; the server SIGKILLed during an O_DIRECT write, nobody reconnects"
	random_file "$W/pattern" "$MIB" || fail "$P: cannot make the pattern"
	attach DEV "$@" --timeout "${D}s" "$T"
	result "${P}_device" "$DEV"
	result "${P}_nbd_interface" "$(state_str "$T" nbd_interface)"
	mkfs_mount "$DEV" "$MNT" "$P"
	show dd if="$W/pattern" of="$MNT/file" bs=1M oflag=direct "&"
	dd if="$W/pattern" of="$MNT/file" bs=1M oflag=direct 2>"$W/$P.dd" &
	DDPID=$!
	wait_progress "$DEV" 7 8 "$DDPID"
	result "${P}_dd_running_at_kill" "$(yesno running "$DDPID")"
	kill_server "${P}_" 1
	show aoe-stat
	aoe-stat
	result "${P}_state_killed" "$(stat_field "$T" STATE)"
	step "$P: nobody reconnects; wait for the write to fail"
	wait_dd "$P" $((D + 30))
	result "${P}_eio_secs" "$(secs_since "$TK")"
	result "${P}_dd_rc" "$DDRC"
	result "${P}_dd_err" "$(last_line "$W/$P.dd")"
	show aoe-stat -v
	aoe-stat -v
	result "${P}_state_after" "$(stat_field "$T" STATE)"
	umount_bounded "$MNT" "$P"
	t0=$(now_ms)
	if wait_free "$DEV" 10; then
		result "${P}_free" yes
		result "${P}_free_secs" "$(secs_since "$t0")"
	else
		result "${P}_free" no
		echo "$DEV is not free 10 s after the umount:"
		dev_info "$DEV"
		dmesg | tail -n 30
		bad "$P: $DEV is not free 10 s after the umount"
	fi
	result "${P}_size" "$(dev_size "$DEV")"
	dmesg | grep -E "(^|[^a-z0-9])${DEV#/dev/}([^0-9p]|\$)" | tail -n 10
	# What is left is the dead session's state file: aoe-detach cleans it.
	detach_free "$P"
	rm -f "$W/pattern"
}

part_orphan() { orphan_part orphan; }
part_orphan_ioctl() { orphan_part orphan_ioctl --nbd-interface ioctl; }

# ---------------------------------------------------------------- ioctl_fs
part_ioctl_fs() {
	local P=ioctl_fs MNT=/mnt/ioctl_fs i rc DEV2
	take_target $P
	step "ioctl_fs: $T with --nbd-interface ioctl: mkfs, files, detach, attach again, check"
	attach DEV --nbd-interface ioctl "$T"
	result ioctl_fs_device "$DEV"
	result ioctl_fs_nbd_interface "$(state_str "$T" nbd_interface)"
	mkfs_mount "$DEV" "$MNT" $P
	for i in 1 2 3 4 5; do
		random_file "$MNT/file-$i" "$i" || fail "$P: writing $MNT/file-$i failed"
	done
	run sync
	(cd "$MNT" && sha256sum file-*) >"$W/$P.sums" || fail "$P: sha256sum failed"
	cat "$W/$P.sums"
	umount_bounded "$MNT" $P
	show aoe-detach "$T"
	aoe-detach "$T"
	result ioctl_fs_detach1_rc $?
	result ioctl_fs_free1 "$(yesno wait_free "$DEV" 10)"
	sync
	echo 3 >/proc/sys/vm/drop_caches
	attach DEV2 --nbd-interface ioctl "$T"
	DEV=$DEV2
	result ioctl_fs_device2 "$DEV"
	run mount -t ext4 "$DEV" "$MNT" || fail "$P: mount $DEV after the second attach failed"
	show "(cd $MNT && sha256sum -c $W/$P.sums)"
	(cd "$MNT" && sha256sum -c "$W/$P.sums")
	rc=$?
	result ioctl_fs_verify_rc "$rc"
	[ "$rc" = 0 ] || bad "$P: sha256sum -c found differences"
	umount_bounded "$MNT" $P
	run e2fsck -fn "$DEV"
	rc=$?
	result ioctl_fs_fsck_rc "$rc"
	[ "$rc" = 0 ] || bad "$P: e2fsck -fn $DEV exited with status $rc"
	detach_free $P
}

# ---------------------------------------------------------------- main
echo "crash: kernel $(uname -r); parts: $PARTS; targets: $GOAOE_TARGETS"
result kernel "$(uname -r)"
for p in $PARTS; do
	case " $ALL_PARTS " in
	*" $p "*) ;;
	*) fail "unknown part '$p' in E2E_PARTS (known: $ALL_PARTS)" ;;
	esac
done
done_parts=""
for p in $PARTS; do
	"part_$p"
	done_parts="$done_parts $p"
	result parts_done "${done_parts# }"
done
if [ -n "$FAILED" ]; then
	result result fail
	dump_logs
	exit 1
fi
result result pass
