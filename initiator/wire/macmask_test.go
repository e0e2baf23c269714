package wire_test

import (
	"errors"
	"io"
	"testing"

	"github.com/goaoe/goaoe/initiator/wire"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// Hand-encoded MAC Mask List bodies (spec section 3.3): reserved, mcmd,
// merror, dircount, then directives of reserved, dcmd, MAC.
var (
	maskReadRequest = []byte{
		0x00, // reserved
		0x00, // read
		0x00, // merror
		0x00, // dircount
	}

	maskReadReply = []byte{
		0x00, 0x00, 0x00, 0x02,
		0x00, 0x01, 0x02, 0x00, 0x00, 0x00, 0x00, 0x01, // add initiator
		0x00, 0x01, 0x00, 0x25, 0x90, 0xab, 0xcd, 0xef, // add target
	}

	maskEditRequest = []byte{
		0x00, 0x01, 0x00, 0x03,
		0x00, 0x01, 0x02, 0x00, 0x00, 0x00, 0x00, 0x01, // add
		0x00, 0x02, 0x00, 0x25, 0x90, 0xab, 0xcd, 0xef, // delete
		0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // no directive
	}

	maskListFullReply = []byte{
		0x00, 0x01, 0x03, 0x01, // edit, list full
		0x00, 0x01, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	}
)

func TestMACMaskMarshalUnmarshal(t *testing.T) {
	maxMask := wire.MACMask{Command: wire.MaskEdit}
	maxb := []byte{0x00, 0x01, 0x00, 0xff}
	for i := 0; i < 255; i++ {
		m := wire.MAC{0x02, 0, 0, 0, byte(i >> 8), byte(i)}
		maxMask.Directives = append(maxMask.Directives, wire.Directive{Command: wire.DirectiveAdd, MAC: m})
		maxb = append(maxb, 0x00, 0x01)
		maxb = append(maxb, m[:]...)
	}

	tests := []struct {
		name string
		b    []byte
		m    wire.MACMask
	}{
		{
			name: "read request",
			b:    maskReadRequest,
			m:    wire.MACMask{Command: wire.MaskRead},
		},
		{
			name: "read reply",
			b:    maskReadReply,
			m: wire.MACMask{
				Command: wire.MaskRead,
				Directives: []wire.Directive{
					{Command: wire.DirectiveAdd, MAC: initiatorMAC},
					{Command: wire.DirectiveAdd, MAC: targetMAC},
				},
			},
		},
		{
			name: "edit request",
			b:    maskEditRequest,
			m: wire.MACMask{
				Command: wire.MaskEdit,
				Directives: []wire.Directive{
					{Command: wire.DirectiveAdd, MAC: initiatorMAC},
					{Command: wire.DirectiveDelete, MAC: targetMAC},
					{Command: wire.DirectiveNone},
				},
			},
		},
		{
			name: "list full reply",
			b:    maskListFullReply,
			m: wire.MACMask{
				Command: wire.MaskEdit,
				Error:   wire.MaskErrListFull,
				Directives: []wire.Directive{
					{Command: wire.DirectiveAdd, MAC: wire.BroadcastMAC},
				},
			},
		},
		{
			name: "255 directives",
			b:    maxb,
			m:    maxMask,
		},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var m wire.MACMask
			if err := m.Unmarshal(tt.b); err != nil {
				t.Fatalf("failed to unmarshal: %v", err)
			}
			if diff := cmp.Diff(tt.m, m, cmpopts.EquateEmpty()); diff != "" {
				t.Fatalf("unexpected MAC mask (-want +got):\n%s", diff)
			}

			if got := tt.m.Len(); got != len(tt.b) {
				t.Fatalf("Len() = %d, want %d", got, len(tt.b))
			}
			b := make([]byte, tt.m.Len())
			if err := tt.m.Marshal(b); err != nil {
				t.Fatalf("failed to marshal: %v", err)
			}
			if diff := cmp.Diff(tt.b, b); diff != "" {
				t.Fatalf("unexpected bytes (-want +got):\n%s", diff)
			}
		})
	}
}

func TestMACMaskUnmarshalIgnores(t *testing.T) {
	tests := []struct {
		name string
		b    []byte
		m    wire.MACMask
	}{
		{
			// 24+4+8 = 36 bytes, padded to 60 with bytes that would read as
			// three more directives.
			name: "padded reply",
			b:    pad(maskListFullReply, wire.MinFrameLen-wire.HeaderLen-len(maskListFullReply), 0x01),
			m: wire.MACMask{
				Command:    wire.MaskEdit,
				Error:      wire.MaskErrListFull,
				Directives: []wire.Directive{{Command: wire.DirectiveAdd, MAC: wire.BroadcastMAC}},
			},
		},
		{
			name: "reserved bytes set",
			b: []byte{
				0xee, 0x00, 0x00, 0x01,
				0xee, 0x02, 0x00, 0x25, 0x90, 0xab, 0xcd, 0xef,
			},
			m: wire.MACMask{
				Command:    wire.MaskRead,
				Directives: []wire.Directive{{Command: wire.DirectiveDelete, MAC: targetMAC}},
			},
		},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var m wire.MACMask
			if err := m.Unmarshal(tt.b); err != nil {
				t.Fatalf("failed to unmarshal: %v", err)
			}
			if diff := cmp.Diff(tt.m, m); diff != "" {
				t.Fatalf("unexpected MAC mask (-want +got):\n%s", diff)
			}
		})
	}
}

