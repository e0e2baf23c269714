// Package wire is the AoE (ATA over Ethernet) frame format: the Ethernet and
// AoE headers and the bodies of the four AoE commands (ATA, Query Config,
// MAC Mask List, Reserve/Release), as the AoE specification revision 11
// describes them.
//
// It does no I/O, keeps no clock and starts no goroutines. Decoders alias the
// caller's buffer instead of copying (a decoded Data or String is valid only as
// long as the frame buffer is), and encoders write into a caller-provided
// buffer, so the per-frame path allocates nothing. MarshalBinary and
// UnmarshalBinary exist for tools and tests, where an allocation is fine.
//
// # Errors
//
// Input shorter than its fixed fields, or shorter than a length it announces,
// is io.ErrUnexpectedEOF. Input that is long enough but cannot be an AoE
// frame (another EtherType, another protocol version, a count that does not
// fit) is a *FormatError naming the field. An AoE error carried in a reply is
// an Error, which implements error.
package wire
