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

// Hand-encoded ATA bodies (spec section 3.1): aflags, err/feature, sector
// count, cmd/status, lba0..lba5 (least significant first), 2 reserved, data.
var (
	ataIdentify = []byte{
		0x00,                               // aflags
		0x00,                               // feature
		0x01,                               // sector count
		0xec,                               // IDENTIFY DEVICE
		0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // lba
		0x00, 0x00, // reserved
	}

	ataRead28 = []byte{
		0x00,                               // aflags
		0x00,                               // feature
		0x02,                               // sector count
		0x20,                               // READ SECTORS
		0xef, 0xcd, 0xab, 0x00, 0x00, 0x00, // lba 0xabcdef
		0x00, 0x00,
	}

	ataReadExt = []byte{
		0x40,                               // aflags: E
		0x00,                               // feature
		0x02,                               // sector count
		0x24,                               // READ SECTORS EXT
		0xbc, 0x9a, 0x78, 0x56, 0x34, 0x12, // lba 0x123456789abc
		0x00, 0x00,
	}

	ataWriteExt = []byte{
		0x43,                               // aflags: E|A|W
		0x00,                               // feature
		0x01,                               // sector count
		0x34,                               // WRITE SECTORS EXT
		0xff, 0xff, 0xff, 0xff, 0xff, 0xff, // lba 2^48-1
		0x00, 0x00,
		0xde, 0xad, 0xbe, 0xef, 0x01, 0x02, 0x03, 0x04, // data
	}

	ataReadReply = []byte{
		0x40,                               // aflags: E
		0x00,                               // error
		0x00,                               // sector count: 0 left
		0x50,                               // status: DRDY|DSC
		0x00, 0x00, 0x00, 0x00, 0x00, 0x01, // lba 2^40
		0x00, 0x00,
		0x11, 0x22, 0x33, 0x44, // data
	}

	ataErrorReply = []byte{
		0x40,                               // aflags: E
		0x04,                               // error: ABRT
		0x01,                               // sector count
		0x51,                               // status: DRDY|DSC|ERR
		0x01, 0x00, 0x00, 0x00, 0x00, 0x00, // lba 1
		0x00, 0x00,
	}
)

func TestATAMarshalUnmarshal(t *testing.T) {
	tests := []struct {
		name string
		b    []byte
		a    wire.ATA
	}{
		{
			name: "identify",
			b:    ataIdentify,
			a:    wire.ATA{SectorCount: 1, CmdStatus: wire.ATAIdentify},
		},
		{
			name: "read 28-bit",
			b:    ataRead28,
			a:    wire.ATA{SectorCount: 2, CmdStatus: wire.ATARead28, LBA: 0xabcdef},
		},
		{
			name: "read 48-bit",
			b:    ataReadExt,
			a: wire.ATA{
				Flags:       wire.ATAFlagLBA48,
				SectorCount: 2,
				CmdStatus:   wire.ATAReadExt,
				LBA:         0x123456789abc,
			},
		},
		{
			name: "async write at max LBA",
			b:    ataWriteExt,
			a: wire.ATA{
				Flags:       wire.ATAFlagLBA48 | wire.ATAFlagAsync | wire.ATAFlagWrite,
				SectorCount: 1,
				CmdStatus:   wire.ATAWriteExt,
				LBA:         wire.MaxLBA48,
				Data:        []byte{0xde, 0xad, 0xbe, 0xef, 0x01, 0x02, 0x03, 0x04},
			},
		},
		{
			name: "read reply",
			b:    ataReadReply,
			a: wire.ATA{
				Flags:     wire.ATAFlagLBA48,
				CmdStatus: 0x50,
				LBA:       1 << 40,
				Data:      []byte{0x11, 0x22, 0x33, 0x44},
			},
		},
		{
			name: "error reply",
			b:    ataErrorReply,
			a: wire.ATA{
				Flags:       wire.ATAFlagLBA48,
				ErrFeature:  wire.ATAErrorABRT,
				SectorCount: 1,
				CmdStatus:   0x51,
				LBA:         1,
			},
		},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var a wire.ATA
			if err := a.Unmarshal(tt.b); err != nil {
				t.Fatalf("failed to unmarshal: %v", err)
			}
			if diff := cmp.Diff(tt.a, a, cmpopts.EquateEmpty()); diff != "" {
				t.Fatalf("unexpected ATA (-want +got):\n%s", diff)
			}
			if len(a.Data) > 0 && &a.Data[0] != &tt.b[wire.ATAHeaderLen] {
				t.Fatal("Data does not alias the input")
			}

			if got := tt.a.Len(); got != len(tt.b) {
				t.Fatalf("Len() = %d, want %d", got, len(tt.b))
			}
			b := make([]byte, tt.a.Len())
			if err := tt.a.Marshal(b); err != nil {
				t.Fatalf("failed to marshal: %v", err)
			}
			if diff := cmp.Diff(tt.b, b); diff != "" {
				t.Fatalf("unexpected bytes (-want +got):\n%s", diff)
			}
		})
	}
}

