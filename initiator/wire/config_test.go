package wire_test

import (
	"bytes"
	"errors"
	"io"
	"testing"

	"github.com/goaoe/goaoe/initiator/wire"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// Hand-encoded Query Config bodies (spec section 3.2): buffer count (2),
// firmware (2), sector count (1), aoever<<4|ccmd (1), string length (2),
// string.
var (
	configReadRequest = []byte{
		0x00, 0x00, // buffer count
		0x00, 0x00, // firmware
		0x00,       // sector count
		0x10,       // version 1, read
		0x00, 0x00, // string length
	}

	// What vblade answers: 16 buffers, firmware 0x4019, 2 sectors, AoE 1,
	// no config string.
	configVbladeReply = []byte{
		0x00, 0x10, // buffer count 16
		0x40, 0x19, // firmware 0x4019
		0x02,       // sector count 2
		0x10,       // version 1, read
		0x00, 0x00, // string length
	}

	configTestRequest = []byte{
		0x00, 0x00,
		0x00, 0x00,
		0x00,
		0x11,       // version 1, test
		0x00, 0x06, // string length 6
		's', 'h', 'e', 'l', 'f', '1',
	}

	configForceSetRequest = []byte{
		0x00, 0x00,
		0x00, 0x00,
		0x00,
		0x14,       // version 1, force set
		0x00, 0x0b, // string length 11
		'h', 'o', 's', 't', '=', 'f', 'i', 'l', 'e', 'r', '7',
	}

	configPrefixReply = []byte{
		0x01, 0x00, // buffer count 256
		0x00, 0x01, // firmware 1
		0x11,       // sector count 17
		0x12,       // version 1, test prefix
		0x00, 0x02, // string length 2
		'h', 'i',
	}

	configSetIfEmptyRequest = []byte{
		0x00, 0x00,
		0x00, 0x00,
		0x00,
		0x13, // version 1, set if empty
		0x00, 0x01,
		'x',
	}
)

// pad appends n bytes of fill.
func pad(b []byte, n int, fill byte) []byte {
	return append(append([]byte{}, b...), bytes.Repeat([]byte{fill}, n)...)
}

func TestConfigMarshalUnmarshal(t *testing.T) {
	tests := []struct {
		name string
		b    []byte
		c    wire.Config
	}{
		{
			name: "read request",
			b:    configReadRequest,
			c:    wire.Config{AoEVersion: 1, Command: wire.ConfigRead},
		},
		{
			name: "vblade reply",
			b:    configVbladeReply,
			c: wire.Config{
				BufferCount: 16,
				Firmware:    0x4019,
				SectorCount: 2,
				AoEVersion:  1,
				Command:     wire.ConfigRead,
			},
		},
		{
			name: "test request",
			b:    configTestRequest,
			c:    wire.Config{AoEVersion: 1, Command: wire.ConfigTest, String: []byte("shelf1")},
		},
		{
			name: "test prefix reply",
			b:    configPrefixReply,
			c: wire.Config{
				BufferCount: 256,
				Firmware:    1,
				SectorCount: 17,
				AoEVersion:  1,
				Command:     wire.ConfigTestPrefix,
				String:      []byte("hi"),
			},
		},
		{
			name: "set if empty request",
			b:    configSetIfEmptyRequest,
			c:    wire.Config{AoEVersion: 1, Command: wire.ConfigSetIfEmpty, String: []byte("x")},
		},
		{
			name: "force set request",
			b:    configForceSetRequest,
			c:    wire.Config{AoEVersion: 1, Command: wire.ConfigForceSet, String: []byte("host=filer7")},
		},
		{
			name: "max string",
			b:    pad([]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0x00, 0x04, 0x00}, wire.MaxConfigString, 'z'),
			c: wire.Config{
				BufferCount: 0xffff,
				Firmware:    0xffff,
				SectorCount: 0xff,
				String:      bytes.Repeat([]byte{'z'}, wire.MaxConfigString),
			},
		},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var c wire.Config
			if err := c.Unmarshal(tt.b); err != nil {
				t.Fatalf("failed to unmarshal: %v", err)
			}
			if diff := cmp.Diff(tt.c, c, cmpopts.EquateEmpty()); diff != "" {
				t.Fatalf("unexpected config (-want +got):\n%s", diff)
			}

			if got := tt.c.Len(); got != len(tt.b) {
				t.Fatalf("Len() = %d, want %d", got, len(tt.b))
			}
			b := make([]byte, tt.c.Len())
			if err := tt.c.Marshal(b); err != nil {
				t.Fatalf("failed to marshal: %v", err)
			}
			if diff := cmp.Diff(tt.b, b); diff != "" {
				t.Fatalf("unexpected bytes (-want +got):\n%s", diff)
			}
		})
	}
}

