package wire_test

import (
	"bytes"
	"testing"

	"github.com/goaoe/goaoe/initiator/wire"
	"github.com/google/go-cmp/cmp"
)

// Whole frames, written out byte by byte.
var (
	// vblade's answer to a Query Config broadcast, as captured on the wire:
	// 32 bytes of frame padded to 60 with zeros.
	frameVbladeConfigReply = []byte{
		// Ethernet
		0x02, 0x00, 0x00, 0x00, 0x00, 0x01, // dst: initiator
		0x00, 0x25, 0x90, 0xab, 0xcd, 0xef, // src: target
		0x88, 0xa2,
		// AoE
		0x18,       // version 1, R
		0x00,       // error
		0x00, 0x00, // shelf 0
		0x01,                   // slot 1
		0x01,                   // Query Config
		0x00, 0x00, 0x00, 0x2a, // tag
		// Query Config
		0x00, 0x10, // buffer count 16
		0x40, 0x19, // firmware 0x4019
		0x02,       // sector count 2
		0x10,       // AoE 1, read
		0x00, 0x00, // no string
		// padding
		0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
		0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	}

	// A config reply with a 5-byte string, padded to 60 with junk.
	frameConfigStringReply = []byte{
		0x02, 0x00, 0x00, 0x00, 0x00, 0x01,
		0x00, 0x25, 0x90, 0xab, 0xcd, 0xef,
		0x88, 0xa2,
		0x18, 0x00, 0x00, 0x03, 0x04, 0x01, 0x00, 0x00, 0x00, 0x2b,
		0x00, 0x08, 0x00, 0x01, 0x00, 0x10, 0x00, 0x05, // 8 buffers, fw 1, 0=2 sectors, string of 5
		'r', 'a', 'c', 'k', '3',
		// padding
		0x41, 0x41, 0x41, 0x41, 0x41, 0x41, 0x41, 0x41, 0x41, 0x41, 0x41, 0x41,
		0x41, 0x41, 0x41, 0x41, 0x41, 0x41, 0x41, 0x41, 0x41, 0x41, 0x41,
	}

	// A config request with a string too long for any config string.
	frameConfigTooLong = []byte{
		0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
		0x02, 0x00, 0x00, 0x00, 0x00, 0x01,
		0x88, 0xa2,
		0x10, 0x00, 0xff, 0xff, 0xff, 0x01, 0x00, 0x00, 0x00, 0x01,
		0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0x01, // string of 1025
	}

	// A failed Reserve/Release reply listing the holder, padded to 60.
	frameReserveFailed = []byte{
		0x02, 0x00, 0x00, 0x00, 0x00, 0x01,
		0x00, 0x25, 0x90, 0xab, 0xcd, 0xef,
		0x88, 0xa2,
		0x1c, 0x06, 0x12, 0x34, 0x56, 0x03, 0xde, 0xad, 0xbe, 0xef,
		0x00, 0x01, // read, 1 MAC
		0x02, 0x00, 0x00, 0x00, 0x00, 0x99,
		// padding
		0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
		0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	}

	// A MAC mask read reply with one directive, padded to 60 with bytes
	// that would read as more directives.
	frameMACMaskReply = []byte{
		0x02, 0x00, 0x00, 0x00, 0x00, 0x01,
		0x00, 0x25, 0x90, 0xab, 0xcd, 0xef,
		0x88, 0xa2,
		0x18, 0x00, 0x00, 0x01, 0x02, 0x02, 0x00, 0x00, 0x00, 0x07,
		0x00, 0x00, 0x00, 0x01, // read, no error, 1 directive
		0x00, 0x01, 0x02, 0x00, 0x00, 0x00, 0x00, 0x01,
		// padding
		0x00, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01,
		0x00, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01,
		0x00, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01,
	}

	// A vendor-specific command (240), kept raw.
	frameVendor = []byte{
		0x00, 0x25, 0x90, 0xab, 0xcd, 0xef,
		0x02, 0x00, 0x00, 0x00, 0x00, 0x01,
		0x88, 0xa2,
		0x10, 0x00, 0x00, 0x01, 0x02, 0xf0, 0x00, 0x00, 0x00, 0x09,
		0xca, 0xfe,
	}
)

