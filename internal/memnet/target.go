package memnet

import (
	"encoding/binary"
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
	disk  []byte
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
	Flushes  int
	Commands map[uint8]int // by ATA command
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
	return &Target{
		cfg:   cfg,
		link:  link,
		disk:  make([]byte, cfg.Sectors*wire.SectorSize),
		stats: TargetStats{Commands: map[uint8]int{}},
	}
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
	t.reply(&wire.Header{Dst: wire.BroadcastMAC, Shelf: t.cfg.Shelf, Slot: t.cfg.Slot, Command: wire.CommandConfig}, t.configBody())
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

// Disk returns a copy of the disk.
func (t *Target) Disk() []byte {
	t.mu.Lock()
	defer t.mu.Unlock()
	return append([]byte(nil), t.disk...)
}

// WriteDisk fills part of the disk directly, as if written earlier.
func (t *Target) WriteDisk(off int, b []byte) {
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
	h.Dst = h.Src
	switch h.Command {
	case wire.CommandConfig:
		t.reply(&h, t.configBody())
	case wire.CommandReserve:
		t.reserve(&h, body)
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
		h.Flags |= wire.FlagError
		h.Error = wire.ErrUnrecognizedCommand
		t.reply(&h, &wire.ATA{})
	}
}

func (t *Target) configBody() *wire.Config {
	return &wire.Config{BufferCount: uint16(t.cfg.BufferCount), Firmware: 0x4019, SectorCount: t.cfg.SectorCount, AoEVersion: wire.Version, String: []byte(t.cfg.ConfigString)}
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
	resp := wire.ATA{Flags: a.Flags, SectorCount: a.SectorCount, LBA: a.LBA, CmdStatus: 0x40}
	abort := func(errReg uint8) { resp.CmdStatus, resp.ErrFeature = 0x41, errReg }
	lba := a.LBA
	ext := a.Flags&wire.ATAFlagLBA48 != 0
	if !ext {
		lba &= 0x0fffffff
	}
	count := int(a.SectorCount)
	inRange := lba+uint64(count) <= t.cfg.Sectors
	t.mu.Lock()
	switch cmd := a.CmdStatus; {
	case cmd == wire.ATAIdentify:
		resp.Data = t.identify()
	case cmd == wire.ATAFlushCache:
		t.stats.Flushes++
	case (cmd == wire.ATAReadExt && ext && !t.cfg.LBA28Only) || (cmd == wire.ATARead28 && !ext):
		if !inRange {
			abort(wire.ATAErrorIDNF)
			break
		}
		t.stats.Reads++
		resp.Data = append([]byte(nil), t.disk[lba*wire.SectorSize:(lba+uint64(count))*wire.SectorSize]...)
	case (cmd == wire.ATAWriteExt && ext && !t.cfg.LBA28Only) || (cmd == wire.ATAWrite28 && !ext):
		switch {
		case t.cfg.ReadOnly:
			abort(wire.ATAErrorABRT)
		case !inRange:
			abort(wire.ATAErrorIDNF)
		case len(a.Data) < count*wire.SectorSize:
			abort(wire.ATAErrorABRT)
		default:
			t.stats.Writes++
			copy(t.disk[lba*wire.SectorSize:], a.Data[:count*wire.SectorSize])
		}
	default:
		// FLUSH CACHE EXT among them: vblade does not know it.
		abort(wire.ATAErrorABRT)
	}
	t.mu.Unlock()
	t.reply(h, &resp)
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
	if t.cfg.LBA28Only {
		put(83, 1<<14|1<<12)
	} else {
		put(83, 1<<14|1<<12|1<<10)
		for i := 0; i < 4; i++ {
			put(100+i, uint16(sectors>>(16*i)))
		}
	}
	return b
}

func (t *Target) reply(h *wire.Header, body wire.Body) {
	h.Src = t.link.MAC()
	h.Version = wire.Version
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
