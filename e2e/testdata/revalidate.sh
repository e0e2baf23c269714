# revalidate.sh: sourced by faults-restart.sh once its write is checked,
# with $T attached as $DEV (netlink, 128 MiB). The target is resized on
# the host (hook "resize": truncate the backing file, restart vblade) and
# aoe-revalidate follows it:
#   grow to 192 MiB under a mounted ext4 -> resize2fs grows the filesystem
#   online and the files written before still verify;
#   shrink to 160 MiB while mounted -> refused, the device keeps 192 MiB;
#   unmounted -> the shrink is done;
#   attached again through the ioctl interface, grow to 176 MiB.
# Results: reval_grow, reval_size_grown, resize2fs_rc, fs_grew,
# reval_verify, reval_shrink_mounted, reval_size_kept, reval_shrink,
# reval_size_shrunk, reval_ioctl_grow, reval_size_ioctl.

# revalidate_until WORD: aoe-revalidate until its output says WORD (the
# hook resizes the target asynchronously: the first tries may still see
# the old vblade); sets REVAL_OUT and REVAL_RC to the last try's.
revalidate_until() {
	local i=0
	while :; do
		REVAL_OUT=$(aoe-revalidate "$T" 2>&1)
		REVAL_RC=$?
		echo "$REVAL_OUT"
		case "$REVAL_OUT" in *"$1"*) return 0 ;; esac
		[ "$i" -ge 30 ] && return 1
		i=$((i + 1))
		sleep 1
	done
}

bytes() { blockdev --getsize64 "$1"; }

step "revalidate: grow under a mounted ext4"
R=/mnt/reval
mkdir -p "$R"
mkfs.ext4 -q -F "$DEV" || fail "mkfs.ext4 $DEV failed"
# noinit_itable: no lazy inode-table zeroing in the background, which would
# write into the part of the disk the shrink below takes away.
mount -t ext4 -o noinit_itable "$DEV" "$R" || fail "mount $DEV failed"
for i in 1 2 3 4; do random_file "$R/f$i" 4; done
(cd "$R" && sha256sum f1 f2 f3 f4 >"$W/reval.sums")
sync
blocks_before=$(df -k "$R" | awk 'NR == 2 { print $2 }')
echo "E2E-HOST 2 resize 0 192M"
revalidate_until grown
result reval_grow "$REVAL_OUT"
result reval_size_grown "$(bytes "$DEV")"
show resize2fs "$DEV"
resize2fs "$DEV"
result resize2fs_rc "$?"
blocks_after=$(df -k "$R" | awk 'NR == 2 { print $2 }')
echo "filesystem: $blocks_before KiB before, $blocks_after KiB after"
result fs_grew "$([ "$blocks_after" -gt "$blocks_before" ] && echo yes || echo no)"
echo 3 >/proc/sys/vm/drop_caches
(cd "$R" && sha256sum -c "$W/reval.sums")
result reval_verify "$?"

step "revalidate: a shrink under the mounted filesystem is refused"
sync
echo "E2E-HOST 3 resize 0 160M"
revalidate_until "not shrinking"
result reval_shrink_mounted "$REVAL_RC"
result reval_size_kept "$(bytes "$DEV")"
umount "$R" || fail "umount $R failed"
revalidate_until shrunk
result reval_shrink "$REVAL_OUT"
result reval_size_shrunk "$(bytes "$DEV")"
detach "$T"

step "revalidate: the ioctl interface"
attach DEV --nbd-interface ioctl "$T"
echo "E2E-HOST 4 resize 0 176M"
revalidate_until grown
result reval_ioctl_grow "$REVAL_OUT"
result reval_size_ioctl "$(bytes "$DEV")"
