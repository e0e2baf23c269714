package wire_test

import (
	"bytes"
	"errors"
	"io"
	"testing"

	"github.com/goaoe/goaoe/initiator/wire"
	"github.com/google/go-cmp/cmp"
)

// Addresses used throughout the tests: an initiator and a target.
var (
	initiatorMAC = wire.MAC{0x02, 0x00, 0x00, 0x00, 0x00, 0x01}
	targetMAC    = wire.MAC{0x00, 0x25, 0x90, 0xab, 0xcd, 0xef}
)

// Hand-encoded Ethernet+AoE headers (spec section 2), 24 bytes each.
var (
	// A Query Config request from the initiator to every target.
	hdrConfigBroadcast = []byte{
		0xff, 0xff, 0xff, 0xff, 0xff, 0xff, // dst: broadcast
		0x02, 0x00, 0x00, 0x00, 0x00, 0x01, // src: initiator
		0x88, 0xa2, // EtherType
		0x10,       // version 1, no flags
		0x00,       // error
		0xff, 0xff, // shelf: broadcast
		0xff,                   // slot: broadcast
		0x01,                   // command: Query Config
		0x00, 0x00, 0x00, 0x2a, // tag
	}

	// An ATA request from the initiator to shelf 1 slot 2.
	hdrATARequest = []byte{
		0x00, 0x25, 0x90, 0xab, 0xcd, 0xef, // dst: target
		0x02, 0x00, 0x00, 0x00, 0x00, 0x01, // src: initiator
		0x88, 0xa2, // EtherType
		0x10,       // version 1, no flags
		0x00,       // error
		0x00, 0x01, // shelf 1
		0x02,                   // slot 2
		0x00,                   // command: ATA
		0x80, 0x00, 0x01, 0x02, // tag
	}

	// The target's successful ATA reply to hdrATARequest.
	hdrATAReply = []byte{
		0x02, 0x00, 0x00, 0x00, 0x00, 0x01, // dst: initiator
		0x00, 0x25, 0x90, 0xab, 0xcd, 0xef, // src: target
		0x88, 0xa2, // EtherType
		0x18,       // version 1, R
		0x00,       // error
		0x00, 0x01, // shelf 1
		0x02,                   // slot 2
		0x00,                   // command: ATA
		0x80, 0x00, 0x01, 0x02, // tag
	}

	// A failed Reserve/Release reply: R and E set, error 6 (target reserved).
	hdrReserveFailed = []byte{
		0x02, 0x00, 0x00, 0x00, 0x00, 0x01, // dst: initiator
		0x00, 0x25, 0x90, 0xab, 0xcd, 0xef, // src: target
		0x88, 0xa2, // EtherType
		0x1c,       // version 1, R|E
		0x06,       // error: target reserved
		0x12, 0x34, // shelf 0x1234
		0x56,                   // slot 0x56
		0x03,                   // command: Reserve/Release
		0xde, 0xad, 0xbe, 0xef, // tag
	}
)

