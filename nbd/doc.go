// Package nbd exposes a server.Backend (an AoE target, in this project) as a
// Linux block device /dev/nbdN: it owns the device's life cycle (Attach,
// Disconnect, LoadModule, FindFree, InUse, Tune, SetReadOnly) and the
// kernel interfaces it goes through. Our end of each socket the kernel
// sends requests on is served by package nbd/server; there is no NBD
// server and no handshake here, the kernel talks the transmission phase
// of the protocol over a socketpair.
//
// # Kernel interfaces
//
// Two, chosen by Options.Interface. The kernel's "nbd" generic netlink
// family (attach_netlink_linux.go, the default where the kernel has it)
// sets a device up with NBD_CMD_CONNECT; the kernel then owns it: when our
// sockets die it marks them dead and keeps the device, its new I/O waiting
// up to Options.DeadConnTimeout for NBD_CMD_RECONFIGURE to hand it new
// ones (Options.Reconnect, found by Options.Backend, the backend
// identifier the kernel keeps in /sys/block/nbdN/backend). The NBD ioctls
// on /dev/nbdN (attach_linux.go) are the fallback: their device lives
// exactly as long as the thread in NBD_DO_IT. Either way the device's
// state is read from /sys/block/nbdN.
//
// What a dead server leaves behind is bounded by Options.Timeout, the
// kernel's request timer: requests in flight when it died are sent again
// (to the next server, or failed) only when it runs out, so it must be
// set, above the Backend's own deadline. The kernel's end of each socket
// also gets room for everything it may queue, so that it never blocks
// sending to a server that is gone.
//
// # Attaching a device through the ioctls
//
// Attach follows nbd-client's order: open, NBD_SET_BLKSIZE,
// NBD_SET_SIZE_BLOCKS, NBD_CLEAR_SOCK, NBD_SET_FLAGS, NBD_SET_TIMEOUT,
// NBD_SET_SOCK per connection, then NBD_DO_IT, which blocks until the
// device is disconnected, then NBD_CLEAR_SOCK and close. All of these run
// on one locked OS thread with signals blocked (see attach_linux.go for the
// reasons). The device is usable once /sys/block/nbdN/pid exists; Attach
// calls Options.Ready then.
//
// Cancelling Attach's context flushes the Backend before asking the kernel
// to disconnect, so that every write the kernel was told about is durable
// whatever follows; the kernel's DISC then lets each connection's Serve
// answer what is in flight and flush again if it must. Through netlink the
// kernel fails what is still queued when it disconnects.
//
// Only Linux has the driver: elsewhere Attach, Disconnect, LoadModule and
// SetReadOnly return an error wrapping errors.ErrUnsupported. FindFree,
// InUse and Tune only read and write files, and fail where those are
// missing.
package nbd