func TestATAPaddedRequest(t *testing.T) {
	// An IDENTIFY request is 36 bytes with the headers, so it arrives padded
	// to 60; the padding is in Data (the caller knows how much it asked for).
	b := make([]byte, wire.MinFrameLen-wire.HeaderLen)
	copy(b, ataIdentify)

	var a wire.ATA
	if err := a.Unmarshal(b); err != nil {
		t.Fatalf("failed to unmarshal: %v", err)
	}
	want := wire.ATA{
		SectorCount: 1,
		CmdStatus:   wire.ATAIdentify,
		Data:        make([]byte, wire.MinFrameLen-wire.HeaderLen-wire.ATAHeaderLen),
	}
	if diff := cmp.Diff(want, a); diff != "" {
		t.Fatalf("unexpected ATA (-want +got):\n%s", diff)
	}
}

func TestATALBA(t *testing.T) {
	tests := []struct {
		name string
		lba  uint64
		b    [6]byte // lba0..lba5
	}{
		{name: "zero", lba: 0, b: [6]byte{0, 0, 0, 0, 0, 0}},
		{name: "one", lba: 1, b: [6]byte{1, 0, 0, 0, 0, 0}},
		{name: "byte boundary", lba: 0x100, b: [6]byte{0, 1, 0, 0, 0, 0}},
		{name: "max LBA28", lba: 1<<28 - 1, b: [6]byte{0xff, 0xff, 0xff, 0x0f, 0, 0}},
		{name: "2^32", lba: 1 << 32, b: [6]byte{0, 0, 0, 0, 1, 0}},
		{name: "2^47", lba: 1 << 47, b: [6]byte{0, 0, 0, 0, 0, 0x80}},
		{name: "distinct bytes", lba: 0x060504030201, b: [6]byte{1, 2, 3, 4, 5, 6}},
		{name: "max LBA48", lba: wire.MaxLBA48, b: [6]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := append([]byte{0x40, 0x00, 0x01, 0x24}, tt.b[:]...)
			want = append(want, 0x00, 0x00)

			a := wire.ATA{Flags: wire.ATAFlagLBA48, SectorCount: 1, CmdStatus: wire.ATAReadExt, LBA: tt.lba}
			b := make([]byte, wire.ATAHeaderLen)
			a.MarshalHeader(b)
			if diff := cmp.Diff(want, b); diff != "" {
				t.Fatalf("unexpected bytes (-want +got):\n%s", diff)
			}

			var got wire.ATA
			if err := got.Unmarshal(b); err != nil {
				t.Fatalf("failed to unmarshal: %v", err)
			}
			if got.LBA != tt.lba {
				t.Fatalf("LBA = %#x, want %#x", got.LBA, tt.lba)
			}
		})
	}
}

func TestATAMarshalHeader(t *testing.T) {
	// MarshalHeader writes the 12 fixed bytes, clears the reserved ones and
	// leaves whatever the caller put after them alone.
	b := bytes.Repeat([]byte{0xaa}, wire.ATAHeaderLen+4)
	a := wire.ATA{
		Flags:       wire.ATAFlagLBA48 | wire.ATAFlagWrite,
		SectorCount: 1,
		CmdStatus:   wire.ATAWriteExt,
		LBA:         wire.MaxLBA48,
		Data:        []byte{1, 2, 3, 4}, // not written by MarshalHeader
	}
	a.MarshalHeader(b)

	want := []byte{
		0x41, 0x00, 0x01, 0x34,
		0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
		0x00, 0x00,
		0xaa, 0xaa, 0xaa, 0xaa,
	}
	if diff := cmp.Diff(want, b); diff != "" {
		t.Fatalf("unexpected bytes (-want +got):\n%s", diff)
	}
}

func TestATAUnmarshalShort(t *testing.T) {
	for _, n := range []int{0, 1, 4, wire.ATAHeaderLen - 1} {
		var a wire.ATA
		err := a.Unmarshal(ataIdentify[:n])
		if !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Fatalf("Unmarshal of %d bytes: got %v, want io.ErrUnexpectedEOF", n, err)
		}
	}
}

func TestATAMarshalShortBuffer(t *testing.T) {
	a := wire.ATA{CmdStatus: wire.ATAWriteExt, Data: make([]byte, wire.SectorSize)}
	for _, n := range []int{0, wire.ATAHeaderLen - 1, wire.ATAHeaderLen, a.Len() - 1} {
		if err := a.Marshal(make([]byte, n)); !errors.Is(err, io.ErrShortBuffer) {
			t.Fatalf("Marshal into %d bytes: got %v, want io.ErrShortBuffer", n, err)
		}
	}
}

