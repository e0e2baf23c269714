// Package server is our end of one NBD connection: the transmission phase
// of the protocol (there is no handshake; the kernel never negotiates).
// Serve decodes the requests the peer sends, calls a Backend (an AoE
// target, in this project) and answers each request but DISC with exactly
// one reply. It knows nothing of devices, ioctls or sysfs, and works on
// every platform; package nbd hands its sockets to the kernel.
//
// # Serving requests
//
// One goroutine reads and decodes requests, a pool of Options.Workers
// goroutines calls the Backend, and replies go out in whatever order the
// Backend finishes, each written whole under one lock. The kernel matches
// replies to requests by handle, and a reply it does not expect (a second
// one for a handle, or an unknown handle) kills the device, so every
// request but DISC gets exactly one reply, and nothing else is written.
//
// A Backend that is also a Starter (the AoE engine is) gets plain READs and
// WRITEs straight from the reading goroutine, started rather than waited
// for: the reader kicks them onto the wire before it could block, so
// requests that arrive together share a send, and one writer goroutine
// answers all that finished together in one write. Each request then costs
// no goroutine hand-off of its own, which on a virtual machine is most of
// a small request's cost. A Starter that is a FrameReader hands a READ's
// data over in the buffers it arrived in, and they go to the socket as
// they are (one writev), not copied into one buffer first.
//
// # Data safety
//
// A WRITE is acknowledged only after Backend.WriteAt returns (or a started
// one calls back without error), and the AoE
// engine returns only once the target has acknowledged every frame. A WRITE
// with the FUA flag is also flushed before it is acknowledged. FLUSH calls
// Backend.Flush. On DISC, Serve waits for the requests in flight, and
// flushes if a write was acknowledged since the last flush.
//
// Requests the Backend must never see are refused with an error reply:
// writes to a read-only device (EPERM), and requests that are misaligned,
// beyond the end of the device, longer than MaxRequestLength, or use a
// command or flag we do not advertise (EINVAL). The kernel turns any error
// reply into EIO for the application. A refused WRITE's payload is still
// read off the socket and dropped, so the stream stays in step.
//
// A peer that breaks the framing (bad magic, truncated header) is not
// answered: Serve returns an error wrapping ErrProtocol.
//
// # Memory
//
// Buffers come from a pool of power-of-two size classes shared by all
// connections, with room in front of the data for the reply header, so a
// steady stream allocates nothing per request. At most Workers+1 request
// buffers exist per connection, each at most MaxRequestLength (the kernel's
// own limit); with the kernel's default max_sectors_kb they are far smaller.
package server
