package wire_test

import (
	"errors"
	"testing"

	"github.com/goaoe/goaoe/initiator/wire"
)

func TestErrorError(t *testing.T) {
	tests := []struct {
		name string
		e    wire.Error
		want string
	}{
		{name: "unrecognized command", e: 1, want: "AoE error 1: unrecognized command"},
		{name: "bad argument", e: 2, want: "AoE error 2: bad argument"},
		{name: "device unavailable", e: 3, want: "AoE error 3: device unavailable"},
		{name: "config string present", e: 4, want: "AoE error 4: config string present"},
		{name: "unsupported version", e: 5, want: "AoE error 5: unsupported version"},
		{name: "target reserved", e: 6, want: "AoE error 6: target reserved by another initiator"},
		{name: "zero", e: 0, want: "AoE error 0: unknown"},
		{name: "unknown", e: 7, want: "AoE error 7: unknown"},
		{name: "max", e: 255, want: "AoE error 255: unknown"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.e.Error(); got != tt.want {
				t.Fatalf("Error() = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestErrorConstants(t *testing.T) {
	// The values are fixed by spec section 2.4.
	for i, e := range []wire.Error{
		wire.ErrUnrecognizedCommand,
		wire.ErrBadArgument,
		wire.ErrDeviceUnavailable,
		wire.ErrConfigStringPresent,
		wire.ErrUnsupportedVersion,
		wire.ErrTargetReserved,
	} {
		if want := wire.Error(i + 1); e != want {
			t.Fatalf("constant %d is %d", i+1, e)
		}
	}
}

func TestErrorIs(t *testing.T) {
	// A reply's Error can be returned as an error and matched by value.
	var err error = wire.ErrTargetReserved
	if !errors.Is(err, wire.ErrTargetReserved) {
		t.Fatal("errors.Is did not match the same code")
	}
	if errors.Is(err, wire.ErrDeviceUnavailable) {
		t.Fatal("errors.Is matched a different code")
	}
	var e wire.Error
	if !errors.As(err, &e) || e != 6 {
		t.Fatalf("errors.As gave %d", e)
	}
}