func FuzzATA(f *testing.F) {
	for _, b := range [][]byte{
		ataIdentify,
		ataRead28,
		ataReadExt,
		ataWriteExt,
		ataReadReply,
		ataErrorReply,
		append(append([]byte{}, ataReadReply[:wire.ATAHeaderLen]...), make([]byte, 2*wire.SectorSize)...),
		// Reserved bytes set: they are not kept.
		{0x40, 0x00, 0x01, 0x24, 1, 2, 3, 4, 5, 6, 0xff, 0xff},
		ataIdentify[:wire.ATAHeaderLen-1],
	} {
		f.Add(b)
	}

	f.Fuzz(func(t *testing.T, b []byte) {
		var a1 wire.ATA
		if err := a1.Unmarshal(b); err != nil {
			return
		}
		if a1.LBA > wire.MaxLBA48 {
			t.Fatalf("LBA %#x does not fit 48 bits", a1.LBA)
		}

		out := make([]byte, a1.Len())
		if err := a1.Marshal(out); err != nil {
			t.Fatalf("failed to marshal: %v", err)
		}
		// Everything but the reserved bytes comes back.
		if !bytes.Equal(out[:10], b[:10]) || !bytes.Equal(out[wire.ATAHeaderLen:], b[wire.ATAHeaderLen:]) ||
			out[10] != 0 || out[11] != 0 {
			t.Fatalf("re-encoded body differs:\n in: % x\nout: % x", b, out)
		}

		var a2 wire.ATA
		if err := a2.Unmarshal(out); err != nil {
			t.Fatalf("failed to unmarshal re-encoded body: %v", err)
		}
		if diff := cmp.Diff(a1, a2); diff != "" {
			t.Fatalf("round trip changed the body (-first +second):\n%s", diff)
		}
	})
}

// The data path: encoding a request's headers into a reused buffer and
// decoding a full reply must not allocate.

func ataRequest() (wire.Header, wire.ATA) {
	h := wire.Header{
		Dst:     targetMAC,
		Src:     initiatorMAC,
		Version: wire.Version,
		Shelf:   1,
		Slot:    2,
		Command: wire.CommandATA,
		Tag:     0x80000102,
	}
	a := wire.ATA{
		Flags:       wire.ATAFlagLBA48,
		SectorCount: 2,
		CmdStatus:   wire.ATAReadExt,
		LBA:         0x123456789abc,
	}
	return h, a
}

func ataReply() []byte {
	b := append([]byte{}, hdrATAReply...)
	b = append(b, ataReadExt...)
	b[wire.HeaderLen+3] = 0x50 // status: DRDY|DSC
	return append(b, bytes.Repeat([]byte{0x5a}, 2*wire.SectorSize)...)
}

func marshalATARequest(b []byte, h *wire.Header, a *wire.ATA) error {
	if err := h.Marshal(b); err != nil {
		return err
	}
	a.MarshalHeader(b[wire.HeaderLen:])
	return nil
}

func unmarshalATAReply(b []byte, h *wire.Header, a *wire.ATA) error {
	body, err := h.Unmarshal(b)
	if err != nil {
		return err
	}
	return a.Unmarshal(body)
}

func TestATAHotPathAllocs(t *testing.T) {
	t.Run("marshal request", func(t *testing.T) {
		h, a := ataRequest()
		b := make([]byte, wire.HeaderLen+wire.ATAHeaderLen)
		allocs := testing.AllocsPerRun(1000, func() {
			h.Tag++
			a.LBA += 2
			if err := marshalATARequest(b, &h, &a); err != nil {
				panic(err)
			}
		})
		if allocs != 0 {
			t.Fatalf("encoding an ATA request allocates %v times, want 0", allocs)
		}
		if got := b[wire.HeaderLen+3]; got != wire.ATAReadExt {
			t.Fatalf("unexpected command %#x", got)
		}
	})

	t.Run("unmarshal reply", func(t *testing.T) {
		frame := ataReply()
		var (
			h wire.Header
			a wire.ATA
		)
		allocs := testing.AllocsPerRun(1000, func() {
			if err := unmarshalATAReply(frame, &h, &a); err != nil {
				panic(err)
			}
		})
		if allocs != 0 {
			t.Fatalf("decoding an ATA reply allocates %v times, want 0", allocs)
		}
		if len(a.Data) != 2*wire.SectorSize || a.LBA != 0x123456789abc || !h.Response() {
			t.Fatalf("unexpected reply: %+v, %d bytes of data", h, len(a.Data))
		}
	})
}

func BenchmarkMarshalATARequest(b *testing.B) {
	h, a := ataRequest()
	buf := make([]byte, wire.HeaderLen+wire.ATAHeaderLen)

	b.ReportAllocs()
	b.SetBytes(int64(len(buf)))
	for b.Loop() {
		h.Tag++
		if err := marshalATARequest(buf, &h, &a); err != nil {
			b.Fatalf("failed to marshal: %v", err)
		}
	}
}

func BenchmarkUnmarshalATAReply(b *testing.B) {
	frame := ataReply()
	var (
		h wire.Header
		a wire.ATA
	)

	b.ReportAllocs()
	b.SetBytes(int64(len(frame)))
	for b.Loop() {
		if err := unmarshalATAReply(frame, &h, &a); err != nil {
			b.Fatalf("failed to unmarshal: %v", err)
		}
	}
}