// frame joins hand-encoded headers and bodies.
func frame(parts ...[]byte) []byte {
	var b []byte
	for _, p := range parts {
		b = append(b, p...)
	}
	return b
}

func TestFrameMarshalUnmarshal(t *testing.T) {
	identifyPadded := pad(frame(hdrATARequest, ataIdentify), wire.MinFrameLen-wire.HeaderLen-wire.ATAHeaderLen, 0)

	tests := []struct {
		name string
		b    []byte
		f    wire.Frame
		// unpadded is how many bytes of b MarshalBinary gives back.
		unpadded int
	}{
		{
			name: "vblade config reply",
			b:    frameVbladeConfigReply,
			f: wire.Frame{
				Header: wire.Header{
					Dst:     initiatorMAC,
					Src:     targetMAC,
					Version: 1,
					Flags:   wire.FlagResponse,
					Slot:    1,
					Command: wire.CommandConfig,
					Tag:     42,
				},
				Body: &wire.Config{
					BufferCount: 16,
					Firmware:    0x4019,
					SectorCount: 2,
					AoEVersion:  1,
					Command:     wire.ConfigRead,
					String:      []byte{},
				},
			},
			unpadded: wire.HeaderLen + wire.ConfigHeaderLen,
		},
		{
			name: "config reply with string",
			b:    frameConfigStringReply,
			f: wire.Frame{
				Header: wire.Header{
					Dst:     initiatorMAC,
					Src:     targetMAC,
					Version: 1,
					Flags:   wire.FlagResponse,
					Shelf:   3,
					Slot:    4,
					Command: wire.CommandConfig,
					Tag:     43,
				},
				Body: &wire.Config{
					BufferCount: 8,
					Firmware:    1,
					AoEVersion:  1,
					Command:     wire.ConfigRead,
					String:      []byte("rack3"),
				},
			},
			unpadded: wire.HeaderLen + wire.ConfigHeaderLen + 5,
		},
		{
			name: "padded identify request",
			b:    identifyPadded,
			f: wire.Frame{
				Header: wire.Header{
					Dst:     targetMAC,
					Src:     initiatorMAC,
					Version: 1,
					Shelf:   1,
					Slot:    2,
					Command: wire.CommandATA,
					Tag:     0x80000102,
				},
				// ATA data runs to the end of the frame.
				Body: &wire.ATA{
					SectorCount: 1,
					CmdStatus:   wire.ATAIdentify,
					Data:        make([]byte, wire.MinFrameLen-wire.HeaderLen-wire.ATAHeaderLen),
				},
			},
			unpadded: wire.MinFrameLen,
		},
		{
			name: "ATA read reply",
			b:    ataReply(),
			f: wire.Frame{
				Header: wire.Header{
					Dst:     initiatorMAC,
					Src:     targetMAC,
					Version: 1,
					Flags:   wire.FlagResponse,
					Shelf:   1,
					Slot:    2,
					Command: wire.CommandATA,
					Tag:     0x80000102,
				},
				Body: &wire.ATA{
					Flags:       wire.ATAFlagLBA48,
					SectorCount: 2,
					CmdStatus:   0x50,
					LBA:         0x123456789abc,
					Data:        bytes.Repeat([]byte{0x5a}, 2*wire.SectorSize),
				},
			},
			unpadded: wire.HeaderLen + wire.ATAHeaderLen + 2*wire.SectorSize,
		},
		{
			name: "MAC mask reply",
			b:    frameMACMaskReply,
			f: wire.Frame{
				Header: wire.Header{
					Dst:     initiatorMAC,
					Src:     targetMAC,
					Version: 1,
					Flags:   wire.FlagResponse,
					Shelf:   1,
					Slot:    2,
					Command: wire.CommandMACMask,
					Tag:     7,
				},
				Body: &wire.MACMask{
					Command:    wire.MaskRead,
					Directives: []wire.Directive{{Command: wire.DirectiveAdd, MAC: initiatorMAC}},
				},
			},
			unpadded: wire.HeaderLen + wire.MACMaskHeaderLen + 8,
		},
		{
			name: "failed reserve reply",
			b:    frameReserveFailed,
			f: wire.Frame{
				Header: wire.Header{
					Dst:     initiatorMAC,
					Src:     targetMAC,
					Version: 1,
					Flags:   wire.FlagResponse | wire.FlagError,
					Error:   wire.ErrTargetReserved,
					Shelf:   0x1234,
					Slot:    0x56,
					Command: wire.CommandReserve,
					Tag:     0xdeadbeef,
				},
				Body: &wire.Reserve{
					Command: wire.ReserveRead,
					MACs:    []wire.MAC{{0x02, 0x00, 0x00, 0x00, 0x00, 0x99}},
				},
			},
			unpadded: wire.HeaderLen + wire.ReserveHeaderLen + 6,
		},
		{
			name: "vendor command",
			b:    frameVendor,
			f: wire.Frame{
				Header: wire.Header{
					Dst:     targetMAC,
					Src:     initiatorMAC,
					Version: 1,
					Shelf:   1,
					Slot:    2,
					Command: 0xf0,
					Tag:     9,
				},
				Raw: []byte{0xca, 0xfe},
			},
			unpadded: len(frameVendor),
		},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var f wire.Frame
			if err := f.UnmarshalBinary(tt.b); err != nil {
				t.Fatalf("failed to unmarshal: %v", err)
			}
			if diff := cmp.Diff(tt.f, f); diff != "" {
				t.Fatalf("unexpected frame (-want +got):\n%s", diff)
			}

			b, err := tt.f.MarshalBinary()
			if err != nil {
				t.Fatalf("failed to marshal: %v", err)
			}
			if diff := cmp.Diff(tt.b[:tt.unpadded], b); diff != "" {
				t.Fatalf("unexpected bytes (-want +got):\n%s", diff)
			}
		})
	}
}