func TestConfigUnmarshalPadded(t *testing.T) {
	// Each body is padded to what is left of a 60-byte frame (or more, for
	// a NIC that pads with junk); the string must keep its announced length.
	tests := []struct {
		name string
		b    []byte
		c    wire.Config
	}{
		{
			name: "vblade reply, zero padding",
			b:    pad(configVbladeReply, wire.MinFrameLen-wire.HeaderLen-len(configVbladeReply), 0),
			c: wire.Config{
				BufferCount: 16,
				Firmware:    0x4019,
				SectorCount: 2,
				AoEVersion:  1,
				Command:     wire.ConfigRead,
			},
		},
		{
			name: "string, junk padding",
			b:    pad(configPrefixReply, wire.MinFrameLen-wire.HeaderLen-len(configPrefixReply), 0xa5),
			c: wire.Config{
				BufferCount: 256,
				Firmware:    1,
				SectorCount: 17,
				AoEVersion:  1,
				Command:     wire.ConfigTestPrefix,
				String:      []byte("hi"),
			},
		},
		{
			name: "string, padding that looks like more string",
			b:    pad(configTestRequest, 100, 'X'),
			c:    wire.Config{AoEVersion: 1, Command: wire.ConfigTest, String: []byte("shelf1")},
		},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var c wire.Config
			if err := c.Unmarshal(tt.b); err != nil {
				t.Fatalf("failed to unmarshal: %v", err)
			}
			if diff := cmp.Diff(tt.c, c, cmpopts.EquateEmpty()); diff != "" {
				t.Fatalf("unexpected config (-want +got):\n%s", diff)
			}
			if len(c.String) > 0 && &c.String[0] != &tt.b[wire.ConfigHeaderLen] {
				t.Fatal("String does not alias the input")
			}

			// Re-encoding gives the unpadded body.
			b := make([]byte, c.Len())
			if err := c.Marshal(b); err != nil {
				t.Fatalf("failed to marshal: %v", err)
			}
			if diff := cmp.Diff(tt.b[:c.Len()], b); diff != "" {
				t.Fatalf("unexpected bytes (-want +got):\n%s", diff)
			}
		})
	}
}

func TestConfigUnmarshalErrors(t *testing.T) {
	tests := []struct {
		name  string
		b     []byte
		eof   bool
		field string
		value int
	}{
		{name: "empty", b: []byte{}, eof: true},
		{name: "one byte short of the header", b: configReadRequest[:wire.ConfigHeaderLen-1], eof: true},
		{name: "string cut short", b: configTestRequest[:len(configTestRequest)-1], eof: true},
		{name: "string missing", b: configTestRequest[:wire.ConfigHeaderLen], eof: true},
		{
			name: "max string cut short",
			b:    pad([]byte{0, 0, 0, 0, 0, 0x10, 0x04, 0x00}, wire.MaxConfigString-1, 0),
			eof:  true,
		},
		{
			name:  "string of 1025",
			b:     pad([]byte{0, 0, 0, 0, 0, 0x10, 0x04, 0x01}, 1025, 'z'),
			field: "config string length",
			value: 1025,
		},
		{
			name:  "string of 65535",
			b:     pad([]byte{0, 0, 0, 0, 0, 0x10, 0xff, 0xff}, 0xffff, 'z'),
			field: "config string length",
			value: 0xffff,
		},
		{
			name:  "command 5",
			b:     []byte{0, 0, 0, 0, 0, 0x15, 0, 0},
			field: "config command",
			value: 5,
		},
		{
			name:  "command 15",
			b:     []byte{0, 0, 0, 0, 0, 0x1f, 0, 0},
			field: "config command",
			value: 15,
		},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var c wire.Config
			checkErr(t, c.Unmarshal(tt.b), tt.eof, tt.field, tt.value)
		})
	}
}

