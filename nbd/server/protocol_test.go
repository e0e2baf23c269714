package server

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"testing"
)

func TestRequestWire(t *testing.T) {
	tests := []struct {
		name string
		req  Request
		wire []byte
	}{
		{
			name: "read",
			req:  Request{Command: CmdRead, Handle: 0x0102030405060708, Offset: 4096, Length: 512},
			wire: []byte{
				0x25, 0x60, 0x95, 0x13, // magic
				0x00, 0x00, 0x00, 0x00, // type
				1, 2, 3, 4, 5, 6, 7, 8, // handle
				0, 0, 0, 0, 0, 0, 0x10, 0, // offset
				0, 0, 2, 0, // length
			},
		},
		{
			name: "FUA write",
			req:  Request{Command: CmdWrite, Flags: FlagFUA, Handle: 0xffffffffffffffff, Offset: 1 << 40, Length: 32 << 20},
			wire: []byte{
				0x25, 0x60, 0x95, 0x13,
				0x00, 0x01, 0x00, 0x01, // bit 16 FUA, command 1
				0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
				0, 0, 1, 0, 0, 0, 0, 0,
				0x02, 0, 0, 0,
			},
		},
		{
			name: "disconnect",
			req:  Request{Command: CmdDisc},
			wire: []byte{
				0x25, 0x60, 0x95, 0x13,
				0, 0, 0, 2,
				0, 0, 0, 0, 0, 0, 0, 0,
				0, 0, 0, 0, 0, 0, 0, 0,
				0, 0, 0, 0,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := tt.req.MarshalBinary()
			if err != nil || !bytes.Equal(b, tt.wire) {
				t.Fatalf("MarshalBinary = % x, %v\nwant            % x", b, err, tt.wire)
			}
			var got Request
			if err := got.UnmarshalBinary(tt.wire); err != nil || got != tt.req {
				t.Fatalf("UnmarshalBinary = %+v, %v; want %+v", got, err, tt.req)
			}
		})
	}
}

func TestRequestDecodeErrors(t *testing.T) {
	good, _ := Request{Command: CmdRead, Length: 512}.MarshalBinary()
	var r Request
	if err := r.UnmarshalBinary(good[:27]); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("short header: %v, want io.ErrUnexpectedEOF", err)
	}
	if err := r.UnmarshalBinary(append(good, 0)); err == nil {
		t.Error("long header accepted")
	}
	bad := bytes.Clone(good)
	binary.BigEndian.PutUint32(bad, replyMagic)
	if err := r.UnmarshalBinary(bad); !errors.Is(err, ErrProtocol) {
		t.Errorf("reply magic in a request: %v, want ErrProtocol", err)
	}
}

func TestReplyWire(t *testing.T) {
	r := Reply{Error: 5, Handle: 0xdeadbeefcafef00d}
	b, err := r.MarshalBinary()
	want := []byte{0x67, 0x44, 0x66, 0x98, 0, 0, 0, 5, 0xde, 0xad, 0xbe, 0xef, 0xca, 0xfe, 0xf0, 0x0d}
	if err != nil || !bytes.Equal(b, want) {
		t.Fatalf("MarshalBinary = % x, %v; want % x", b, err, want)
	}
	var got Reply
	if err := got.UnmarshalBinary(b); err != nil || got != r {
		t.Fatalf("UnmarshalBinary = %+v, %v", got, err)
	}
	if err := got.UnmarshalBinary(b[:15]); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("short reply: %v", err)
	}
	b[0] = 0
	if err := got.UnmarshalBinary(b); !errors.Is(err, ErrProtocol) {
		t.Errorf("bad reply magic: %v", err)
	}
}

// FuzzRequestDecode feeds arbitrary bytes to the request decoder: it must
// never panic, whatever it accepts must encode back to the same bytes, and
// any request built from the bytes must survive encode then decode.
func FuzzRequestDecode(f *testing.F) {
	for _, r := range []Request{
		{Command: CmdRead, Handle: 1, Offset: 0, Length: 4096},
		{Command: CmdWrite, Flags: FlagFUA, Handle: 1 << 63, Offset: 1 << 40, Length: MaxRequestLength},
		{Command: CmdFlush, Handle: 0xffffffffffffffff},
		{Command: CmdDisc},
		{Command: CmdTrim, Offset: 512, Length: 1 << 31},
		{Command: CmdWriteZeroes, Flags: FlagNoHole},
		{Command: 0xffff, Flags: 0xffff, Handle: 42, Offset: 0xffffffffffffffff, Length: 0xffffffff},
	} {
		b, _ := r.MarshalBinary()
		f.Add(b)
	}
	f.Add([]byte{})
	f.Add([]byte{0x25, 0x60, 0x95})
	f.Add(make([]byte, requestSize))
	f.Add(bytes.Repeat([]byte{0xff}, requestSize+3))

	f.Fuzz(func(t *testing.T, data []byte) {
		var r Request
		err := r.UnmarshalBinary(data)
		if err == nil {
			b, _ := r.MarshalBinary()
			if !bytes.Equal(b, data) {
				t.Fatalf("decoded %+v from % x, which encodes to % x", r, data, b)
			}
		} else if len(data) == requestSize && binary.BigEndian.Uint32(data) == requestMagic {
			t.Fatalf("rejected a well-formed header % x: %v", data, err)
		}

		// Whatever the magic, the fields make a request that must round-trip.
		var fields [requestSize]byte
		copy(fields[:], data)
		typ := binary.BigEndian.Uint32(fields[4:8])
		x := Request{
			Command: Command(typ),
			Flags:   CommandFlags(typ >> 16),
			Handle:  binary.BigEndian.Uint64(fields[8:16]),
			Offset:  binary.BigEndian.Uint64(fields[16:24]),
			Length:  binary.BigEndian.Uint32(fields[24:28]),
		}
		b, _ := x.MarshalBinary()
		var y Request
		if err := y.UnmarshalBinary(b); err != nil || y != x {
			t.Fatalf("decode(encode(%+v)) = %+v, %v", x, y, err)
		}
	})
}

func TestCommandString(t *testing.T) {
	for c, want := range map[Command]string{CmdRead: "read", CmdWrite: "write", CmdFlush: "flush", CmdDisc: "disconnect", 9: "command(9)"} {
		if got := c.String(); got != want {
			t.Errorf("Command(%d).String() = %q, want %q", uint16(c), got, want)
		}
	}
}
