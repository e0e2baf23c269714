package memnet

import (
	"strconv"

	"github.com/goaoe/goaoe/initiator/wire"
)

// Quirks make the target behave like AoE targets other than vblade (see each field).
//
// Where two quirks disagree about a flush, AbortFlush and ClaimNoFlush win
// over EchoFlushStatus, and ClaimNoFlush over FlushExt.
type Quirks struct {
	// Control is how the target treats AoE commands other than ATA and
	// Query Config: Reserve/Release (command 3) and MAC mask list (command 2).
	Control ControlQuirk
	// EchoFlushStatus completes FLUSH CACHE and FLUSH CACHE EXT with no AoE
	// error but with the ATA command byte (0xE7/0xEA) copied into the status
	// field, as some targets do (they do not fill in the status register).
	EchoFlushStatus bool
	// AbortFlush aborts (ATA status 0x41, error ABRT 0x04) every flush,
	// although IDENTIFY claims FLUSH CACHE.
	AbortFlush bool
	// ClaimNoFlush: IDENTIFY word 83 claims neither FLUSH CACHE (bit 12)
	// nor FLUSH CACHE EXT (bit 13); flushes are aborted.
	ClaimNoFlush bool
	// FlushExt: IDENTIFY claims FLUSH CACHE EXT (bit 13) too and the target
	// serves 0xEA (vblade does not: it aborts 0xEA).
	FlushExt bool
	// ZeroBufferCount advertises buffer count 0 in Query Config (the target
	// still queues QueueLen requests).
	ZeroBufferCount bool
	// FirmwareZero advertises firmware version 0 instead of 0x4019.
	FirmwareZero bool
	// AnnounceVersion0 sends the start-up (unsolicited) config answer with
	// AoE version 0 in the header, as vblade 25 does.
	AnnounceVersion0 bool
}

// ControlQuirk is how a target answers Reserve/Release and MAC mask list.
type ControlQuirk int

const (
	ControlServe        ControlQuirk = iota // serves Reserve/Release as vblade does (today's behaviour); MAC mask list answered with AoE error 1 as today
	ControlSilent                           // no answer at all to either
	ControlUnrecognized                     // AoE error 1 (unrecognized command) to both
)

// String names the quirk as Go code does.
func (c ControlQuirk) String() string {
	switch c {
	case ControlServe:
		return "ControlServe"
	case ControlSilent:
		return "ControlSilent"
	case ControlUnrecognized:
		return "ControlUnrecognized"
	}
	return "ControlQuirk(" + strconv.Itoa(int(c)) + ")"
}

// word83 is IDENTIFY word 83 (command sets supported): bit 14 always (the
// word is valid), 12 FLUSH CACHE, 13 FLUSH CACHE EXT, 10 LBA48. vblade's
// is 0x5400.
func (t *Target) word83() uint16 {
	w := uint16(1 << 14)
	q := t.cfg.Quirks
	if !q.ClaimNoFlush {
		w |= 1 << 12
		if q.FlushExt {
			w |= 1 << 13
		}
	}
	if !t.cfg.LBA28Only {
		w |= 1 << 10
	}
	return w
}

// syncer is a Disk that can be made durable (an *os.File).
type syncer interface{ Sync() error }

// flush serves FLUSH CACHE (0xE7) or FLUSH CACHE EXT (0xEA) into resp,
// whose status is already the success one.
func (t *Target) flush(cmd uint8, resp *wire.ATA) {
	q := t.cfg.Quirks
	switch {
	case q.AbortFlush || q.ClaimNoFlush:
		resp.CmdStatus, resp.ErrFeature = statusAbort, wire.ATAErrorABRT
	case q.EchoFlushStatus:
		// The target never fills in the status register: what the
		// request had there, the command, comes back.
		resp.CmdStatus = cmd
		t.mu.Lock()
		t.stats.EchoedFlushes++
		t.mu.Unlock()
	case cmd == wire.ATAFlushCacheExt && !q.FlushExt:
		// vblade does not know FLUSH CACHE EXT.
		resp.CmdStatus, resp.ErrFeature = statusAbort, wire.ATAErrorABRT
	default:
		if s, ok := t.cfg.Disk.(syncer); ok {
			if err := s.Sync(); err != nil {
				resp.CmdStatus, resp.ErrFeature = statusDiskError, wire.ATAErrorABRT
				return
			}
		}
		t.mu.Lock()
		t.stats.Flushes++
		t.mu.Unlock()
	}
}
