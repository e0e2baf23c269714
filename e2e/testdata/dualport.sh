#!/bin/sh
# dualport.sh: one target exported by two vblade processes on two host
# bridges (two target MACs), reached through two NICs: both MACs carry
# traffic, and data written through one is read through the other.
. /e2e/lib.sh
set -u
T=${E2E_TARGET:-e1.2}
attach DEV "$T"
aoe-stat -v
result macs "$(aoe-stat --json | grep '"mac":' | sort -u | wc -l)"
dd if=/dev/urandom of="$W/p" bs=1M count=32 status=none
dd if="$W/p" of="$DEV" bs=1M oflag=direct status=none || fail "write failed"
got=$(dd if="$DEV" bs=1M count=32 iflag=direct status=none | sha256sum | cut -d' ' -f1)
result sha_match "$([ "$got" = "$(sha256sum "$W/p" | cut -d' ' -f1)" ] && echo yes || echo no)"
result macs_used "$(aoe-stat --json | awk '/"mac":/ { m = $2 } /"replies":/ && $2 != "0," { print m }' | sort -u | wc -l)"
aoe-stat -v
detach "$T"
result result pass
