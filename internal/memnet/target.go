package memnet

import (
	"encoding/binary"
	"io"
	"slices"
	"sync"
	"time"

	"github.com/goaoe/goaoe/initiator/wire"
)

// Fault lets a test decide the fate of one ATA request before the target
// serves it: drop it, or answer with an AoE error or an ATA error.
type Fault func(h *wire.Header, a *wire.ATA) FaultAction

// FaultAction is a Fault's verdict; the zero value serves the request.
type FaultAction struct {
	Drop bool
	// Delay serves the request only this much later, as if this copy of
	// the frame had been held up in the network: the initiator will have
	// retransmitted it meanwhile.
	Delay     time.Duration
	AoEError  wire.Error
	ATAStatus uint8 // with ATAError: answer with this status and error
	ATAError  uint8
}

// TargetConfig describes a simulated target.
type TargetConfig struct {
	Shelf uint16
	Slot  uint8
	// Sectors is the capacity.
	Sectors uint64
	// BufferCount is what the target advertises (16 if zero).
	BufferCount int
	// QueueLen is how many requests it really queues; more are dropped.
	// Zero means four times BufferCount, as vblade's socket buffer holds
	// about 60 small requests while it advertises 16; set it to
	// BufferCount for a target that holds no more than it promises.
	QueueLen int
	// SectorCount is what Query Config advertises (0 means 2).
	SectorCount uint8
	// LBA28Only makes an old target without 48-bit commands.
	LBA28Only    bool
	ReadOnly     bool
	ConfigString string
	// ServiceTime is how long each request takes.
	ServiceTime time.Duration
	// Quirks make it behave like a target other than vblade; the zero
	// value is vblade.
	Quirks Quirks
	// Disk is the backing store; nil means an in-memory disk of Sectors
	// sectors. Sectors is the capacity either way.
	Disk Disk
}

// Disk is a target's backing store; nil means an in-memory disk of Sectors sectors.
//
// A read or write that fails answers the ATA command with status 0x51
// (DRDY|DSC|ERR) and error UNC (read) or ABRT (write). A Disk that also has
// a Sync() error method (an *os.File) is synced by every flush the target
// carries out; a failed Sync aborts the flush the same way as a failed
// write. The target may call it from more than one goroutine at once (a
// Fault's Delay serves a request later, beside the others).
type Disk interface {
	io.ReaderAt
	io.WriterAt
}

// Target is a simulated AoE target on a Port.
type Target struct {
	cfg   TargetConfig
	port  *Port // nil when the target runs on another Link
	link  Link
	queue chan []byte
	stop  chan struct{}
	wg    sync.WaitGroup

	mu    sync.Mutex // guards everything below
	disk  []byte     // the in-memory disk, nil when cfg.Disk is set
	fault Fault
	// reserved are the only MACs served when not empty.
	reserved []wire.MAC
	stats    TargetStats
	running  bool
}

// TargetStats count what the target saw.
type TargetStats struct {
	Requests int // ATA requests received
	Dropped  int // requests dropped because the queue was full
	Reads    int
	Writes   int
	// Flushes counts the flushes carried out: FLUSH CACHE unless aborted,
	// FLUSH CACHE EXT only with Quirks.FlushExt.
	Flushes int
	// EchoedFlushes counts the flushes answered with the command byte as
	// status (Quirks.EchoFlushStatus), not carried out.
	EchoedFlushes int
	// ControlDropped counts the Reserve/Release and MAC mask list
	// commands left unanswered (ControlSilent).
	ControlDropped int
	Commands       map[uint8]int // by ATA command
}

// Link is what a target needs of its interface: a memnet Port, or a real
// raw socket (the initiator.Port interface) for tests over real Ethernet.
type Link interface {
	MAC() wire.MAC
	Send(frames [][]byte) error
	Receive(bufs [][]byte, sizes []int) (int, error)
	Close() error
}

// NewTarget attaches a target to the network. Call Start to serve.
func NewTarget(n *Network, name string, mac wire.MAC, mtu int, cfg TargetConfig) *Target {
	t := NewTargetOn(n.NewPort(name, mac, mtu), cfg)
	t.port = t.link.(*Port)
	return t
}

// NewTargetOn serves a target on any link. Only a target on a memnet Port
// can be started again after Stop.
func NewTargetOn(link Link, cfg TargetConfig) *Target {
	if cfg.BufferCount == 0 {
		cfg.BufferCount = 16
	}
	if cfg.QueueLen == 0 {
		cfg.QueueLen = 4 * cfg.BufferCount
	}
	t := &Target{
		cfg:   cfg,
		link:  link,
		stats: TargetStats{Commands: map[uint8]int{}},
	}
	if cfg.Disk == nil {
		t.disk = make([]byte, cfg.Sectors*wire.SectorSize)
	}
	return t
}

