# Guest script for scripts/guest/selftest (runs as `sh -e /guest.sh` in the
# guest). Proves: the kernel aoe driver reaches the host's vblade over the
# bridge, O_DIRECT reads work, nbd and the fault-injection pieces load, and
# the real (not busybox) tools are the ones on PATH.

say() { echo "smoke: $*"; }

# wait_for PATH SECONDS [CMD...]: poll for PATH, running CMD every second
# (there is no udev in the guest to tell us when a device appears).
wait_for() {
	path=$1 secs=$2
	shift 2
	i=0
	while [ ! -e "$path" ]; do
		[ "$i" -ge "$secs" ] && { say "timeout waiting for $path"; return 1; }
		[ $# -eq 0 ] || "$@"
		sleep 1
		i=$((i + 1))
	done
}

# not_busybox CMD: the command on PATH must be a real binary, not the applet.
not_busybox() {
	p=$(command -v "$1")
	[ "$(readlink -f "$p")" != /usr/bin/busybox ] || { say "$1 is busybox ($p)"; return 1; }
	say "$1 -> $p"
}

check_tools() {
	for t in dd ip tc sha256sum mkfs.ext4 mke2fs e2fsck; do
		not_busybox "$t"
	done
	dd --version | head -n1
	ip -V
	# A filesystem round trip exercises mke2fs/e2fsck and their libraries.
	dd if=/dev/zero of=/tmp/fs.img bs=1M count=16 2>/dev/null
	mkfs.ext4 -q -F /tmp/fs.img
	e2fsck -fn /tmp/fs.img
	rm -f /tmp/fs.img
}

check_aoe() {
	modprobe aoe
	echo >/dev/etherd/discover
	wait_for /dev/etherd/e1.2 30 sh -c 'echo > /dev/etherd/discover'
	dd if=/dev/etherd/e1.2 of=/tmp/first-mib bs=1M count=1 iflag=direct
	sum=$(sha256sum /tmp/first-mib | cut -d' ' -f1)
	echo "SMOKE-SHA256=$sum"
}

check_nbd() {
	modprobe nbd
	wait_for /dev/nbd0 10
	[ -b /dev/nbd0 ]
	say "/dev/nbd0 present"
}

# check_tc: netem on the guest NIC (the host kernel has no netem).
check_tc() {
	tc qdisc add dev eth0 root netem delay 1ms
	tc qdisc show dev eth0 | grep -q netem
	tc qdisc del dev eth0 root
	say "netem ok"
}

say "targets: $GOAOE_TARGETS"
check_tools
check_aoe
check_nbd
check_tc
say "all checks passed"
