#!/usr/bin/env bash
# host-hook.sh STATEFILE: the host side of a guest script that needs the
# network changed under it. The guest prints "E2E-HOST <id> <command>" on
# its console; this hook, run by scripts/guest/boot, follows the console
# log and carries each command out once:
#   rate K RATE   limit what the host sends to the guest's ethK (tc tbf)
#   norate K      remove that limit
#   down K / up K set the host end of the guest's ethK down or up
#   mtu K MTU     set the MTU of the host end of the guest's ethK and of
#                 its bridge
#   restart I     kill vblade I and start it again (same arguments)
#   kill I        kill vblade I
#   resize I SIZE truncate vblade I's backing file to SIZE (truncate -s:
#                 bytes, or with K/M/G) and restart it: vblade reads the
#                 size at start
set -euo pipefail
while IFS='=' read -r k v; do printf -v "$k" %s "$v"; done <"$1"

tap() { local n="tap$1"; echo "${!n}"; }

# No tr or sed in between: they would buffer the lines a pipe ahead.
tail -n +1 -F "$console_log" 2>/dev/null | while read -r line; do
	line=${line%$'\r'}
	case "$line" in
	*E2E-HOST\ *) ;;
	*) continue ;;
	esac
	set -- ${line#*E2E-HOST }
	shift # the id: it only makes every request a line of its own
	echo "host-hook: $*" >&2
	case "$1" in
	rate) tc qdisc replace dev "$(tap "$2")" root tbf rate "$3" burst 32kb latency 400ms ;;
	norate) tc qdisc del dev "$(tap "$2")" root 2>/dev/null || true ;;
	down) ip link set "$(tap "$2")" down ;;
	up) ip link set "$(tap "$2")" up ;;
	mtu)
		ip link set "$(tap "$2")" mtu "$3"
		ip link set "$(ip -o link show "$(tap "$2")" | sed -n 's/.* master \([^ ]*\) .*/\1/p')" mtu "$3"
		;;
	kill)
		p="vblade$2_pid"
		kill -9 "${!p}" 2>/dev/null || true
		;;
	restart | resize)
		p="vblade$2_pid" c="vblade$2_cmd" l="vblade$2_log" f="vblade$2_file"
		kill -9 "${!p}" 2>/dev/null || true
		if [ "$1" = resize ]; then truncate -s "$3" "${!f}"; else sleep "${3:-0}"; fi
		${!c} >>"${!l}" 2>&1 &
		printf -v "vblade$2_pid" %s "$!"
		;;
	*) echo "host-hook: unknown command: $*" >&2 ;;
	esac
done
