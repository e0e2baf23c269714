//go:build !linux

package rawport

import (
	"errors"
	"runtime"

	"github.com/goaoe/goaoe/initiator/wire"
)

// errUnsupported is the cause on systems without AF_PACKET.
var errUnsupported = errors.New("raw AoE ports need Linux AF_PACKET sockets, not available on " + runtime.GOOS)

// Port is one Ethernet interface opened for AoE. On this system Open always
// fails.
type Port struct{ name string }

// Open fails: raw AoE ports are Linux-only.
func Open(name string) (*Port, error) {
	return nil, &OpError{Op: "open port", Iface: name, Err: errUnsupported}
}

// Interfaces fails: raw AoE ports are Linux-only.
func Interfaces() ([]string, error) {
	return nil, &OpError{Op: "list interfaces", Err: errUnsupported}
}

func (p *Port) Name() string  { return p.name }
func (p *Port) MAC() wire.MAC { return wire.MAC{} }
func (p *Port) MTU() int      { return 0 }
func (p *Port) Send(frames [][]byte) error {
	return &OpError{Op: "send", Iface: p.name, Err: errUnsupported}
}
func (p *Port) Close() error { return nil }
func (p *Port) Stats() Stats { return Stats{} }
func (p *Port) Receive(bufs [][]byte, sizes []int) (int, error) {
	return 0, &OpError{Op: "receive", Iface: p.name, Err: errUnsupported}
}

// FilterReplies needs Linux.
func (p *Port) FilterReplies() error { return errUnsupported }

// FilterTarget needs Linux.
func (p *Port) FilterTarget(shelf uint16, slot uint8) error { return errUnsupported }