// Send puts frames on the target's link, for tests that play someone else
// next to the target.
func (t *Target) Send(frames [][]byte) error { return t.link.Send(frames) }

// Port is the target's interface, to plug in and out.
func (t *Target) Port() *Port { return t.port }

// Start serves requests and announces the target with an unsolicited
// config answer, as vblade does when it starts.
func (t *Target) Start() {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.running {
		return
	}
	t.running = true
	t.queue = make(chan []byte, t.cfg.QueueLen)
	t.stop = make(chan struct{})
	if p := t.port; p != nil {
		p.closed = make(chan struct{})
		p.once = sync.Once{}
		// A restarted target has a fresh socket: what queued while it
		// was down is gone.
		for len(p.inbox) > 0 {
			<-p.inbox
		}
	}
	t.wg.Add(2)
	go t.receive()
	go t.serve()
	version := uint8(wire.Version)
	if t.cfg.Quirks.AnnounceVersion0 {
		version = 0
	}
	t.send(&wire.Header{Dst: wire.BroadcastMAC, Shelf: t.cfg.Shelf, Slot: t.cfg.Slot, Command: wire.CommandConfig}, t.configBody(), version)
}

// Stop kills the target: it answers nothing until Start. The disk stays.
func (t *Target) Stop() {
	t.mu.Lock()
	if !t.running {
		t.mu.Unlock()
		return
	}
	t.running = false
	close(t.stop)
	t.link.Close()
	t.mu.Unlock()
	t.wg.Wait()
}

// SetFault installs a fault hook (nil removes it).
func (t *Target) SetFault(f Fault) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.fault = f
}

