package wire

import "io"

// MACMaskHeaderLen is the size of the MAC Mask List command's fixed fields.
const MACMaskHeaderLen = 4

// directiveLen is the size of one MAC mask directive.
const directiveLen = 8

// maxDirectives is what the one-byte directive count can say.
const maxDirectives = 255

// MAC mask list sub-commands and directive commands (spec section 3.3).
const (
	MaskRead = 0
	MaskEdit = 1

	DirectiveNone   = 0
	DirectiveAdd    = 1
	DirectiveDelete = 2

	// MAC mask list errors a target reports in MError.
	MaskErrUnspecified = 1
	MaskErrBadCommand  = 2
	MaskErrListFull    = 3
)

// Directive is one entry of a MAC mask list.
type Directive struct {
	Command uint8
	MAC     MAC
}

// MACMask is the body of a MAC Mask List request or reply.
type MACMask struct {
	Command    uint8
	Error      uint8
	Directives []Directive
}

// Len is the encoded size of the body.
func (m *MACMask) Len() int { return MACMaskHeaderLen + directiveLen*len(m.Directives) }

// Marshal writes the body into b, which must hold m.Len() bytes.
func (m *MACMask) Marshal(b []byte) error {
	if len(m.Directives) > maxDirectives {
		return &FormatError{Field: "directive count", Value: len(m.Directives), Reason: "more than 255"}
	}
	if len(b) < m.Len() {
		return io.ErrShortBuffer
	}
	b[0] = 0
	b[1] = m.Command
	b[2] = m.Error
	b[3] = uint8(len(m.Directives))
	for i, d := range m.Directives {
		o := MACMaskHeaderLen + i*directiveLen
		b[o] = 0
		b[o+1] = d.Command
		copy(b[o+2:o+8], d.MAC[:])
	}
	return nil
}

// Unmarshal decodes a MAC Mask List body. It allocates the directive list
// (reusing m.Directives' capacity): this command is not on the data path.
func (m *MACMask) Unmarshal(b []byte) error {
	if len(b) < MACMaskHeaderLen {
		return io.ErrUnexpectedEOF
	}
	n := int(b[3])
	if len(b) < MACMaskHeaderLen+n*directiveLen {
		return io.ErrUnexpectedEOF
	}
	m.Command = b[1]
	m.Error = b[2]
	m.Directives = m.Directives[:0]
	for i := 0; i < n; i++ {
		o := MACMaskHeaderLen + i*directiveLen
		var d Directive
		d.Command = b[o+1]
		copy(d.MAC[:], b[o+2:o+8])
		m.Directives = append(m.Directives, d)
	}
	return nil
}
