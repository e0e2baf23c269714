#!/bin/sh
# targets.sh: two targets at once, a read-only attach, SIGTERM and SIGKILL of
# the serving process. Needs three targets (GOAOE_TARGETS "A B F": A and B
# for raw I/O, F for a filesystem),
# /e2e/lib.sh, the pattern files /e2e/pat-a, /e2e/pat-b, /e2e/pat-c, and
# the offsets (MiB) from the Go test:
#   E2E_A_OFF   where pat-a goes on A        E2E_B_OFF   where pat-b goes on B
#   E2E_RO_OFF  where pat-c is refused on B  E2E_TERM_OFF, E2E_TERM_MIB: the
#   region of A written while its serving process gets SIGTERM
set -u
. /e2e/lib.sh

A=${GOAOE_TARGETS%% *}
B=$(echo "$GOAOE_TARGETS" | cut -d' ' -f2)
F=$(echo "$GOAOE_TARGETS" | cut -d' ' -f3)
echo "targets.sh: A=$A B=$B F=$F"

# ---------------------------------------------------------------- 3: two at once
step "scenario 3: two targets at once"
attach DEVA "$A"
attach DEVB "$B"
result two_dev_a "$DEVA"
result two_dev_b "$DEVB"
[ "$DEVA" != "$DEVB" ] || fail "$A and $B got the same device $DEVA"
show aoe-stat
aoe-stat
result two_stat_a "$(stat_field "$A" STATE) $(stat_field "$A" DEVICE)"
result two_stat_b "$(stat_field "$B" STATE) $(stat_field "$B" DEVICE)"

show "dd pat-a -> $DEVA at ${E2E_A_OFF} MiB & dd pat-b -> $DEVB at ${E2E_B_OFF} MiB (at the same time)"
dd if=/e2e/pat-a of="$DEVA" bs=1M seek="$E2E_A_OFF" oflag=direct 2>"$W/dd-a.err" &
pa=$!
dd if=/e2e/pat-b of="$DEVB" bs=1M seek="$E2E_B_OFF" oflag=direct 2>"$W/dd-b.err" &
pb=$!
wait "$pa"
rca=$?
wait "$pb"
rcb=$?
cat "$W/dd-a.err" "$W/dd-b.err"
result two_write_rc "$rca $rcb"
[ "$rca" = 0 ] && [ "$rcb" = 0 ] || fail "writing to both devices at once failed ($rca, $rcb)"
mib_a=$(($(wc -c </e2e/pat-a) / 1048576))
mib_b=$(($(wc -c </e2e/pat-b) / 1048576))
got_a=$(region_sha "$DEVA" "$E2E_A_OFF" "$mib_a")
got_b=$(region_sha "$DEVB" "$E2E_B_OFF" "$mib_b")
result two_read_a "$([ "$got_a" = "$(file_sha /e2e/pat-a)" ] && echo ok || echo "mismatch $got_a")"
result two_read_b "$([ "$got_b" = "$(file_sha /e2e/pat-b)" ] && echo ok || echo "mismatch $got_b")"
[ "$got_a" = "$(file_sha /e2e/pat-a)" ] || fail "pat-a did not read back from $DEVA"
[ "$got_b" = "$(file_sha /e2e/pat-b)" ] || fail "pat-b did not read back from $DEVB"
echo "both patterns read back"

# ---------------------------------------------------------------- 4: read-only
step "scenario 4: read-only attach refuses writes"
detach "$B"
attach DEVR --read-only "$B"
result ro_dev "$DEVR"
show blockdev --getro "$DEVR"
blockdev --getro "$DEVR"
result ro_getro "$(blockdev --getro "$DEVR")"
show dd if=/e2e/pat-c of="$DEVR" bs=1M seek="$E2E_RO_OFF" oflag=direct
dd if=/e2e/pat-c of="$DEVR" bs=1M seek="$E2E_RO_OFF" oflag=direct 2>"$W/dd-ro.err" &
pr=$!
wait_gone "$pr" 60 || {
	proc_info "$pr"
	fail "a write to the read-only device hangs (more than 60 s)"
}
wait "$pr"
rc=$?
cat "$W/dd-ro.err"
result ro_write_rc "$rc"
result ro_write_err "$(last_line "$W/dd-ro.err")"
result ro_write_records "$(records_out "$W/dd-ro.err")"
[ "$rc" != 0 ] || fail "dd to the read-only device succeeded"
got=$(region_sha "$DEVR" "$E2E_B_OFF" "$mib_b")
result ro_read "$([ "$got" = "$(file_sha /e2e/pat-b)" ] && echo ok || echo "mismatch $got")"
[ "$got" = "$(file_sha /e2e/pat-b)" ] || fail "reading pat-b back from the read-only device failed"
echo "reads work, the write was refused"
detach "$B"

