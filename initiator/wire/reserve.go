package wire

import "io"

// ReserveHeaderLen is the size of the Reserve/Release command's fixed fields.
const ReserveHeaderLen = 2

// Reserve/Release sub-commands (spec section 3.4).
const (
	ReserveRead     = 0 // report the reservation list
	ReserveSet      = 1 // set it, if empty or already ours
	ReserveForceSet = 2 // set it whoever holds it
)

// Reserve is the body of a Reserve/Release request or reply. An empty MAC
// list with ReserveSet releases the reservation.
type Reserve struct {
	Command uint8
	MACs    []MAC
}

// Len is the encoded size of the body.
func (r *Reserve) Len() int { return ReserveHeaderLen + 6*len(r.MACs) }

// Marshal writes the body into b, which must hold r.Len() bytes.
func (r *Reserve) Marshal(b []byte) error {
	if len(r.MACs) > maxDirectives {
		return &FormatError{Field: "MAC count", Value: len(r.MACs), Reason: "more than 255"}
	}
	if len(b) < r.Len() {
		return io.ErrShortBuffer
	}
	b[0] = r.Command
	b[1] = uint8(len(r.MACs))
	for i, m := range r.MACs {
		copy(b[ReserveHeaderLen+6*i:], m[:])
	}
	return nil
}

// Unmarshal decodes a Reserve/Release body (reusing r.MACs' capacity).
func (r *Reserve) Unmarshal(b []byte) error {
	if len(b) < ReserveHeaderLen {
		return io.ErrUnexpectedEOF
	}
	n := int(b[1])
	if len(b) < ReserveHeaderLen+6*n {
		return io.ErrUnexpectedEOF
	}
	r.Command = b[0]
	r.MACs = r.MACs[:0]
	for i := 0; i < n; i++ {
		var m MAC
		copy(m[:], b[ReserveHeaderLen+6*i:])
		r.MACs = append(r.MACs, m)
	}
	return nil
}
