// Package rawport is the Linux side of initiator.Port: one Ethernet interface
// reached through an AF_PACKET raw socket (github.com/mdlayher/packet) bound
// to the AoE EtherType 0x88A2. It owns everything between the engine and the
// kernel for that interface: checking that the interface can carry AoE,
// sending whole frames without blocking, receiving only the frames that are
// for us, and saying in its errors which interface failed and what to do.
// It knows nothing of the AoE header beyond the EtherType, except in its
// socket filters.
//
// # Socket filters
//
// A port keeps every AoE frame until it is given a filter, which the
// kernel runs before it copies a frame to the socket or wakes its reader.
// FilterReplies keeps the responses an initiator of this package can use
// (a tag with bit 31 set, or a Query Config answer), from any target: for
// an engine that looks for every target (aoe-discover). FilterTarget keeps,
// of those, only one target's: for an engine that serves one, so that with
// many targets attached, each served by its own process, a reply is copied
// into the one process that asked for it and no other.
//
// # What Receive drops
//
// The kernel hands a packet socket more than the frames addressed to this
// host. Receive drops, and counts in Stats, frames for other hosts
// (PACKET_OTHERHOST: a veth end, a bridge port or a NIC in promiscuous mode
// passes up frames for any MAC), frames whose source is our own MAC (a
// switching loop; frames this host sends are not delivered back to a socket
// bound to one EtherType, only to ETH_P_ALL taps, but outgoing frames are
// dropped too should they appear), and frames larger than the caller's
// buffer.
//
// # Sending
//
// Send never waits for the kernel: when the socket or the device queue is
// full the frame is dropped and counted, as a NIC drops on a full ring, and
// the engine's retransmits recover it.
//
// # Link state
//
// A Port reports the state of its link and has no policy about it: what
// to do when a link goes down or comes up (drop the port at once, open a
// new one) is multipath's Watcher's, which follows the host's link events.
// The kernel tells the socket once (ENETDOWN) that the interface went down:
// Receive counts it (Stats.LinkDowns) and goes on waiting, as on any link
// where nothing arrives, so a Port used without a Watcher (aoe-discover,
// the tests) keeps working when the interface is up again. Receive returns
// an error only after Close or when the interface was deleted
// (ErrInterfaceGone; it looks every second while the interface is down,
// since the kernel does not say so then). Send on a down interface fails
// with a hint.
//
// # Privileges
//
// Opening a Port needs CAP_NET_RAW (root has it). Errors are *OpError values
// that name the operation and the interface and carry a hint; the underlying
// cause stays reachable with errors.Is, e.g. os.ErrPermission or
// net.ErrClosed.
package rawport