func TestConfigMarshalErrors(t *testing.T) {
	tests := []struct {
		name  string
		c     wire.Config
		n     int // buffer size; -1 for c.Len()
		short bool
		field string
		value int
	}{
		{
			name:  "short buffer for header",
			c:     wire.Config{AoEVersion: 1},
			n:     wire.ConfigHeaderLen - 1,
			short: true,
		},
		{
			name:  "short buffer for string",
			c:     wire.Config{AoEVersion: 1, Command: wire.ConfigTest, String: []byte("shelf1")},
			n:     wire.ConfigHeaderLen + 5,
			short: true,
		},
		{
			name:  "string of 1025",
			c:     wire.Config{Command: wire.ConfigForceSet, String: make([]byte, wire.MaxConfigString+1)},
			n:     -1,
			field: "config string length",
			value: 1025,
		},
		{
			name:  "command 5",
			c:     wire.Config{Command: 5},
			n:     -1,
			field: "config command",
			value: 5,
		},
		{
			name:  "command 255",
			c:     wire.Config{Command: 255},
			n:     -1,
			field: "config command",
			value: 255,
		},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := tt.n
			if n < 0 {
				n = tt.c.Len()
			}
			err := tt.c.Marshal(make([]byte, n))
			if tt.short {
				if !errors.Is(err, io.ErrShortBuffer) {
					t.Fatalf("got %v, want io.ErrShortBuffer", err)
				}
				return
			}
			checkErr(t, err, false, tt.field, tt.value)
		})
	}
}

func TestConfigMaxSectors(t *testing.T) {
	tests := []struct {
		count uint8
		want  int
	}{
		{count: 0, want: 2},
		{count: 1, want: 1},
		{count: 2, want: 2},
		{count: 17, want: 17},
		{count: 255, want: 255},
	}
	for _, tt := range tests {
		c := wire.Config{SectorCount: tt.count}
		if got := c.MaxSectors(); got != tt.want {
			t.Fatalf("MaxSectors() with SectorCount %d = %d, want %d", tt.count, got, tt.want)
		}
	}
}

func FuzzConfig(f *testing.F) {
	for _, b := range [][]byte{
		configReadRequest,
		configVbladeReply,
		configTestRequest,
		configForceSetRequest,
		configPrefixReply,
		configSetIfEmptyRequest,
		pad(configVbladeReply, wire.MinFrameLen-wire.HeaderLen-len(configVbladeReply), 0),
		pad(configPrefixReply, 20, 0xa5),
		pad([]byte{0, 0, 0, 0, 0, 0x10, 0x04, 0x00}, wire.MaxConfigString, 'z'),
		{0, 0, 0, 0, 0, 0x10, 0x04, 0x01},
		{0, 0, 0, 0, 0, 0x15, 0, 0},
		configTestRequest[:len(configTestRequest)-1],
	} {
		f.Add(b)
	}

	f.Fuzz(func(t *testing.T, b []byte) {
		var c1 wire.Config
		if err := c1.Unmarshal(b); err != nil {
			return
		}
		if len(c1.String) > wire.MaxConfigString || c1.Len() > len(b) {
			t.Fatalf("decoded a %d-byte string from %d bytes", len(c1.String), len(b))
		}

		out := make([]byte, c1.Len())
		if err := c1.Marshal(out); err != nil {
			t.Fatalf("failed to marshal %+v: %v", c1, err)
		}
		// Padding is not re-emitted, and nothing of the body is lost.
		if !bytes.Equal(out, b[:c1.Len()]) {
			t.Fatalf("re-encoded body differs:\n in: % x\nout: % x", b[:c1.Len()], out)
		}

		var c2 wire.Config
		if err := c2.Unmarshal(out); err != nil {
			t.Fatalf("failed to unmarshal re-encoded body: %v", err)
		}
		if diff := cmp.Diff(c1, c2); diff != "" {
			t.Fatalf("round trip changed the body (-first +second):\n%s", diff)
		}
	})
}
