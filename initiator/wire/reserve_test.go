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

// Hand-encoded Reserve/Release bodies (spec section 3.4): rcmd, nmacs, MACs.
var (
	reserveReadRequest = []byte{
		0x00, // read
		0x00, // no MACs
	}

	reserveSetRequest = []byte{
		0x01, 0x01, // set, 1 MAC
		0x02, 0x00, 0x00, 0x00, 0x00, 0x01,
	}

	reserveReleaseRequest = []byte{
		0x01, 0x00, // set, no MACs
	}

	reserveForceSetRequest = []byte{
		0x02, 0x02, // force set, 2 MACs
		0x02, 0x00, 0x00, 0x00, 0x00, 0x01,
		0x00, 0x25, 0x90, 0xab, 0xcd, 0xef,
	}

	reserveReadReply = []byte{
		0x00, 0x03, // read, 3 MACs
		0x02, 0x00, 0x00, 0x00, 0x00, 0x01,
		0x00, 0x25, 0x90, 0xab, 0xcd, 0xef,
		0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	}
)

func TestReserveMarshalUnmarshal(t *testing.T) {
	maxReserve := wire.Reserve{Command: wire.ReserveForceSet}
	maxb := []byte{0x02, 0xff}
	for i := 0; i < 255; i++ {
		m := wire.MAC{0x02, 0, 0, 0, 0, byte(i)}
		maxReserve.MACs = append(maxReserve.MACs, m)
		maxb = append(maxb, m[:]...)
	}

	tests := []struct {
		name string
		b    []byte
		r    wire.Reserve
	}{
		{
			name: "read request",
			b:    reserveReadRequest,
			r:    wire.Reserve{Command: wire.ReserveRead},
		},
		{
			name: "set request",
			b:    reserveSetRequest,
			r:    wire.Reserve{Command: wire.ReserveSet, MACs: []wire.MAC{initiatorMAC}},
		},
		{
			name: "release request",
			b:    reserveReleaseRequest,
			r:    wire.Reserve{Command: wire.ReserveSet},
		},
		{
			name: "force set request",
			b:    reserveForceSetRequest,
			r:    wire.Reserve{Command: wire.ReserveForceSet, MACs: []wire.MAC{initiatorMAC, targetMAC}},
		},
		{
			name: "read reply",
			b:    reserveReadReply,
			r: wire.Reserve{
				Command: wire.ReserveRead,
				MACs:    []wire.MAC{initiatorMAC, targetMAC, wire.BroadcastMAC},
			},
		},
		{
			name: "255 MACs",
			b:    maxb,
			r:    maxReserve,
		},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var r wire.Reserve
			if err := r.Unmarshal(tt.b); err != nil {
				t.Fatalf("failed to unmarshal: %v", err)
			}
			if diff := cmp.Diff(tt.r, r, cmpopts.EquateEmpty()); diff != "" {
				t.Fatalf("unexpected reserve (-want +got):\n%s", diff)
			}

			if got := tt.r.Len(); got != len(tt.b) {
				t.Fatalf("Len() = %d, want %d", got, len(tt.b))
			}
			b := make([]byte, tt.r.Len())
			if err := tt.r.Marshal(b); err != nil {
				t.Fatalf("failed to marshal: %v", err)
			}
			if diff := cmp.Diff(tt.b, b); diff != "" {
				t.Fatalf("unexpected bytes (-want +got):\n%s", diff)
			}
		})
	}
}

func TestReserveUnmarshalPadded(t *testing.T) {
	// 24+2+6 = 32 bytes, padded to 60 with what would read as more MACs.
	b := pad(reserveSetRequest, wire.MinFrameLen-wire.HeaderLen-len(reserveSetRequest), 0x77)

	var r wire.Reserve
	if err := r.Unmarshal(b); err != nil {
		t.Fatalf("failed to unmarshal: %v", err)
	}
	want := wire.Reserve{Command: wire.ReserveSet, MACs: []wire.MAC{initiatorMAC}}
	if diff := cmp.Diff(want, r); diff != "" {
		t.Fatalf("unexpected reserve (-want +got):\n%s", diff)
	}
}

