// Package initiator is the AoE protocol engine: it turns ReadAt, WriteAt and
// Flush on a target into ATA frames, keeps a window of them in flight on the
// target's paths, matches replies to requests by tag, retransmits what is
// lost and fails what cannot succeed.
//
// # Shape
//
// An Initiator owns the local Ports and one receive goroutine per port, the
// table of Targets learned from Query Config answers, and one sweeper
// goroutine that retransmits overdue frames and declares targets dead. Each
// Target keeps its own state under its own lock: the queue of frames not yet
// sent, the frames in flight keyed by tag, and its paths, each with a
// congestion window, an RTT estimate and a health (package multipath's
// Window, RTT and Health, which also chooses the path for each frame:
// this package holds and calls them, multipath decides).
//
//	caller ─ReadAt/WriteAt/Flush─▶ Target.queue ─pump─▶ Port.Send
//	Port.Receive ─▶ Initiator.dispatch ─▶ Target.complete ─▶ caller wakes
//	sweeper tick ─▶ Target.sweep ─▶ new tag, other path ─▶ Port.Send
//
// One concern per file, each with its flow drawn at the top: request.go
// (submission and cutting into frames), send.go (the pump, path choice,
// batched sends), reply.go (matching replies to frames), order.go (holding
// writes back behind old copies of retransmitted ones), timers.go (the
// sweep: retransmits and deadlines), framesize.go (frames that no longer
// fit a path), learn.go (probing what a target really does), path.go
// (a path's port, MAC, counters and multipath state; taking it out and
// back), lock.go (the target's lock, whose Unlock runs the completions of
// what finished under it), port.go (Port, which is multipath.Port),
// mask.go (the MAC mask list), config.go (config strings: read, test and
// set over Watch, not as tagged requests).
//
// The sweeper sleeps until a frame could be overdue (at least Options.Tick),
// not on every tick. Windows start at the target's buffer count and never
// fall below it for a loss (multipath.Window says why); past it they probe
// for the room many targets have beyond what they promise.
//
// # Rules the engine keeps
//
// A request completes only when every one of its frames was answered; a
// write is acknowledged only after the target acknowledged all its sectors.
// A retransmit carries a new tag, so a late reply to the old one is told
// apart and dropped. Replies are accepted only from the path the frame went
// out on, with the right shelf, slot and command. Every tag has bit 31 set:
// the kernel's own aoe driver ignores those, so both can share a host. An AoE
// or ATA error fails its request at once with an *IOError; a target that
// answers nothing for Options.Deadline is dead and fails everything.
//
// # Targets other than vblade
//
// Learn (learn.go) asks, at attach time, what IDENTIFY and the config
// answer only claim: whether Reserve/Release is answered and which flush
// works. Its probes are short (a few sends within seconds, at most half
// the deadline), and their silence, which is how many targets say "not
// implemented", costs no path and no deadline anything. A flush reply
// whose status holds the command byte is a target that does not fill in
// the status register: done, and counted. A write the target aborts marks
// it read-only: later writes fail at once. Buffer counts of 0 are taken as
// 1, and frames are cut to the smallest MTU of the paths whatever sector
// count the target advertises.
package initiator
