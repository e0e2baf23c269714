package wire

import (
	"encoding/binary"
	"io"
)

// ConfigHeaderLen is the size of the Query Config command's fixed fields.
const ConfigHeaderLen = 8

// MaxConfigString is the longest config string the spec allows.
const MaxConfigString = 1024

// ConfigCommand says what a Query Config request asks (spec section 3.2).
type ConfigCommand uint8

// The Query Config sub-commands.
const (
	ConfigRead        ConfigCommand = 0 // read the config string
	ConfigTest        ConfigCommand = 1 // answer only if the string matches exactly
	ConfigTestPrefix  ConfigCommand = 2 // answer only if the string starts with ours
	ConfigSetIfEmpty  ConfigCommand = 3 // set the string if it is empty
	ConfigForceSet    ConfigCommand = 4 // set the string
	lastConfigCommand               = ConfigForceSet
)

// Config is the body of a Query Config request or reply.
type Config struct {
	// BufferCount is how many requests the target queues; more are dropped.
	BufferCount uint16
	Firmware    uint16
	// SectorCount is the most sectors one ATA command may carry; 0 means 2.
	SectorCount uint8
	// AoEVersion is the protocol version the target speaks (replies only).
	AoEVersion uint8
	Command    ConfigCommand
	// String aliases the frame on decode.
	String []byte
}

// MaxSectors is the sector limit the target advertises, with the spec's
// meaning of 0 applied.
func (c *Config) MaxSectors() int {
	if c.SectorCount == 0 {
		return 2
	}
	return int(c.SectorCount)
}

// Len is the encoded size of the body.
func (c *Config) Len() int { return ConfigHeaderLen + len(c.String) }

// Marshal writes the body into b, which must hold c.Len() bytes.
func (c *Config) Marshal(b []byte) error {
	if len(c.String) > MaxConfigString {
		return &FormatError{Field: "config string length", Value: len(c.String), Reason: "more than 1024"}
	}
	if c.Command > lastConfigCommand {
		return &FormatError{Field: "config command", Value: int(c.Command)}
	}
	if len(b) < c.Len() {
		return io.ErrShortBuffer
	}
	binary.BigEndian.PutUint16(b[0:2], c.BufferCount)
	binary.BigEndian.PutUint16(b[2:4], c.Firmware)
	b[4] = c.SectorCount
	b[5] = c.AoEVersion<<4 | uint8(c.Command)&0x0f
	binary.BigEndian.PutUint16(b[6:8], uint16(len(c.String)))
	copy(b[ConfigHeaderLen:], c.String)
	return nil
}

// Unmarshal decodes a Query Config body; String aliases b. Bytes after the
// string (Ethernet padding) are ignored.
func (c *Config) Unmarshal(b []byte) error {
	if len(b) < ConfigHeaderLen {
		return io.ErrUnexpectedEOF
	}
	n := int(binary.BigEndian.Uint16(b[6:8]))
	if n > MaxConfigString {
		return &FormatError{Field: "config string length", Value: n, Reason: "more than 1024"}
	}
	if cmd := ConfigCommand(b[5] & 0x0f); cmd > lastConfigCommand {
		return &FormatError{Field: "config command", Value: int(cmd)}
	}
	if len(b) < ConfigHeaderLen+n {
		return io.ErrUnexpectedEOF
	}
	c.BufferCount = binary.BigEndian.Uint16(b[0:2])
	c.Firmware = binary.BigEndian.Uint16(b[2:4])
	c.SectorCount = b[4]
	c.AoEVersion = b[5] >> 4
	c.Command = ConfigCommand(b[5] & 0x0f)
	c.String = b[ConfigHeaderLen : ConfigHeaderLen+n]
	return nil
}