# ---------------------------------------------------------------- 5: SIGTERM
step "scenario 5: SIGTERM to the serving process during a write"
show "dd if=/dev/urandom of=$W/pattern bs=1M count=$E2E_TERM_MIB"
random_file "$W/pattern" "$E2E_TERM_MIB"
spid=$(server_pid "$A")
result term_pid "$spid"
[ -n "$spid" ] || fail "no pid in /run/goaoe/$A.json"
show "dd if=$W/pattern of=$DEVA bs=1M seek=$E2E_TERM_OFF oflag=direct &"
dd if="$W/pattern" of="$DEVA" bs=1M seek="$E2E_TERM_OFF" oflag=direct 2>"$W/dd-term.err" &
pd=$!
wait_progress "$DEVA" 7 8 "$pd"
show kill -TERM "$spid"
kill -TERM "$spid"
t0=$(now_ms)
wait_gone "$pd" 90 || {
	proc_info "$pd"
	fail "dd still running 90 s after SIGTERM to the serving process"
}
wait "$pd"
rc=$?
cat "$W/dd-term.err"
term_n=$(records_out "$W/dd-term.err")
result term_dd_rc "$rc"
result term_dd_err "$(last_line "$W/dd-term.err")"
result term_records "${term_n:-none}"
[ -n "$term_n" ] || fail "no 'records out' line from dd"
wait_gone "$spid" 60 || {
	proc_info "$spid"
	fail "the serving process is still running 60 s after SIGTERM"
}
result term_exit_secs "$(secs_since "$t0")"
show cat "/run/goaoe/$A.log"
cat "/run/goaoe/$A.log"
# A clean exit logs "eX.Y detached from /dev/nbdN" and nothing after it; a
# failed Serve ends with "aoe-attach: <error>" (status 1).
result term_log_detached "$(grep -c "$A detached from $DEVA" "/run/goaoe/$A.log")"
result term_log_error "$(grep '^aoe-attach: ' "/run/goaoe/$A.log" | tail -n 1)"
result term_dev_free "$(dev_free "$DEVA")"
[ -e "/run/goaoe/$A.json" ] && result term_state_file present || result term_state_file absent
[ -e "/dev/etherd/$A" ] && result term_link present || result term_link absent

# Through the ioctl interface: scenario 7 kills its server, and a device
# set up through netlink would wait for a new server for the deadline
# instead of failing at once (that case is crash.sh's).
attach DEVA2 --nbd-interface ioctl "$A"
result term_reattach_dev "$DEVA2"
if [ "$term_n" -gt 0 ]; then
	term_sha=$(file_sha "$W/pattern" "$term_n")
	got=$(region_sha "$DEVA2" "$E2E_TERM_OFF" "$term_n")
	result term_pattern_sha "$term_sha"
	result term_readback "$([ "$got" = "$term_sha" ] && echo ok || echo "mismatch $got")"
	[ "$got" = "$term_sha" ] || fail "the $term_n MiB dd reported written do not read back equal"
	echo "the $term_n MiB dd reported as written read back equal"
fi