func TestHeaderMarshalUnmarshal(t *testing.T) {
	tests := []struct {
		name     string
		b        []byte
		h        wire.Header
		response bool
		failed   bool
	}{
		{
			name: "config broadcast request",
			b:    hdrConfigBroadcast,
			h: wire.Header{
				Dst:     wire.BroadcastMAC,
				Src:     initiatorMAC,
				Version: wire.Version,
				Shelf:   wire.BroadcastShelf,
				Slot:    wire.BroadcastSlot,
				Command: wire.CommandConfig,
				Tag:     42,
			},
		},
		{
			name: "ATA request",
			b:    hdrATARequest,
			h: wire.Header{
				Dst:     targetMAC,
				Src:     initiatorMAC,
				Version: wire.Version,
				Shelf:   1,
				Slot:    2,
				Command: wire.CommandATA,
				Tag:     0x80000102,
			},
		},
		{
			name: "ATA reply",
			b:    hdrATAReply,
			h: wire.Header{
				Dst:     initiatorMAC,
				Src:     targetMAC,
				Version: wire.Version,
				Flags:   wire.FlagResponse,
				Shelf:   1,
				Slot:    2,
				Command: wire.CommandATA,
				Tag:     0x80000102,
			},
			response: true,
		},
		{
			name: "failed reserve reply",
			b:    hdrReserveFailed,
			h: wire.Header{
				Dst:     initiatorMAC,
				Src:     targetMAC,
				Version: wire.Version,
				Flags:   wire.FlagResponse | wire.FlagError,
				Error:   wire.ErrTargetReserved,
				Shelf:   0x1234,
				Slot:    0x56,
				Command: wire.CommandReserve,
				Tag:     0xdeadbeef,
			},
			response: true,
			failed:   true,
		},
		{
			name: "unknown command",
			b: []byte{
				0x00, 0x25, 0x90, 0xab, 0xcd, 0xef,
				0x02, 0x00, 0x00, 0x00, 0x00, 0x01,
				0x88, 0xa2,
				0x10,
				0x00,
				0x00, 0x07,
				0x09,
				0xf0, // vendor-specific command 240
				0x00, 0x00, 0x00, 0x00,
			},
			h: wire.Header{
				Dst:     targetMAC,
				Src:     initiatorMAC,
				Version: wire.Version,
				Shelf:   7,
				Slot:    9,
				Command: 0xf0,
			},
		},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Trailing bytes stand in for a body; Unmarshal must hand them back.
			frame := append(append([]byte{}, tt.b...), 0xaa, 0xbb, 0xcc)

			var h wire.Header
			body, err := h.Unmarshal(frame)
			if err != nil {
				t.Fatalf("failed to unmarshal: %v", err)
			}
			if diff := cmp.Diff(tt.h, h); diff != "" {
				t.Fatalf("unexpected header (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff([]byte{0xaa, 0xbb, 0xcc}, body); diff != "" {
				t.Fatalf("unexpected body (-want +got):\n%s", diff)
			}
			if &body[0] != &frame[wire.HeaderLen] {
				t.Fatal("body does not alias the frame")
			}
			if got := h.Response(); got != tt.response {
				t.Fatalf("Response() = %v, want %v", got, tt.response)
			}
			if got := h.Failed(); got != tt.failed {
				t.Fatalf("Failed() = %v, want %v", got, tt.failed)
			}

			b := make([]byte, wire.HeaderLen)
			if err := tt.h.Marshal(b); err != nil {
				t.Fatalf("failed to marshal: %v", err)
			}
			if diff := cmp.Diff(tt.b, b); diff != "" {
				t.Fatalf("unexpected bytes (-want +got):\n%s", diff)
			}
		})
	}
}

func TestHeaderUnmarshalErrors(t *testing.T) {
	// with returns hdrATARequest with the bytes from index i replaced by vs.
	with := func(i int, vs ...byte) []byte {
		b := append([]byte{}, hdrATARequest...)
		copy(b[i:], vs)
		return b
	}

	tests := []struct {
		name  string
		b     []byte
		eof   bool
		field string
		value int
	}{
		{name: "nil", b: nil, eof: true},
		{name: "Ethernet header only", b: hdrATARequest[:wire.EthernetHeaderLen], eof: true},
		{name: "one byte short", b: hdrATARequest[:wire.HeaderLen-1], eof: true},
		{
			name:  "IPv4",
			b:     with(12, 0x08, 0x00),
			field: "ethertype",
			value: 0x0800,
		},
		{
			name:  "ARP",
			b:     with(12, 0x08, 0x06),
			field: "ethertype",
			value: 0x0806,
		},
		{
			name:  "byte-swapped AoE",
			b:     with(12, 0xa2, 0x88),
			field: "ethertype",
			value: 0xa288,
		},
		{
			name:  "version 2",
			b:     with(14, 0x28),
			field: "version",
			value: 2,
		},
		{
			name:  "version 15",
			b:     with(14, 0xf0),
			field: "version",
			value: 15,
		},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var h wire.Header
			body, err := h.Unmarshal(tt.b)
			if err == nil {
				t.Fatal("expected an error, but none occurred")
			}
			if body != nil {
				t.Fatalf("expected no body on error, got %d bytes", len(body))
			}
			if h != (wire.Header{}) {
				t.Fatalf("header changed on error: %+v", h)
			}
			checkErr(t, err, tt.eof, tt.field, tt.value)
		})
	}
}

