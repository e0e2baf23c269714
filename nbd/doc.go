// Package nbd exposes a Backend (an AoE target, in this project) as a Linux
// block device /dev/nbdN, through the kernel's NBD ioctl interface: it owns
// the device's life cycle (Attach, Disconnect, LoadModule, FindFree, InUse)
// and our end of the socket the kernel sends requests on (Serve). There is
// no NBD server and no handshake here; the kernel talks the transmission
// phase of the protocol over a socketpair.
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
// flushes if a write was acknowledged since the last flush. Cancelling
// Attach's context flushes before asking the kernel to disconnect.
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
//
// # Attaching a device
//
// Attach follows nbd-client's order: open, NBD_SET_BLKSIZE,
// NBD_SET_SIZE_BLOCKS, NBD_CLEAR_SOCK, NBD_SET_FLAGS, NBD_SET_TIMEOUT,
// NBD_SET_SOCK per connection, then NBD_DO_IT, which blocks until the
// device is disconnected, then NBD_CLEAR_SOCK and close. All of these run
// on one locked OS thread with signals blocked (see attach_linux.go for the
// reasons). The device is usable once /sys/block/nbdN/pid exists; Attach
// calls Options.Ready then.
//
// Only Linux has the driver: elsewhere Attach, Disconnect and LoadModule
// return an error wrapping errors.ErrUnsupported, and the rest of the
// package (Serve, the wire types) works everywhere.
package nbd