func TestFrameUnmarshalReuse(t *testing.T) {
	// Decoding into a used Frame leaves nothing of the previous frame.
	var f wire.Frame
	if err := f.UnmarshalBinary(frameVendor); err != nil {
		t.Fatalf("failed to unmarshal: %v", err)
	}
	if err := f.UnmarshalBinary(frameReserveFailed); err != nil {
		t.Fatalf("failed to unmarshal: %v", err)
	}
	if f.Raw != nil {
		t.Fatalf("Raw left over: % x", f.Raw)
	}
	if _, ok := f.Body.(*wire.Reserve); !ok {
		t.Fatalf("Body is %T, want *wire.Reserve", f.Body)
	}

	if err := f.UnmarshalBinary(frameVendor); err != nil {
		t.Fatalf("failed to unmarshal: %v", err)
	}
	if f.Body != nil {
		t.Fatalf("Body left over: %#v", f.Body)
	}
}

func TestFrameUnmarshalErrors(t *testing.T) {
	tests := []struct {
		name  string
		b     []byte
		eof   bool
		field string
		value int
	}{
		{name: "empty", b: nil, eof: true},
		{name: "header cut short", b: frameVbladeConfigReply[:wire.HeaderLen-1], eof: true},
		{name: "ATA body cut short", b: frame(hdrATARequest, ataIdentify[:wire.ATAHeaderLen-1]), eof: true},
		{name: "config body cut short", b: frameVbladeConfigReply[:wire.HeaderLen+wire.ConfigHeaderLen-1], eof: true},
		{name: "config string cut short", b: frameConfigStringReply[:wire.HeaderLen+wire.ConfigHeaderLen+4], eof: true},
		{name: "MAC mask directive cut short", b: frameMACMaskReply[:wire.HeaderLen+wire.MACMaskHeaderLen+7], eof: true},
		{name: "reserve MAC cut short", b: frameReserveFailed[:wire.HeaderLen+wire.ReserveHeaderLen+5], eof: true},
		{
			name: "IPv6",
			b: func() []byte {
				b := append([]byte{}, frameVbladeConfigReply...)
				b[12], b[13] = 0x86, 0xdd
				return b
			}(),
			field: "ethertype",
			value: 0x86dd,
		},
		{
			name: "version 3",
			b: func() []byte {
				b := append([]byte{}, frameVbladeConfigReply...)
				b[14] = 0x38
				return b
			}(),
			field: "version",
			value: 3,
		},
		{
			name:  "config string of 1025",
			b:     pad(frameConfigTooLong, 1025, 'z'),
			field: "config string length",
			value: 1025,
		},
		{
			name: "config command 9",
			b: func() []byte {
				b := append([]byte{}, frameVbladeConfigReply...)
				b[wire.HeaderLen+5] = 0x19
				return b
			}(),
			field: "config command",
			value: 9,
		},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var f wire.Frame
			checkErr(t, f.UnmarshalBinary(tt.b), tt.eof, tt.field, tt.value)
		})
	}
}

