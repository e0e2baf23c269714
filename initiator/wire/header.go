package wire

import (
	"encoding/binary"
	"fmt"
	"io"
)

// Sizes of the fixed parts of a frame.
const (
	EthernetHeaderLen = 14
	AoEHeaderLen      = 10
	// HeaderLen is where a command's body starts in a frame.
	HeaderLen = EthernetHeaderLen + AoEHeaderLen
	// MinFrameLen is the shortest Ethernet frame without its FCS; shorter
	// frames are padded, so bodies must be read by their own lengths.
	MinFrameLen = 60
)

// EtherType is the Ethernet protocol number of AoE.
const EtherType = 0x88A2

// Version is the AoE protocol version this package speaks.
const Version = 1

// Broadcast shelf and slot: a request to them is for every target.
const (
	BroadcastShelf = 0xFFFF
	BroadcastSlot  = 0xFF
)

// Header flags (the low nibble of the first AoE byte).
const (
	FlagResponse = 0x08
	FlagError    = 0x04
)

// Command is the AoE command of a frame.
type Command uint8

// The AoE commands (spec section 2).
const (
	CommandATA     Command = 0
	CommandConfig  Command = 1
	CommandMACMask Command = 2
	CommandReserve Command = 3
)

func (c Command) String() string {
	switch c {
	case CommandATA:
		return "ATA"
	case CommandConfig:
		return "query config"
	case CommandMACMask:
		return "MAC mask list"
	case CommandReserve:
		return "reserve/release"
	}
	return fmt.Sprintf("command %d", uint8(c))
}

// MAC is an Ethernet address. An array, not a slice, so frames can be decoded
// without allocating and addresses can be map keys.
type MAC [6]byte

// BroadcastMAC is ff:ff:ff:ff:ff:ff.
var BroadcastMAC = MAC{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}

func (m MAC) String() string {
	return fmt.Sprintf("%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5])
}

// ParseMAC reads the colon-separated hex form.
func ParseMAC(s string) (MAC, error) {
	var m MAC
	// Sscanf alone would take a leading space, a one-digit octet or trailing
	// junk ("0:11:22:33:44:555" reads as 00:11:22:33:44:55), so check the shape.
	for i := 0; i < len(s); i++ {
		c := s[i]
		if i%3 == 2 {
			if c != ':' {
				return MAC{}, fmt.Errorf("bad MAC address %q", s)
			}
		} else if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return MAC{}, fmt.Errorf("bad MAC address %q", s)
		}
	}
	if _, err := fmt.Sscanf(s, "%02x:%02x:%02x:%02x:%02x:%02x", &m[0], &m[1], &m[2], &m[3], &m[4], &m[5]); err != nil || len(s) != 17 {
		return MAC{}, fmt.Errorf("bad MAC address %q", s)
	}
	return m, nil
}

// Header is the Ethernet header and the AoE header that start every frame.
type Header struct {
	Dst, Src MAC
	Version  uint8
	Flags    uint8
	// Error is the AoE error of a reply with FlagError set.
	Error   Error
	Shelf   uint16
	Slot    uint8
	Command Command
	// Tag is chosen by the initiator and echoed by the target.
	Tag uint32
}

// Response reports whether the frame is a target's reply.
func (h *Header) Response() bool { return h.Flags&FlagResponse != 0 }

// Failed reports whether the reply carries an AoE error.
func (h *Header) Failed() bool { return h.Flags&FlagError != 0 }

// Marshal writes the header into b, which must hold HeaderLen bytes.
func (h *Header) Marshal(b []byte) error {
	if len(b) < HeaderLen {
		return io.ErrShortBuffer
	}
	copy(b[0:6], h.Dst[:])
	copy(b[6:12], h.Src[:])
	binary.BigEndian.PutUint16(b[12:14], EtherType)
	b[14] = h.Version<<4 | h.Flags&0x0f
	b[15] = uint8(h.Error)
	binary.BigEndian.PutUint16(b[16:18], h.Shelf)
	b[18] = h.Slot
	b[19] = uint8(h.Command)
	binary.BigEndian.PutUint32(b[20:24], h.Tag)
	return nil
}

// Unmarshal decodes the header at the start of frame b and returns the body
// that follows it (aliasing b, Ethernet padding included).
func (h *Header) Unmarshal(b []byte) (body []byte, err error) {
	if len(b) < HeaderLen {
		return nil, io.ErrUnexpectedEOF
	}
	if et := binary.BigEndian.Uint16(b[12:14]); et != EtherType {
		return nil, &FormatError{Field: "ethertype", Value: int(et)}
	}
	// vblade sends its start-up announcement with version 0; a reply
	// from a newer protocol is refused.
	if v := b[14] >> 4; v > Version {
		return nil, &FormatError{Field: "version", Value: int(v)}
	}
	copy(h.Dst[:], b[0:6])
	copy(h.Src[:], b[6:12])
	h.Version = b[14] >> 4
	h.Flags = b[14] & 0x0f
	h.Error = Error(b[15])
	h.Shelf = binary.BigEndian.Uint16(b[16:18])
	h.Slot = b[18]
	h.Command = Command(b[19])
	h.Tag = binary.BigEndian.Uint32(b[20:24])
	return b[HeaderLen:], nil
}

// PutTag rewrites the tag of an encoded frame in place, which is how a
// retransmit gets a new tag without being encoded again.
func PutTag(frame []byte, tag uint32) { binary.BigEndian.PutUint32(frame[20:24], tag) }

// FormatError says which field made a frame impossible to decode.
type FormatError struct {
	Field  string
	Value  int
	Reason string
}

func (e *FormatError) Error() string {
	if e.Reason != "" {
		return fmt.Sprintf("aoe: bad %s %d: %s", e.Field, e.Value, e.Reason)
	}
	return fmt.Sprintf("aoe: bad %s %d", e.Field, e.Value)
}
