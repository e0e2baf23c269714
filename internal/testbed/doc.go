// Package testbed gives integration tests a real AoE target on a real
// Ethernet link: a network namespace joined to the test's namespace by veth
// pairs, and Coraid's vblade serving a sparse file inside it. The initiator
// under test opens the host end (Bed.HostIface) like any NIC.
//
// Everything it creates is removed by t.Cleanup, pass or fail; vblade also
// gets SIGKILL if the test binary dies (Pdeathsig), and namespaces left
// behind by a killed test binary are removed by the next New. A test that
// cannot have a bed (not root, no ip, no vblade, namespaces not permitted)
// is skipped with the reason.
//
// # Names
//
// Namespaces are called goaoe-PID-TOKEN, interfaces aoTOKENhN (host end) and
// aoTOKENpN (namespace end), TOKEN being 6 random hex digits: short enough
// for the 15-byte interface name limit, unique across test binaries running
// in parallel.
//
// # What vblade does (version 25)
//
// It prints "pid N: eS.L, C sectors O_RDWR" on stdout once its socket is
// bound; StartTarget waits for that line, so a query sent after it returns
// is answered. It then broadcasts an unsolicited Query Config response whose
// AoE version nibble is 0, not 1, with tag 0. It reads the interface MTU
// again for every request, so SetMTU takes effect without a restart. Its
// socket receive buffer is only 24000 bytes (48000 after the kernel doubles
// it): a burst of more than a few jumbo frames overflows it, whatever buffer
// count it advertises.
//
// # Targets other than vblade
//
// StartQuirkyTarget runs quirktarget (internal/testbed/quirktarget) in
// vblade's place: the project's memnet target on a raw socket, serving the
// file, with the quirks of other AoE targets chosen by name (control
// commands unanswered, flushes echoed or aborted, more sectors advertised
// than the MTU carries with Extra("-s", "16"), ...). Same command line,
// same ready line, same Target. QuirkTargetBinary gives the static binary
// itself, for the guest harness (scripts/guest/boot --target
// ...,prog=PATH). Unlike vblade, it reads the MTU once, at start.
package testbed
