package wire

import "fmt"

// Error is the AoE error code of a reply (spec section 2.4).
type Error uint8

// The AoE error codes.
const (
	ErrUnrecognizedCommand Error = 1
	ErrBadArgument         Error = 2
	ErrDeviceUnavailable   Error = 3
	ErrConfigStringPresent Error = 4
	ErrUnsupportedVersion  Error = 5
	ErrTargetReserved      Error = 6
)

func (e Error) Error() string {
	switch e {
	case ErrUnrecognizedCommand:
		return "AoE error 1: unrecognized command"
	case ErrBadArgument:
		return "AoE error 2: bad argument"
	case ErrDeviceUnavailable:
		return "AoE error 3: device unavailable"
	case ErrConfigStringPresent:
		return "AoE error 4: config string present"
	case ErrUnsupportedVersion:
		return "AoE error 5: unsupported version"
	case ErrTargetReserved:
		return "AoE error 6: target reserved by another initiator"
	}
	return fmt.Sprintf("AoE error %d: unknown", uint8(e))
}