func TestReserveUnmarshalReuse(t *testing.T) {
	var r wire.Reserve
	if err := r.Unmarshal(reserveReadReply); err != nil {
		t.Fatalf("failed to unmarshal: %v", err)
	}
	if err := r.Unmarshal(reserveSetRequest); err != nil {
		t.Fatalf("failed to unmarshal: %v", err)
	}
	want := wire.Reserve{Command: wire.ReserveSet, MACs: []wire.MAC{initiatorMAC}}
	if diff := cmp.Diff(want, r); diff != "" {
		t.Fatalf("unexpected reserve (-want +got):\n%s", diff)
	}
}

func TestReserveUnmarshalShort(t *testing.T) {
	tests := []struct {
		name string
		b    []byte
	}{
		{name: "empty", b: nil},
		{name: "one byte", b: reserveSetRequest[:1]},
		{name: "MACs missing", b: reserveForceSetRequest[:wire.ReserveHeaderLen]},
		{name: "last MAC cut short", b: reserveForceSetRequest[:len(reserveForceSetRequest)-1]},
		{name: "255 announced, none sent", b: []byte{0x00, 0xff}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var r wire.Reserve
			checkErr(t, r.Unmarshal(tt.b), true, "", 0)
		})
	}
}

func TestReserveMarshalErrors(t *testing.T) {
	t.Run("short buffer", func(t *testing.T) {
		r := wire.Reserve{Command: wire.ReserveForceSet, MACs: []wire.MAC{initiatorMAC, targetMAC}}
		for _, n := range []int{0, 1, wire.ReserveHeaderLen, r.Len() - 1} {
			if err := r.Marshal(make([]byte, n)); !errors.Is(err, io.ErrShortBuffer) {
				t.Fatalf("Marshal into %d bytes: got %v, want io.ErrShortBuffer", n, err)
			}
		}
	})

	t.Run("256 MACs", func(t *testing.T) {
		r := wire.Reserve{Command: wire.ReserveSet, MACs: make([]wire.MAC, 256)}
		checkErr(t, r.Marshal(make([]byte, r.Len())), false, "MAC count", 256)
	})
}

func FuzzReserve(f *testing.F) {
	for _, b := range [][]byte{
		reserveReadRequest,
		reserveSetRequest,
		reserveReleaseRequest,
		reserveForceSetRequest,
		reserveReadReply,
		pad(reserveSetRequest, wire.MinFrameLen-wire.HeaderLen-len(reserveSetRequest), 0x77),
		{0x00, 0xff},
		reserveForceSetRequest[:len(reserveForceSetRequest)-1],
	} {
		f.Add(b)
	}

	f.Fuzz(func(t *testing.T, b []byte) {
		var r1 wire.Reserve
		if err := r1.Unmarshal(b); err != nil {
			return
		}
		if r1.Len() > len(b) {
			t.Fatalf("decoded %d MACs from %d bytes", len(r1.MACs), len(b))
		}

		out := make([]byte, r1.Len())
		if err := r1.Marshal(out); err != nil {
			t.Fatalf("failed to marshal %+v: %v", r1, err)
		}
		// There are no reserved bytes, so all but the padding comes back.
		if !bytes.Equal(out, b[:r1.Len()]) {
			t.Fatalf("re-encoded body differs:\n in: % x\nout: % x", b[:r1.Len()], out)
		}

		var r2 wire.Reserve
		if err := r2.Unmarshal(out); err != nil {
			t.Fatalf("failed to unmarshal re-encoded body: %v", err)
		}
		if diff := cmp.Diff(r1, r2); diff != "" {
			t.Fatalf("round trip changed the body (-first +second):\n%s", diff)
		}
	})
}