func TestMACMaskUnmarshalReuse(t *testing.T) {
	// A second decode into the same value replaces the first list.
	var m wire.MACMask
	if err := m.Unmarshal(maskEditRequest); err != nil {
		t.Fatalf("failed to unmarshal: %v", err)
	}
	if err := m.Unmarshal(maskListFullReply); err != nil {
		t.Fatalf("failed to unmarshal: %v", err)
	}
	want := wire.MACMask{
		Command:    wire.MaskEdit,
		Error:      wire.MaskErrListFull,
		Directives: []wire.Directive{{Command: wire.DirectiveAdd, MAC: wire.BroadcastMAC}},
	}
	if diff := cmp.Diff(want, m); diff != "" {
		t.Fatalf("unexpected MAC mask (-want +got):\n%s", diff)
	}

	if err := m.Unmarshal(maskReadRequest); err != nil {
		t.Fatalf("failed to unmarshal: %v", err)
	}
	if len(m.Directives) != 0 || m.Command != wire.MaskRead || m.Error != 0 {
		t.Fatalf("unexpected MAC mask: %+v", m)
	}
}

func TestMACMaskUnmarshalShort(t *testing.T) {
	tests := []struct {
		name string
		b    []byte
	}{
		{name: "empty", b: nil},
		{name: "one byte short of the header", b: maskReadRequest[:wire.MACMaskHeaderLen-1]},
		{name: "directives missing", b: maskReadReply[:wire.MACMaskHeaderLen]},
		{name: "last directive cut short", b: maskReadReply[:len(maskReadReply)-1]},
		{name: "255 announced, none sent", b: []byte{0x00, 0x00, 0x00, 0xff}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var m wire.MACMask
			checkErr(t, m.Unmarshal(tt.b), true, "", 0)
		})
	}
}

func TestMACMaskMarshalErrors(t *testing.T) {
	t.Run("short buffer", func(t *testing.T) {
		m := wire.MACMask{
			Command:    wire.MaskEdit,
			Directives: []wire.Directive{{Command: wire.DirectiveAdd, MAC: initiatorMAC}},
		}
		for _, n := range []int{0, wire.MACMaskHeaderLen - 1, wire.MACMaskHeaderLen, m.Len() - 1} {
			if err := m.Marshal(make([]byte, n)); !errors.Is(err, io.ErrShortBuffer) {
				t.Fatalf("Marshal into %d bytes: got %v, want io.ErrShortBuffer", n, err)
			}
		}
	})

	t.Run("256 directives", func(t *testing.T) {
		m := wire.MACMask{Command: wire.MaskEdit, Directives: make([]wire.Directive, 256)}
		checkErr(t, m.Marshal(make([]byte, m.Len())), false, "directive count", 256)
	})
}

func FuzzMACMask(f *testing.F) {
	for _, b := range [][]byte{
		maskReadRequest,
		maskReadReply,
		maskEditRequest,
		maskListFullReply,
		pad(maskListFullReply, wire.MinFrameLen-wire.HeaderLen-len(maskListFullReply), 0x01),
		{0xee, 0x00, 0x00, 0x01, 0xee, 0x02, 0x00, 0x25, 0x90, 0xab, 0xcd, 0xef},
		{0x00, 0x00, 0x00, 0xff},
		maskReadReply[:len(maskReadReply)-1],
	} {
		f.Add(b)
	}

	f.Fuzz(func(t *testing.T, b []byte) {
		var m1 wire.MACMask
		if err := m1.Unmarshal(b); err != nil {
			return
		}
		if m1.Len() > len(b) {
			t.Fatalf("decoded %d directives from %d bytes", len(m1.Directives), len(b))
		}

		out := make([]byte, m1.Len())
		if err := m1.Marshal(out); err != nil {
			t.Fatalf("failed to marshal %+v: %v", m1, err)
		}

		var m2 wire.MACMask
		if err := m2.Unmarshal(out); err != nil {
			t.Fatalf("failed to unmarshal re-encoded body: %v", err)
		}
		if diff := cmp.Diff(m1, m2); diff != "" {
			t.Fatalf("round trip changed the body (-first +second):\n%s", diff)
		}
	})
}
