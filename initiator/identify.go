package initiator

import (
	"encoding/binary"
	"strings"

	"github.com/goaoe/goaoe/initiator/wire"
)

// Identity is what a target's ATA IDENTIFY DEVICE answer says about it.
type Identity struct {
	// Sectors is the capacity in 512-byte sectors.
	Sectors uint64
	// LBA48 says the target takes the 48-bit READ/WRITE EXT commands.
	LBA48    bool
	Model    string
	Serial   string
	Firmware string
	// FlushCommand is the ATA flush the target claims (FLUSH CACHE EXT or
	// FLUSH CACHE), 0 if it claims none.
	FlushCommand uint8
}

// Size is the capacity in bytes.
func (id *Identity) Size() int64 { return int64(id.Sectors) * wire.SectorSize }

// IDENTIFY DEVICE words (ATA/ATAPI-7 section 6.17).
const (
	wordSerial        = 10 // 10-19
	wordFirmware      = 23 // 23-26
	wordModel         = 27 // 27-46
	wordLBA28Capacity = 60 // 60-61
	wordCommandSet2   = 83
	wordCommandSet2On = 86
	wordLBA48Capacity = 100 // 100-103

	bitLBA48         = 1 << 10
	bitFlushCache    = 1 << 12
	bitFlushCacheExt = 1 << 13
)

// parseIdentity decodes the 512-byte IDENTIFY DEVICE data.
func parseIdentity(b []byte) *Identity {
	word := func(i int) uint16 { return binary.LittleEndian.Uint16(b[2*i:]) }
	cmds := word(wordCommandSet2) | word(wordCommandSet2On)
	id := &Identity{
		Serial:   ataString(b, wordSerial, 10),
		Firmware: ataString(b, wordFirmware, 4),
		Model:    ataString(b, wordModel, 20),
		LBA48:    cmds&bitLBA48 != 0,
	}
	if id.LBA48 {
		for i := 3; i >= 0; i-- {
			id.Sectors = id.Sectors<<16 | uint64(word(wordLBA48Capacity+i))
		}
	} else {
		id.Sectors = uint64(word(wordLBA28Capacity+1))<<16 | uint64(word(wordLBA28Capacity))
	}
	switch {
	case id.LBA48 && cmds&bitFlushCacheExt != 0:
		id.FlushCommand = wire.ATAFlushCacheExt
	case cmds&bitFlushCache != 0:
		id.FlushCommand = wire.ATAFlushCache
	}
	return id
}

// ataString reads an IDENTIFY string: ASCII with the two bytes of every word
// swapped, padded with spaces.
func ataString(b []byte, word, words int) string {
	s := make([]byte, 0, 2*words)
	for i := word; i < word+words; i++ {
		s = append(s, b[2*i+1], b[2*i])
	}
	return strings.TrimSpace(strings.TrimRight(string(s), "\x00"))
}
