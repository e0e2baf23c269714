package wire

import "io"

// ATAHeaderLen is the size of the ATA command's fixed fields.
const ATAHeaderLen = 12

// ATA argument flags (spec section 3.1).
const (
	ATAFlagLBA48  = 0x40
	ATAFlagDevice = 0x10
	ATAFlagAsync  = 0x02
	ATAFlagWrite  = 0x01
)

// ATA commands the initiator issues.
const (
	ATAIdentify      = 0xEC
	ATARead28        = 0x20
	ATAWrite28       = 0x30
	ATAReadExt       = 0x24
	ATAWriteExt      = 0x34
	ATAFlushCache    = 0xE7
	ATAFlushCacheExt = 0xEA
)

// ATA status and error register bits the initiator reads.
const (
	ATAStatusErr = 0x01
	ATAStatusDRQ = 0x08
	ATAStatusDF  = 0x20
	ATAStatusBSY = 0x80
	// ATAStatusBad is what makes a reply a failure (BSY|DF|DRQ|ERR).
	ATAStatusBad = ATAStatusBSY | ATAStatusDF | ATAStatusDRQ | ATAStatusErr

	ATAErrorABRT = 0x04
	ATAErrorIDNF = 0x10
	ATAErrorUNC  = 0x40
)

// MaxLBA48 is the largest address that fits the six LBA bytes.
const MaxLBA48 = 1<<48 - 1

// SectorSize is the ATA sector size AoE moves.
const SectorSize = 512

// ATA is the body of an ATA command or reply (spec section 3).
type ATA struct {
	Flags uint8
	// ErrFeature is the feature register in a request, the error register
	// in a reply.
	ErrFeature  uint8
	SectorCount uint8
	// CmdStatus is the ATA command in a request, the status in a reply.
	CmdStatus uint8
	LBA       uint64
	// Data is the sectors carried; on decode it aliases the frame and runs
	// to its end, so it may hold Ethernet padding past what was asked.
	Data []byte
}

// Len is the encoded size of the body.
func (a *ATA) Len() int { return ATAHeaderLen + len(a.Data) }

// Marshal writes the body into b, which must hold a.Len() bytes.
func (a *ATA) Marshal(b []byte) error {
	if len(b) < a.Len() {
		return io.ErrShortBuffer
	}
	a.MarshalHeader(b)
	copy(b[ATAHeaderLen:], a.Data)
	return nil
}

// MarshalHeader writes only the fixed fields, for callers that put the data
// in place themselves. b must hold ATAHeaderLen bytes.
func (a *ATA) MarshalHeader(b []byte) {
	_ = b[ATAHeaderLen-1]
	b[0] = a.Flags
	b[1] = a.ErrFeature
	b[2] = a.SectorCount
	b[3] = a.CmdStatus
	lba := a.LBA
	for i := 4; i < 10; i++ {
		b[i] = byte(lba)
		lba >>= 8
	}
	b[10], b[11] = 0, 0
}

// Unmarshal decodes an ATA body; Data aliases b.
func (a *ATA) Unmarshal(b []byte) error {
	if len(b) < ATAHeaderLen {
		return io.ErrUnexpectedEOF
	}
	a.Flags = b[0]
	a.ErrFeature = b[1]
	a.SectorCount = b[2]
	a.CmdStatus = b[3]
	var lba uint64
	for i := 9; i >= 4; i-- {
		lba = lba<<8 | uint64(b[i])
	}
	a.LBA = lba
	a.Data = b[ATAHeaderLen:]
	return nil
}
