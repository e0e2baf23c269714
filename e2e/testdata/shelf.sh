#!/bin/sh
# shelf.sh: a whole shelf on one host. Every target of $GOAOE_TARGETS is a
# slot of one shelf (E2E_SHELF, default 1). One `aoe-attach eS.*` attaches
# them all, a line each; aoe-stat lists them all up with their
# /dev/etherd names; E2E_MIB (16) MiB are written to every device at once
# (O_DIRECT) and read back at once, each compared by sha256; the RSS and
# the sockets of every serving process are reported; a second
# `aoe-attach eS.*` skips them all (exit 0); `aoe-detach --all` frees
# every device.
# Results: attach_rc, attach_lines, attached_already, stat_up, etherd_links,
# dev_sha_match (how many matched), rss_kib_total, rss_kib_max,
# sockets_max, reattach_rc, reattach_skipped, auto_*, detach_rc, free (how
# many), remaining (state files left).
# Then auto-attach (aoe-attach --auto 'eS.*'): the first target, detached
# by hand, is never attached again by it; the last one's server is
# SIGKILLed and the auto-attacher takes its device back by itself.
. /e2e/lib.sh
set -u

S=${E2E_SHELF:-1}
MIB=${E2E_MIB:-16}
N=0
for t in $GOAOE_TARGETS; do N=$((N + 1)); done
result targets "$N"

step "aoe-attach 'e$S.*': every slot of shelf $S"
show aoe-attach "e$S.*"
aoe-attach "e$S.*" >"$W/attach.out" 2>"$W/attach.err"
rc=$?
cat "$W/attach.out" "$W/attach.err"
result attach_rc "$rc"
result attach_lines "$(grep -c "^e$S\.[0-9]*	/dev/nbd[0-9]*$" "$W/attach.out")"
[ "$rc" = 0 ] || fail "aoe-attach e$S.* exited with status $rc"

step "aoe-stat: every target up, each with its /dev/etherd name"
show aoe-stat
aoe-stat | tee "$W/stat.out"
up=0 links=0
for t in $GOAOE_TARGETS; do
	[ "$(stat_field "$t" STATE)" = up ] && up=$((up + 1))
	dev=$(stat_field "$t" DEVICE)
	[ -n "$dev" ] && [ "$(readlink -f "/dev/etherd/$t")" = "$dev" ] && links=$((links + 1))
done
result stat_up "$up"
result etherd_links "$links"
ls -l /dev/etherd

step "$MIB MiB written to every device at once, then read back at once"
for t in $GOAOE_TARGETS; do
	random_file "$W/$t.pat" "$MIB"
done
T0=$(now_ms)
for t in $GOAOE_TARGETS; do
	dd if="$W/$t.pat" of="/dev/etherd/$t" bs=1M oflag=direct conv=fsync status=none 2>"$W/$t.wr" &
done
wait
result write_secs "$(secs_since "$T0")"
T0=$(now_ms)
for t in $GOAOE_TARGETS; do
	(region_sha "/dev/etherd/$t" 0 "$MIB" >"$W/$t.sha") &
done
wait
result read_secs "$(secs_since "$T0")"
match=0
for t in $GOAOE_TARGETS; do
	cat "$W/$t.wr"
	if [ "$(cat "$W/$t.sha")" = "$(file_sha "$W/$t.pat")" ]; then
		match=$((match + 1))
	else
		echo "$t: read back differs from what was written"
	fi
done
result dev_sha_match "$match"

step "what each serving process costs"
total=0 max=0 smax=0
for t in $GOAOE_TARGETS; do
	pid=$(server_pid "$t")
	rss=$(awk '$1 == "VmRSS:" { print $2 }' "/proc/$pid/status" 2>/dev/null)
	socks=$(ls -l "/proc/$pid/fd" 2>/dev/null | grep -c 'socket:')
	echo "$t: pid $pid, RSS ${rss:-?} KiB, $socks sockets"
	total=$((total + ${rss:-0}))
	[ "${rss:-0}" -gt "$max" ] && max=$rss
	[ "$socks" -gt "$smax" ] && smax=$socks
done
result rss_kib_total "$total"
result rss_kib_max "$max"
result sockets_max "$smax"
free -m

step "aoe-attach 'e$S.*' again: everything is attached already"
show aoe-attach "e$S.*"
aoe-attach "e$S.*" >"$W/reattach.out" 2>&1
result reattach_rc "$?"
cat "$W/reattach.out"
result reattach_skipped "$(grep -c 'attached already' "$W/reattach.out")"

FIRST=${GOAOE_TARGETS%% *}
LAST=${GOAOE_TARGETS##* }
step "auto-attach: $FIRST detached by hand stays detached; the server of $LAST is killed and comes back by itself"
detach "$FIRST"
show aoe-attach --auto "e$S.*" '&'
aoe-attach --auto "e$S.*" >"$W/auto.out" 2>"$W/auto.err" &
AUTO=$!
KPID=$(server_pid "$LAST")
show kill -9 "$KPID"
kill -9 "$KPID"
wait_gone "$KPID" 10 || fail "server $KPID of $LAST still runs 10 s after SIGKILL"
TK=$(now_ms)
back=no i=0
while [ "$i" -lt 300 ]; do
	pid=$(server_pid "$LAST")
	if [ -n "$pid" ] && [ "$pid" != "$KPID" ] && running "$pid"; then
		back=yes
		break
	fi
	sleep 0.1
	i=$((i + 1))
done
result auto_reattached "$back"
result auto_reattach_secs "$(secs_since "$TK")"
sleep 3 # a few more rounds of the auto-attacher
result auto_detached_left "$([ -z "$(stat_field "$FIRST" DEVICE)" ] && echo yes || echo no)"
result auto_running "$(running "$AUTO" && echo yes || echo no)"
kill "$AUTO"
wait_gone "$AUTO" 10 || fail "aoe-attach --auto still runs 10 s after SIGTERM"
cat "$W/auto.out" "$W/auto.err"
result auto_lines "$(grep -c "^$LAST	/dev/nbd[0-9]*$" "$W/auto.out")"
aoe-stat

step "aoe-detach --all"
show aoe-detach --all
bounded 120 aoe-detach --all >"$W/detach.out" 2>&1
result detach_rc "$?"
cat "$W/detach.out"
free=0
for dev in $(sed -n 's/^e[0-9.]*	\(\/dev\/nbd[0-9]*\)$/\1/p' "$W/attach.out"); do
	wait_free "$dev" 10 && free=$((free + 1))
done
result free "$free"
result remaining "$(ls /run/goaoe/*.json 2>/dev/null | wc -l)"
result result pass
