package wire

// Body is the command-specific part of a frame: *ATA, *Config, *MACMask or
// *Reserve.
type Body interface {
	Len() int
	Marshal(b []byte) error
	Unmarshal(b []byte) error
}

// Frame is a whole AoE frame, for tools and tests; the data path uses Header
// and the bodies directly on its own buffers.
type Frame struct {
	Header
	// Body is nil when the command is not one of the four AoE commands;
	// Raw then holds the bytes after the header.
	Body Body
	Raw  []byte
}

// NewBody returns an empty body for the command, or nil for an unknown one.
func NewBody(c Command) Body {
	switch c {
	case CommandATA:
		return new(ATA)
	case CommandConfig:
		return new(Config)
	case CommandMACMask:
		return new(MACMask)
	case CommandReserve:
		return new(Reserve)
	}
	return nil
}

// MarshalBinary encodes the frame, unpadded.
func (f *Frame) MarshalBinary() ([]byte, error) {
	n := HeaderLen + len(f.Raw)
	if f.Body != nil {
		n = HeaderLen + f.Body.Len()
	}
	b := make([]byte, n)
	if err := f.Header.Marshal(b); err != nil {
		return nil, err
	}
	if f.Body != nil {
		return b, f.Body.Marshal(b[HeaderLen:])
	}
	copy(b[HeaderLen:], f.Raw)
	return b, nil
}

// UnmarshalBinary decodes a frame; the body aliases b.
func (f *Frame) UnmarshalBinary(b []byte) error {
	body, err := f.Header.Unmarshal(b)
	if err != nil {
		return err
	}
	f.Body = NewBody(f.Command)
	f.Raw = nil
	if f.Body == nil {
		f.Raw = body
		return nil
	}
	return f.Body.Unmarshal(body)
}