func TestHeaderMarshalShortBuffer(t *testing.T) {
	h := wire.Header{Dst: targetMAC, Src: initiatorMAC, Version: wire.Version}
	for _, n := range []int{0, wire.EthernetHeaderLen, wire.HeaderLen - 1} {
		b := make([]byte, n)
		if err := h.Marshal(b); !errors.Is(err, io.ErrShortBuffer) {
			t.Fatalf("Marshal into %d bytes: got %v, want io.ErrShortBuffer", n, err)
		}
	}
}

func TestPutTag(t *testing.T) {
	frame := append([]byte{}, hdrATARequest...)
	wire.PutTag(frame, 0x01020304)
	want := append([]byte{}, hdrATARequest...)
	copy(want[20:24], []byte{0x01, 0x02, 0x03, 0x04})
	if diff := cmp.Diff(want, frame); diff != "" {
		t.Fatalf("unexpected frame after PutTag (-want +got):\n%s", diff)
	}
}

func TestCommandString(t *testing.T) {
	tests := []struct {
		c    wire.Command
		want string
	}{
		{c: wire.CommandATA, want: "ATA"},
		{c: wire.CommandConfig, want: "query config"},
		{c: wire.CommandMACMask, want: "MAC mask list"},
		{c: wire.CommandReserve, want: "reserve/release"},
		{c: 4, want: "command 4"},
		{c: 255, want: "command 255"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			if got := tt.c.String(); got != tt.want {
				t.Fatalf("String() = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestFormatErrorError(t *testing.T) {
	tests := []struct {
		name string
		err  *wire.FormatError
		want string
	}{
		{
			name: "no reason",
			err:  &wire.FormatError{Field: "ethertype", Value: 0x0800},
			want: "aoe: bad ethertype 2048",
		},
		{
			name: "reason",
			err:  &wire.FormatError{Field: "config string length", Value: 1025, Reason: "more than 1024"},
			want: "aoe: bad config string length 1025: more than 1024",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.err.Error(); got != tt.want {
				t.Fatalf("Error() = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestMACString(t *testing.T) {
	tests := []struct {
		name string
		m    wire.MAC
		want string
	}{
		{name: "zero", m: wire.MAC{}, want: "00:00:00:00:00:00"},
		{name: "broadcast", m: wire.BroadcastMAC, want: "ff:ff:ff:ff:ff:ff"},
		{name: "target", m: targetMAC, want: "00:25:90:ab:cd:ef"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.m.String(); got != tt.want {
				t.Fatalf("String() = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestParseMAC(t *testing.T) {
	tests := []struct {
		name string
		s    string
		m    wire.MAC
		ok   bool
	}{
		{name: "lower", s: "00:25:90:ab:cd:ef", m: targetMAC, ok: true},
		{name: "upper", s: "00:25:90:AB:CD:EF", m: targetMAC, ok: true},
		{name: "broadcast", s: "ff:ff:ff:ff:ff:ff", m: wire.BroadcastMAC, ok: true},
		{name: "zero", s: "00:00:00:00:00:00", ok: true},
		{name: "empty", s: ""},
		{name: "five octets", s: "00:25:90:ab:cd"},
		{name: "seven octets", s: "00:25:90:ab:cd:ef:01"},
		{name: "trailing colon", s: "00:25:90:ab:cd:ef:"},
		{name: "dashes", s: "00-25-90-ab-cd-ef"},
		{name: "not hex", s: "00:25:90:ab:cd:eg"},
		{name: "0x prefix", s: "0x:25:90:ab:cd:ef"},
		{name: "one-digit octet then three", s: "0:25:90:ab:cd:eff"},
		{name: "leading space", s: " 0:25:90:ab:cd:ef"},
		{name: "trailing space", s: "00:25:90:ab:cd:e "},
		{name: "sign", s: "+0:25:90:ab:cd:ef"},
		{name: "no separators", s: "002590abcdef"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := wire.ParseMAC(tt.s)
			if tt.ok && err != nil {
				t.Fatalf("failed to parse: %v", err)
			}
			if !tt.ok {
				if err == nil {
					t.Fatalf("expected an error, got %v", m)
				}
				return
			}
			if m != tt.m {
				t.Fatalf("ParseMAC = %v, want %v", m, tt.m)
			}
			// The canonical form parses back to the same address.
			m2, err := wire.ParseMAC(m.String())
			if err != nil || m2 != m {
				t.Fatalf("ParseMAC(%q) = %v, %v", m.String(), m2, err)
			}
		})
	}
}

// FuzzParseMAC checks that whatever ParseMAC accepts is exactly the canonical
// form of the address it returns, up to the case of the hex digits.
func FuzzParseMAC(f *testing.F) {
	for _, s := range []string{
		"00:25:90:ab:cd:ef",
		"FF:FF:FF:FF:FF:FF",
		"0:25:90:ab:cd:eff",
		" 0:25:90:ab:cd:ef",
		"00-25-90-ab-cd-ef",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		m, err := wire.ParseMAC(s)
		if err != nil {
			return
		}
		if got := m.String(); !bytes.EqualFold([]byte(got), []byte(s)) {
			t.Fatalf("ParseMAC(%q) = %s", s, got)
		}
	})
}

func FuzzHeader(f *testing.F) {
	for _, b := range [][]byte{
		hdrConfigBroadcast,
		hdrATARequest,
		hdrATAReply,
		hdrReserveFailed,
		append(append([]byte{}, hdrATAReply...), make([]byte, wire.MinFrameLen-wire.HeaderLen)...),
		hdrATARequest[:wire.HeaderLen-1],
		{},
	} {
		f.Add(b)
	}

	f.Fuzz(func(t *testing.T, b []byte) {
		var h1 wire.Header
		body, err := h1.Unmarshal(b)
		if err != nil {
			return
		}
		if len(body) != len(b)-wire.HeaderLen {
			t.Fatalf("body is %d bytes of a %d-byte frame", len(body), len(b))
		}

		out := make([]byte, wire.HeaderLen)
		if err := h1.Marshal(out); err != nil {
			t.Fatalf("failed to marshal %+v: %v", h1, err)
		}
		// Every bit of the two headers is a field, so the bytes come back too.
		if !bytes.Equal(out, b[:wire.HeaderLen]) {
			t.Fatalf("re-encoded header differs:\n in: % x\nout: % x", b[:wire.HeaderLen], out)
		}

		var h2 wire.Header
		if _, err := h2.Unmarshal(out); err != nil {
			t.Fatalf("failed to unmarshal re-encoded header: %v", err)
		}
		if diff := cmp.Diff(h1, h2); diff != "" {
			t.Fatalf("round trip changed the header (-first +second):\n%s", diff)
		}
	})
}

// checkErr checks that err is io.ErrUnexpectedEOF if eof is set, and
// otherwise a *FormatError about field with value.
func checkErr(t *testing.T, err error, eof bool, field string, value int) {
	t.Helper()

	if eof {
		if !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Fatalf("got %v, want io.ErrUnexpectedEOF", err)
		}
		return
	}

	var fe *wire.FormatError
	if !errors.As(err, &fe) {
		t.Fatalf("got %v (%T), want *wire.FormatError", err, err)
	}
	if fe.Field != field || fe.Value != value {
		t.Fatalf("got FormatError{Field: %q, Value: %d}, want {Field: %q, Value: %d}",
			fe.Field, fe.Value, field, value)
	}
}

// TestHeaderAcceptsVbladeAnnouncement: vblade's start-up broadcast carries
// AoE version 0; it must decode, or a target that starts after discovery
// would go unseen until the next query.
func TestHeaderAcceptsVbladeAnnouncement(t *testing.T) {
	b := make([]byte, wire.HeaderLen)
	copy(b, []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 2, 0, 0, 0, 0, 9, 0x88, 0xa2, 0x08, 0, 0, 1, 2, 1, 0, 0, 0, 0})
	var h wire.Header
	if _, err := h.Unmarshal(b); err != nil {
		t.Fatalf("version-0 announcement refused: %v", err)
	}
	if !h.Response() || h.Shelf != 1 || h.Slot != 2 || h.Command != wire.CommandConfig {
		t.Fatalf("decoded %+v", h)
	}
}
