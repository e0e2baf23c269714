package server

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// Wire constants of the NBD transmission phase, as the kernel speaks it
// (include/uapi/linux/nbd.h, doc/proto.md "Transmission").
const (
	requestMagic = 0x25609513
	replyMagic   = 0x67446698

	requestSize = 28 // magic 4, type 4, handle 8, offset 8, length 4
	replySize   = 16 // magic 4, error 4, handle 8
)

// Transmission flags: what the device offers, which the device side hands
// the kernel (NBD_SET_FLAGS) as Options.TransmissionFlags. We never set
// ROTATIONAL (1<<4), SEND_TRIM (1<<5) or SEND_WRITE_ZEROES (1<<6): an
// AoE disk may be anything, and the engine has no TRIM to offer.
const (
	flagHasFlags     = 1 << 0
	flagReadOnly     = 1 << 1
	flagSendFlush    = 1 << 2
	flagSendFUA      = 1 << 3
	flagCanMultiConn = 1 << 8
)

// Command is the low 16 bits of a request's type field.
type Command uint16

// Commands the kernel can send. We advertise neither TRIM nor WRITE_ZEROES,
// so those two are only answered with an error if they ever arrive.
const (
	CmdRead        Command = 0
	CmdWrite       Command = 1
	CmdDisc        Command = 2
	CmdFlush       Command = 3
	CmdTrim        Command = 4
	CmdWriteZeroes Command = 6
)

func (c Command) String() string {
	switch c {
	case CmdRead:
		return "read"
	case CmdWrite:
		return "write"
	case CmdDisc:
		return "disconnect"
	case CmdFlush:
		return "flush"
	case CmdTrim:
		return "trim"
	case CmdWriteZeroes:
		return "write-zeroes"
	}
	return fmt.Sprintf("command(%d)", uint16(c))
}

// CommandFlags is the high 16 bits of a request's type field.
type CommandFlags uint16

const (
	// FlagFUA asks that the request be on stable storage before the reply
	// (type bit 16).
	FlagFUA CommandFlags = 1 << 0
	// FlagNoHole only qualifies WRITE_ZEROES (type bit 17); listed so that
	// it is recognised, not served.
	FlagNoHole CommandFlags = 1 << 1
)

// ErrProtocol marks a peer that broke the framing of the stream (bad magic,
// truncated header or payload). Such a stream cannot be resynchronised, so
// Serve stops; it is never the answer to a single request.
var ErrProtocol = errors.New("nbd: protocol violation")

// Request is the fixed 28-byte header of every request the kernel sends; a
// WRITE is followed by Length bytes of payload.
type Request struct {
	Command Command
	Flags   CommandFlags
	// Handle is opaque: the reply must echo it bit for bit. The kernel packs
	// a tag and a cookie into it and kills the device on a reply whose
	// handle it does not expect.
	Handle uint64
	Offset uint64
	Length uint32
}

// AppendBinary appends the wire form of r to b (encoding.BinaryAppender).
func (r Request) AppendBinary(b []byte) ([]byte, error) {
	b = binary.BigEndian.AppendUint32(b, requestMagic)
	b = binary.BigEndian.AppendUint32(b, uint32(r.Flags)<<16|uint32(r.Command))
	b = binary.BigEndian.AppendUint64(b, r.Handle)
	b = binary.BigEndian.AppendUint64(b, r.Offset)
	b = binary.BigEndian.AppendUint32(b, r.Length)
	return b, nil
}

// MarshalBinary returns the 28-byte wire form of r.
func (r Request) MarshalBinary() ([]byte, error) {
	return r.AppendBinary(make([]byte, 0, requestSize))
}

// UnmarshalBinary decodes exactly one request header. A short buffer is
// io.ErrUnexpectedEOF; a wrong magic is ErrProtocol.
func (r *Request) UnmarshalBinary(b []byte) error {
	if len(b) < requestSize {
		return io.ErrUnexpectedEOF
	}
	if len(b) > requestSize {
		return fmt.Errorf("nbd: request header is %d bytes, want %d", len(b), requestSize)
	}
	if m := binary.BigEndian.Uint32(b[0:4]); m != requestMagic {
		return fmt.Errorf("%w: request magic %#08x, want %#08x", ErrProtocol, m, uint32(requestMagic))
	}
	typ := binary.BigEndian.Uint32(b[4:8])
	*r = Request{
		Command: Command(typ),
		Flags:   CommandFlags(typ >> 16),
		Handle:  binary.BigEndian.Uint64(b[8:16]),
		Offset:  binary.BigEndian.Uint64(b[16:24]),
		Length:  binary.BigEndian.Uint32(b[24:28]),
	}
	return nil
}

// Reply is the 16-byte header of every answer; a successful READ is
// followed by the data, an error never is.
type Reply struct {
	Error  uint32 // an NBD errno (see errno.go), 0 for success
	Handle uint64
}

// AppendBinary appends the wire form of r to b. The server calls it on a
// buffer with room reserved in front of the read data, so a reply costs
// neither an allocation nor a second write.
func (r Reply) AppendBinary(b []byte) ([]byte, error) {
	b = binary.BigEndian.AppendUint32(b, replyMagic)
	b = binary.BigEndian.AppendUint32(b, r.Error)
	b = binary.BigEndian.AppendUint64(b, r.Handle)
	return b, nil
}

// MarshalBinary returns the 16-byte wire form of r.
func (r Reply) MarshalBinary() ([]byte, error) {
	return r.AppendBinary(make([]byte, 0, replySize))
}

// UnmarshalBinary decodes exactly one reply header.
func (r *Reply) UnmarshalBinary(b []byte) error {
	if len(b) < replySize {
		return io.ErrUnexpectedEOF
	}
	if len(b) > replySize {
		return fmt.Errorf("nbd: reply header is %d bytes, want %d", len(b), replySize)
	}
	if m := binary.BigEndian.Uint32(b[0:4]); m != replyMagic {
		return fmt.Errorf("%w: reply magic %#08x, want %#08x", ErrProtocol, m, uint32(replyMagic))
	}
	*r = Reply{
		Error:  binary.BigEndian.Uint32(b[4:8]),
		Handle: binary.BigEndian.Uint64(b[8:16]),
	}
	return nil
}