// Disk returns a copy of the disk. With a TargetConfig.Disk it reads all
// Sectors of it (what cannot be read stays zero).
func (t *Target) Disk() []byte {
	if d := t.cfg.Disk; d != nil {
		b := make([]byte, t.cfg.Sectors*wire.SectorSize)
		_, _ = d.ReadAt(b, 0)
		return b
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	return append([]byte(nil), t.disk...)
}

// WriteDisk fills part of the disk directly, as if written earlier. With a
// TargetConfig.Disk it writes there, and panics if that fails.
func (t *Target) WriteDisk(off int, b []byte) {
	if d := t.cfg.Disk; d != nil {
		if _, err := d.WriteAt(b, int64(off)); err != nil {
			panic("memnet: WriteDisk: " + err.Error())
		}
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	copy(t.disk[off:], b)
}

// Stats returns a snapshot of the counters.
func (t *Target) Stats() TargetStats {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := t.stats
	s.Commands = make(map[uint8]int, len(t.stats.Commands))
	for k, v := range t.stats.Commands {
		s.Commands[k] = v
	}
	return s
}

// receive takes frames off the port into the bounded queue.
func (t *Target) receive() {
	defer t.wg.Done()
	bufs, sizes := [][]byte{make([]byte, 1<<17)}, []int{0}
	for {
		if _, err := t.link.Receive(bufs, sizes); err != nil {
			return
		}
		f := append([]byte(nil), bufs[0][:sizes[0]]...)
		select {
		case t.queue <- f:
		default:
			t.mu.Lock()
			t.stats.Dropped++
			t.mu.Unlock()
		}
	}
}

// serve handles queued requests one at a time, like vblade.
func (t *Target) serve() {
	defer t.wg.Done()
	for {
		select {
		case f := <-t.queue:
			t.handle(f)
		case <-t.stop:
			return
		}
	}
}

func (t *Target) handle(frame []byte) {
	var h wire.Header
	body, err := h.Unmarshal(frame)
	if err != nil || h.Response() {
		return
	}
	if (h.Shelf != t.cfg.Shelf && h.Shelf != wire.BroadcastShelf) || (h.Slot != t.cfg.Slot && h.Slot != wire.BroadcastSlot) {
		return
	}
	// A broadcast query is answered from the target's own address.
	h.Dst, h.Shelf, h.Slot = h.Src, t.cfg.Shelf, t.cfg.Slot
	switch h.Command {
	case wire.CommandConfig:
		t.reply(&h, t.configBody())
	case wire.CommandReserve, wire.CommandMACMask:
		switch t.cfg.Quirks.Control {
		case ControlSilent:
			t.mu.Lock()
			t.stats.ControlDropped++
			t.mu.Unlock()
		case ControlServe:
			if h.Command == wire.CommandReserve {
				t.reserve(&h, body)
				return
			}
			t.unrecognized(&h)
		default:
			t.unrecognized(&h)
		}
	case wire.CommandATA:
		var a wire.ATA
		if a.Unmarshal(body) != nil {
			return
		}
		if !t.allowed(h.Dst) {
			h.Flags |= wire.FlagError
			h.Error = wire.ErrTargetReserved
			t.reply(&h, &wire.ATA{Flags: a.Flags, SectorCount: a.SectorCount, CmdStatus: a.CmdStatus, LBA: a.LBA})
			return
		}
		if t.cfg.ServiceTime > 0 {
			time.Sleep(t.cfg.ServiceTime)
		}
		t.ata(&h, &a)
	default:
		t.unrecognized(&h)
	}
}

// unrecognized answers AoE error 1, as vblade does to a command it does
// not know.
func (t *Target) unrecognized(h *wire.Header) {
	h.Flags |= wire.FlagError
	h.Error = wire.ErrUnrecognizedCommand
	t.reply(h, &wire.ATA{})
}

func (t *Target) configBody() *wire.Config {
	c := &wire.Config{BufferCount: uint16(t.cfg.BufferCount), Firmware: 0x4019, SectorCount: t.cfg.SectorCount, AoEVersion: wire.Version, String: []byte(t.cfg.ConfigString)}
	if t.cfg.Quirks.ZeroBufferCount {
		c.BufferCount = 0
	}
	if t.cfg.Quirks.FirmwareZero {
		c.Firmware = 0
	}
	return c
}

// ata serves one ATA command.
func (t *Target) ata(h *wire.Header, a *wire.ATA) {
	t.mu.Lock()
	t.stats.Requests++
	t.stats.Commands[a.CmdStatus]++
	fault := t.fault
	t.mu.Unlock()
	if fault != nil {
		act := fault(h, a)
		switch {
		case act.Drop:
			return
		case act.Delay > 0:
			time.AfterFunc(act.Delay, func() { t.serveATA(h, a) })
			return
		case act.AoEError != 0:
			h.Flags |= wire.FlagError
			h.Error = act.AoEError
			t.reply(h, &wire.ATA{Flags: a.Flags, SectorCount: a.SectorCount, CmdStatus: a.CmdStatus, LBA: a.LBA})
			return
		case act.ATAStatus != 0:
			t.reply(h, &wire.ATA{Flags: a.Flags, SectorCount: a.SectorCount, CmdStatus: act.ATAStatus, ErrFeature: act.ATAError, LBA: a.LBA})
			return
		}
	}
	t.serveATA(h, a)
}

// serveATA carries out an ATA command and answers it.
func (t *Target) serveATA(h *wire.Header, a *wire.ATA) {
	resp := wire.ATA{Flags: a.Flags, SectorCount: a.SectorCount, LBA: a.LBA, CmdStatus: statusOK}
	abort := func(errReg uint8) { resp.CmdStatus, resp.ErrFeature = statusAbort, errReg }
	lba := a.LBA
	ext := a.Flags&wire.ATAFlagLBA48 != 0
	if !ext {
		lba &= 0x0fffffff
	}
	count := int(a.SectorCount)
	inRange := lba+uint64(count) <= t.cfg.Sectors
	switch cmd := a.CmdStatus; {
	case cmd == wire.ATAIdentify:
		resp.Data = t.identify()
	case cmd == wire.ATAFlushCache || cmd == wire.ATAFlushCacheExt:
		t.flush(cmd, &resp)
	case (cmd == wire.ATAReadExt && ext && !t.cfg.LBA28Only) || (cmd == wire.ATARead28 && !ext):
		if !inRange {
			abort(wire.ATAErrorIDNF)
			break
		}
		t.read(lba, count, &resp)
	case (cmd == wire.ATAWriteExt && ext && !t.cfg.LBA28Only) || (cmd == wire.ATAWrite28 && !ext):
		switch {
		case t.cfg.ReadOnly:
			abort(wire.ATAErrorABRT)
		case !inRange:
			abort(wire.ATAErrorIDNF)
		case len(a.Data) < count*wire.SectorSize:
			abort(wire.ATAErrorABRT)
		default:
			t.write(lba, a.Data[:count*wire.SectorSize], &resp)
		}
	default:
		// FLUSH CACHE EXT among them: vblade does not know it.
		abort(wire.ATAErrorABRT)
	}
	t.reply(h, &resp)
}

// ATA status values the target answers with.
const (
	statusOK        = 0x40 // DRDY
	statusAbort     = 0x41 // DRDY|ERR, vblade's for a command it refuses
	statusDiskError = 0x51 // DRDY|DSC|ERR, a failed read or write of the Disk
)

// read reads count sectors at lba into resp.
func (t *Target) read(lba uint64, count int, resp *wire.ATA) {
	off, n := lba*wire.SectorSize, count*wire.SectorSize
	if t.cfg.Disk == nil {
		t.mu.Lock()
		t.stats.Reads++
		resp.Data = append([]byte(nil), t.disk[off:off+uint64(n)]...)
		t.mu.Unlock()
		return
	}
	// Not under t.mu: the Disk may be slow, and Stats must not wait for it.
	b := make([]byte, n)
	if got, err := t.cfg.Disk.ReadAt(b, int64(off)); got < n || (err != nil && err != io.EOF) {
		resp.CmdStatus, resp.ErrFeature = statusDiskError, wire.ATAErrorUNC
		return
	}
	t.mu.Lock()
	t.stats.Reads++
	t.mu.Unlock()
	resp.Data = b
}

// write writes data at lba, answering in resp.
func (t *Target) write(lba uint64, data []byte, resp *wire.ATA) {
	off := lba * wire.SectorSize
	if t.cfg.Disk == nil {
		t.mu.Lock()
		t.stats.Writes++
		copy(t.disk[off:], data)
		t.mu.Unlock()
		return
	}
	if _, err := t.cfg.Disk.WriteAt(data, int64(off)); err != nil {
		resp.CmdStatus, resp.ErrFeature = statusDiskError, wire.ATAErrorABRT
		return
	}
	t.mu.Lock()
	t.stats.Writes++
	t.mu.Unlock()
}

// identify builds IDENTIFY DEVICE data the way vblade does.
func (t *Target) identify() []byte {
	b := make([]byte, wire.SectorSize)
	put := func(w int, v uint16) { binary.LittleEndian.PutUint16(b[2*w:], v) }
	putString := func(w, words int, s string) {
		for i := 0; i < 2*words; i++ {
			c := byte(' ')
			if i < len(s) {
				c = s[i]
			}
			b[2*w+i^1] = c
		}
	}
	putString(10, 10, "MEMNET0001")
	putString(23, 4, "V25")
	putString(27, 20, "memnet simulated target")
	sectors := t.cfg.Sectors
	lba28 := min(sectors, 0x0fffffff)
	put(60, uint16(lba28))
	put(61, uint16(lba28>>16))
	put(83, t.word83())
	if !t.cfg.LBA28Only {
		for i := 0; i < 4; i++ {
			put(100+i, uint16(sectors>>(16*i)))
		}
	}
	return b
}

func (t *Target) reply(h *wire.Header, body wire.Body) { t.send(h, body, wire.Version) }

// send answers with the given AoE version in the header.
func (t *Target) send(h *wire.Header, body wire.Body, version uint8) {
	h.Src = t.link.MAC()
	h.Version = version
	h.Flags |= wire.FlagResponse
	b := make([]byte, wire.HeaderLen+body.Len())
	_ = h.Marshal(b)
	_ = body.Marshal(b[wire.HeaderLen:])
	_ = t.link.Send([][]byte{b})
}

// allowed reports whether the reservation lets mac in.
func (t *Target) allowed(mac wire.MAC) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.reserved) == 0 || slices.Contains(t.reserved, mac)
}

// reserve serves Reserve/Release as vblade does: read answers the list;
// set replaces it if it is empty or names the asker; force-set always.
func (t *Target) reserve(h *wire.Header, body []byte) {
	var r wire.Reserve
	if r.Unmarshal(body) != nil {
		return
	}
	from := h.Dst // the asker; handle already swapped the addresses
	t.mu.Lock()
	switch {
	case r.Command == wire.ReserveRead:
	case r.Command == wire.ReserveForceSet || len(t.reserved) == 0 || slices.Contains(t.reserved, from):
		t.reserved = append([]wire.MAC(nil), r.MACs...)
	default:
		t.mu.Unlock()
		h.Flags |= wire.FlagError
		h.Error = wire.ErrTargetReserved
		t.reply(h, &wire.Reserve{Command: r.Command})
		return
	}
	resp := wire.Reserve{Command: r.Command, MACs: append([]wire.MAC(nil), t.reserved...)}
	t.mu.Unlock()
	t.reply(h, &resp)
}