# ----------------------------------------- 5b: SIGTERM under a mounted filesystem
step "scenario 5b: SIGTERM while files are written and fsync'ed on a mounted ext4"
mark=$(log_lines "$F")
attach DEVF "$F"
show mkfs.ext4 -q -F "$DEVF"
mkfs.ext4 -q -F "$DEVF" || fail "mkfs.ext4 $DEVF failed"
mkdir -p /mnt/f
mount -t ext4 "$DEVF" /mnt/f || fail "mount $DEVF failed"
# writer: up to 150 files of 256 KiB (37.5 MiB, the filesystem has 64),
# each fsync'ed (dd conv=fsync); the checksum of every file whose fsync
# returned goes into $W/fsynced.
writer() {
	local i=0 f
	: >"$W/fsynced"
	while [ "$i" -lt 150 ]; do
		f=$(printf 'f%04d' "$i")
		dd if=/dev/urandom of="$W/src" bs=64k count=4 status=none
		dd if="$W/src" of="/mnt/f/$f" bs=64k conv=fsync status=none 2>>"$W/writer.err" || break
		echo "$(sha256sum <"$W/src" | cut -d' ' -f1)  $f" >>"$W/fsynced"
		i=$((i + 1))
	done
}
show "(write and fsync 256 KiB files in /mnt/f) &"
writer &
pw=$!
wait_progress "$DEVF" 7 4 "$pw"
spid=$(server_pid "$F")
show kill -TERM "$spid"
kill -TERM "$spid"
wait_gone "$pw" 60 || {
	proc_info "$pw"
	fail "the file writer still runs 60 s after SIGTERM to the serving process"
}
wait "$pw"
cat "$W/writer.err"
wait_gone "$spid" 60 || fail "the serving process of $F still runs 60 s after SIGTERM"
result fs_fsynced "$(wc -l <"$W/fsynced")"
result fs_log_detached "$(log_since "$F" "$mark" | grep -c "$F detached from $DEVF")"
result fs_log_error "$(log_since "$F" "$mark" | grep '^aoe-attach: ' | tail -n 1)"
show umount /mnt/f
umount /mnt/f &
pu=$!
wait_gone "$pu" 60 || fail "umount of the filesystem on the detached device hangs"
wait "$pu"
result fs_umount_rc "$?"
attach DEVF2 "$F"
show e2fsck -fy "$DEVF2"
e2fsck -fy "$DEVF2"
result fs_fsck_fix_rc "$?"
show e2fsck -fn "$DEVF2"
e2fsck -fn "$DEVF2"
rc=$?
result fs_fsck_rc "$rc"
mount -t ext4 "$DEVF2" /mnt/f || fail "mount $DEVF2 after SIGTERM failed"
(cd /mnt/f && sha256sum -c "$W/fsynced") >"$W/fs-check" 2>&1
result fs_verify_rc "$?"
result fs_verify_ok "$(grep -c ': OK$' "$W/fs-check")"
grep -v ': OK$' "$W/fs-check"
umount /mnt/f
detach "$F"

# ---------------------------------------------------------------- 7: SIGKILL
step "scenario 7: SIGKILL of the serving process (nbd ioctl interface)"
spid=$(server_pid "$A")
result kill_pid "$spid"
[ -n "$spid" ] || fail "no pid in /run/goaoe/$A.json"
show "dd if=$DEVA2 of=/dev/null bs=1M iflag=direct &"
dd if="$DEVA2" of=/dev/null bs=1M iflag=direct 2>"$W/dd-kill.err" &
pd=$!
wait_progress "$DEVA2" 3 8 "$pd"
show kill -KILL "$spid"
kill -KILL "$spid"
t0=$(now_ms)
if wait_gone "$pd" 60; then
	wait "$pd"
	rc=$?
	result kill_dd_secs "$(secs_since "$t0")"
	cat "$W/dd-kill.err"
	result kill_dd_rc "$rc"
	result kill_dd_err "$(last_line "$W/dd-kill.err")"
else
	result kill_dd_rc hung
	proc_info "$pd"
	fail "I/O on $DEVA2 hangs more than 60 s after SIGKILL of the serving process"
fi
show aoe-stat
aoe-stat
result kill_stat_state "$(stat_field "$A" STATE)"
show "dd if=$DEVA2 of=$W/fresh bs=1M count=1 iflag=direct"
dd if="$DEVA2" of="$W/fresh" bs=1M count=1 iflag=direct 2>"$W/dd-fresh.err" &
pd=$!
if wait_gone "$pd" 60; then
	wait "$pd"
	rc=$?
	cat "$W/dd-fresh.err"
	result kill_fresh_rc "$rc"
	result kill_fresh_bytes "$(wc -c <"$W/fresh")"
else
	result kill_fresh_rc hung
	proc_info "$pd"
	fail "new I/O on $DEVA2 hangs after SIGKILL of the serving process"
fi
attach DEVA3 "$A"
result kill_reattach_dev "$DEVA3"
result kill_reattach_state "$(stat_field "$A" STATE)"
got=$(region_sha "$DEVA3" "$E2E_A_OFF" "$mib_a")
result kill_read_a "$([ "$got" = "$(file_sha /e2e/pat-a)" ] && echo ok || echo "mismatch $got")"
[ "$got" = "$(file_sha /e2e/pat-a)" ] || fail "pat-a does not read back after re-attaching $A"
if [ "$term_n" -gt 0 ]; then
	got=$(region_sha "$DEVA3" "$E2E_TERM_OFF" "$term_n")
	result kill_read_term "$([ "$got" = "$term_sha" ] && echo ok || echo "mismatch $got")"
fi
detach "$A"
result kill_final_free "$(dev_free "$DEVA3")"

result result pass
echo "targets.sh: all steps passed"
