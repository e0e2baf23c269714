// Package discovery finds AoE targets: it broadcasts Query Config on the
// engine's ports, gathers the answers (vblade's unsolicited announcement
// when it starts counts as one), and describes each target by its paths,
// its config answer and its IDENTIFY data.
//
// Which interfaces to use is decided here too: every Ethernet interface
// that is up, or the list the user gave; and what their socket filters
// keep: every target's answers (Open, OpenPort), or for a process that
// serves one target only that target's (OpenFor, OpenPortFor).
package discovery
