// Package multipath keeps the engine's set of ports in step with the host's
// links, so that every NIC that can reach a target carries traffic and NICs
// come and go without a command: a link that comes up is opened and probed
// with a config query, one that goes down is removed at once and its frames
// are sent again on the others.
//
// The per-frame policy over paths (a window and an RTT per path, the choice
// of path in proportion to what each carries, taking out a path that keeps
// losing frames and probing it until it answers) lives in package
// initiator, with the per-target state it runs on under one lock. This
// package decides which NICs the engine has.
package multipath
