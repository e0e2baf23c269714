// Package nbdtest is what the tests of both sides of an nbd device share:
// a Peer that plays the kernel's end of one connection and checks the rule
// the kernel enforces (every reply answers exactly one request), an
// in-memory Backend with hooks, and a socketpair. nbd/server's tests drive
// Serve with them; nbd's drive Attach against a fake kernel.
//
// It imports nbd/server, so the tests that use it are external tests
// (package server_test) or belong to another package.
package nbdtest
