// Package e2e holds the end-to-end tests of the goaoe commands: each test
// boots a throwaway Linux guest with scripts/guest/boot, with real vblade
// AoE targets on a host bridge, and uses aoe-attach, aoe-stat and
// aoe-detach in it the way a user would (mkfs, mount, dd, kill). The guest
// scripts are in testdata/; they print "E2E key=value" result lines that
// the tests check, and the tests also read the targets' backing files on
// the host.
//
// The tests need root (tap devices, a bridge, vblade's raw sockets) and
// skip without it; everything else they need is a failure when missing:
//
//	sudo go test ./e2e/          # -v streams the guest consoles
//
// GOAOE_E2E_LOGDIR=DIR keeps every guest console as DIR/<test>.log.
package e2e