func TestFrameMarshalErrors(t *testing.T) {
	h := wire.Header{Dst: targetMAC, Src: initiatorMAC, Version: wire.Version}
	tests := []struct {
		name  string
		f     wire.Frame
		field string
		value int
	}{
		{
			name:  "config command 5",
			f:     wire.Frame{Header: h, Body: &wire.Config{Command: 5}},
			field: "config command",
			value: 5,
		},
		{
			name:  "config string of 1025",
			f:     wire.Frame{Header: h, Body: &wire.Config{String: make([]byte, 1025)}},
			field: "config string length",
			value: 1025,
		},
		{
			name:  "256 directives",
			f:     wire.Frame{Header: h, Body: &wire.MACMask{Directives: make([]wire.Directive, 256)}},
			field: "directive count",
			value: 256,
		},
		{
			name:  "256 MACs",
			f:     wire.Frame{Header: h, Body: &wire.Reserve{MACs: make([]wire.MAC, 256)}},
			field: "MAC count",
			value: 256,
		},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.f.MarshalBinary()
			checkErr(t, err, false, tt.field, tt.value)
		})
	}
}

func TestNewBody(t *testing.T) {
	tests := []struct {
		c    wire.Command
		want wire.Body
	}{
		{c: wire.CommandATA, want: &wire.ATA{}},
		{c: wire.CommandConfig, want: &wire.Config{}},
		{c: wire.CommandMACMask, want: &wire.MACMask{}},
		{c: wire.CommandReserve, want: &wire.Reserve{}},
		{c: 4, want: nil},
		{c: 0xf0, want: nil},
	}
	for _, tt := range tests {
		t.Run(tt.c.String(), func(t *testing.T) {
			if diff := cmp.Diff(tt.want, wire.NewBody(tt.c)); diff != "" {
				t.Fatalf("unexpected body (-want +got):\n%s", diff)
			}
		})
	}
}

func FuzzFrame(f *testing.F) {
	for _, b := range [][]byte{
		frameVbladeConfigReply,
		frameConfigStringReply,
		frameReserveFailed,
		frameMACMaskReply,
		frameVendor,
		ataReply(),
		pad(frame(hdrATARequest, ataIdentify), wire.MinFrameLen-wire.HeaderLen-wire.ATAHeaderLen, 0),
		frame(hdrATARequest, ataWriteExt),
		frame(hdrConfigBroadcast, configTestRequest),
		frame(hdrConfigBroadcast, configReadRequest),
		frame(hdrReserveFailed, reserveReadReply),
		pad(frameConfigTooLong, 1025, 'z'),
		frameVbladeConfigReply[:wire.HeaderLen],
		frameVbladeConfigReply[:wire.HeaderLen-1],
	} {
		f.Add(b)
	}

	f.Fuzz(func(t *testing.T, b []byte) {
		var f1 wire.Frame
		if err := f1.UnmarshalBinary(b); err != nil {
			return
		}
		if (f1.Body == nil) == (f1.Raw == nil) {
			t.Fatalf("want exactly one of Body and Raw: %#v", f1)
		}

		out, err := f1.MarshalBinary()
		if err != nil {
			t.Fatalf("failed to marshal %#v: %v", f1, err)
		}
		if len(out) > len(b) {
			t.Fatalf("re-encoded %d bytes from a %d-byte frame", len(out), len(b))
		}

		var f2 wire.Frame
		if err := f2.UnmarshalBinary(out); err != nil {
			t.Fatalf("failed to unmarshal re-encoded frame: %v", err)
		}
		if diff := cmp.Diff(f1, f2); diff != "" {
			t.Fatalf("round trip changed the frame (-first +second):\n%s", diff)
		}
	})
}
