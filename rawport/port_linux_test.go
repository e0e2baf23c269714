package rawport_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/goaoe/goaoe/initiator/wire"
	"github.com/goaoe/goaoe/internal/testbed"
	"github.com/goaoe/goaoe/rawport"
)

var broadcast = wire.MAC{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}

// queryConfig builds a broadcast AoE Query Config request by hand, so these
// tests do not depend on package wire's encoder: Ethernet header, AoE
// header (version 1, no flags, shelf 0xFFFF, slot 0xFF, command 1), and an
// 8-byte config body of zeros (buffer count, firmware, sector count, ccmd 0
// read, no string).
func queryConfig(src wire.MAC, tag uint32) []byte {
	b := make([]byte, 14+10+8)
	copy(b[0:6], broadcast[:])
	copy(b[6:12], src[:])
	binary.BigEndian.PutUint16(b[12:14], rawport.EtherType)
	b[14] = 0x10                                 // version 1, no flags
	b[15] = 0                                    // error
	binary.BigEndian.PutUint16(b[16:18], 0xFFFF) // shelf: any
	b[18] = 0xFF                                 // slot: any
	b[19] = 1                                    // Query Config
	binary.BigEndian.PutUint32(b[20:24], tag)
	return b
}

// frame builds an AoE frame of n bytes from src to dst whose tag is tag;
// the engine would reject it, the port must not care.
func frame(dst, src wire.MAC, tag uint32, n int) []byte {
	b := make([]byte, n)
	copy(b[0:6], dst[:])
	copy(b[6:12], src[:])
	binary.BigEndian.PutUint16(b[12:14], rawport.EtherType)
	b[14] = 0x10
	binary.BigEndian.PutUint32(b[20:24], tag)
	return b
}

func tagOf(f []byte) uint32 { return binary.BigEndian.Uint32(f[20:24]) }

// configReply is the part of a Query Config response these tests check.
type configReply struct {
	src                wire.MAC
	verFlags, errCode  byte
	shelf              uint16
	slot, cmd          byte
	tag                uint32
	bufCount, firmware uint16
	sectors, verCmd    byte
}

func parseConfig(t *testing.T, f []byte) configReply {
	t.Helper()
	if len(f) < 32 {
		t.Fatalf("config reply of %d bytes, want at least 32: % x", len(f), f)
	}
	var r configReply
	copy(r.src[:], f[6:12])
	r.verFlags, r.errCode = f[14], f[15]
	r.shelf = binary.BigEndian.Uint16(f[16:18])
	r.slot, r.cmd = f[18], f[19]
	r.tag = tagOf(f)
	r.bufCount = binary.BigEndian.Uint16(f[24:26])
	r.firmware = binary.BigEndian.Uint16(f[26:28])
	r.sectors, r.verCmd = f[28], f[29]
	return r
}

// reader copies every frame a port receives into a channel until the port
// is closed.
type reader struct {
	frames chan []byte
	err    chan error
}

func startReader(p *rawport.Port, bufSize int) *reader {
	r := &reader{frames: make(chan []byte, 4096), err: make(chan error, 1)}
	go func() {
		// As many buffers as the engine gives: a queued burst comes
		// back in full batches.
		bufs := make([][]byte, rawport.MaxBatch)
		for i := range bufs {
			bufs[i] = make([]byte, bufSize)
		}
		sizes := make([]int, len(bufs))
		for {
			n, err := p.Receive(bufs, sizes)
			if err != nil {
				r.err <- err
				return
			}
			for i := range n {
				r.frames <- bytes.Clone(bufs[i][:sizes[i]])
			}
		}
	}()
	return r
}

// next returns the next frame, failing the test after timeout.
func (r *reader) next(t *testing.T, timeout time.Duration, what string) []byte {
	t.Helper()
	select {
	case f := <-r.frames:
		return f
	case err := <-r.err:
		t.Fatalf("waiting for %s: Receive: %v", what, err)
	case <-time.After(timeout):
		t.Fatalf("waiting for %s: nothing within %v", what, timeout)
	}
	return nil
}

// nextWithTag skips frames until one carries tag.
func (r *reader) nextWithTag(t *testing.T, tag uint32, timeout time.Duration) []byte {
	t.Helper()
	return r.nextMatching(t, timeout, fmt.Sprintf("a frame with tag %#x", tag),
		func(got uint32) bool { return got == tag })
}

// nextOurs returns the next frame this test sent (its tag starts with
// testTag), skipping frames other programs send on the shared link, e.g. a
// test running in parallel that broadcasts on every interface.
func (r *reader) nextOurs(t *testing.T, timeout time.Duration, what string) []byte {
	t.Helper()
	return r.nextMatching(t, timeout, what,
		func(tag uint32) bool { return tag&0xFFFF0000 == testTag })
}

func (r *reader) nextMatching(t *testing.T, timeout time.Duration, what string, match func(tag uint32) bool) []byte {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		f := r.next(t, time.Until(deadline), what)
		if len(f) >= 24 && match(tagOf(f)) {
			return f
		}
		t.Logf("waiting for %s: skipping a frame from %s with tag %#x", what,
			net.HardwareAddr(f[6:12]), tagOf(f))
	}
}

// testTag marks the frames these tests send between two ports.
const testTag = 0x5A5A0000

func open(t *testing.T, name string) *rawport.Port {
	t.Helper()
	p, err := rawport.Open(name)
	if err != nil {
		t.Fatalf("Open(%q): %v", name, err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

// openInBed opens the namespace end of the bed's first pair: the target's
// side of the link, for tests that play the target themselves.
func openInBed(t *testing.T, bed *testbed.Bed) *rawport.Port {
	t.Helper()
	var p *rawport.Port
	bed.InNamespace(func() { p = open(t, bed.PeerIface()) })
	return p
}

func TestQueryConfigAnsweredByVblade(t *testing.T) {
	bed := testbed.New(t, 1500)
	tg := bed.StartTarget(1, 2, 64<<20)
	p := open(t, bed.HostIface())
	r := startReader(p, 9000+14)

	if got := p.MTU(); got != 1500 {
		t.Errorf("MTU() = %d, want 1500", got)
	}
	ask := func(tag uint32, mtu int, wantSectors byte) {
		t.Helper()
		if err := p.Send([][]byte{queryConfig(p.MAC(), tag)}); err != nil {
			t.Fatalf("Send: %v", err)
		}
		c := parseConfig(t, r.nextWithTag(t, tag, 2*time.Second))
		if c.verFlags&0x08 == 0 {
			t.Errorf("response flag not set: ver/flags %#02x", c.verFlags)
		}
		if c.verFlags&0x04 != 0 || c.errCode != 0 {
			t.Errorf("error reply: ver/flags %#02x, error %d", c.verFlags, c.errCode)
		}
		if c.shelf != 1 || c.slot != 2 || c.cmd != 1 {
			t.Errorf("got e%d.%d command %d, want e1.2 command 1", c.shelf, c.slot, c.cmd)
		}
		if c.tag != tag {
			t.Errorf("tag %#x, want %#x echoed", c.tag, tag)
		}
		if c.bufCount == 0 {
			t.Errorf("buffer count 0, want > 0")
		}
		if mac := net.HardwareAddr(c.src[:]).String(); mac != tg.MAC() {
			t.Errorf("reply from %s, want the target's %s", mac, tg.MAC())
		}
		// vblade fits (MTU-36)/512 sectors in a frame: the figure the
		// engine will use, and proof the MTU reached the namespace end.
		if c.sectors != wantSectors {
			t.Errorf("at MTU %d: sector count %d, want %d", mtu, c.sectors, wantSectors)
		}
		t.Logf("MTU %d: reply from %s: ver/flags %#02x, buffer count %d, firmware %#04x, sector count %d, aoever/ccmd %#02x",
			mtu, tg.MAC(), c.verFlags, c.bufCount, c.firmware, c.sectors, c.verCmd)
	}
	ask(0x80000001, 1500, 2)

	bed.SetMTU(9000)
	if got := p.MTU(); got != 9000 {
		t.Errorf("after SetMTU(9000): MTU() = %d, want 9000 (re-read from the kernel)", got)
	}
	ask(0x80000002, 9000, 17)
}

func TestVbladeAnnouncesItselfAtStart(t *testing.T) {
	bed := testbed.New(t, 1500)
	p := open(t, bed.HostIface())
	r := startReader(p, 1514)
	tg := bed.StartTarget(1, 2, 64<<20)

	// vblade announces with tag 0; replies to queries others broadcast on
	// this link would carry their tags.
	announcement := func(tag uint32) bool { return tag == 0 }
	c := parseConfig(t, r.nextMatching(t, 2*time.Second, "vblade's unsolicited config response", announcement))
	if c.verFlags&0x08 == 0 || c.cmd != 1 || c.shelf != 1 || c.slot != 2 {
		t.Errorf("got ver/flags %#02x command %d e%d.%d, want a config response from e1.2",
			c.verFlags, c.cmd, c.shelf, c.slot)
	}
	if mac := net.HardwareAddr(c.src[:]).String(); mac != tg.MAC() {
		t.Errorf("announcement from %s, want %s", mac, tg.MAC())
	}
	t.Logf("announcement: ver/flags %#02x (AoE version %d), tag %#x, buffer count %d, sector count %d",
		c.verFlags, c.verFlags>>4, c.tag, c.bufCount, c.sectors)

	// Restart announces again: what discovery sees when a target comes back.
	tg.Restart()
	c = parseConfig(t, r.nextMatching(t, 2*time.Second, "the announcement after Restart", announcement))
	if c.cmd != 1 || c.shelf != 1 || c.slot != 2 {
		t.Errorf("after Restart: got command %d e%d.%d, want e1.2 command 1", c.cmd, c.shelf, c.slot)
	}
}

// TestOwnFramesNotReceived: a frame this host sends leaves, and the peer
// answers; the first frame the host end receives must be the answer, not the
// host's own frame coming back. The kernel never loops a frame back to the
// socket that sent it, so the frame is sent from a second port on the same
// interface, as another initiator or aoeping on this host would. A frame
// with our own source MAC arriving from the wire (a loop) is dropped too.
func TestOwnFramesNotReceived(t *testing.T) {
	bed := testbed.New(t, 1500)
	host := open(t, bed.HostIface())
	other := open(t, bed.HostIface())
	peer := openInBed(t, bed)
	hr, pr := startReader(host, 1514), startReader(peer, 1514)

	if err := other.Send([][]byte{frame(broadcast, host.MAC(), 0x5A5A0010, 60)}); err != nil {
		t.Fatalf("Send: %v", err)
	}
	if got := tagOf(pr.nextOurs(t, 2*time.Second, "the host's frame at the peer")); got != 0x5A5A0010 {
		t.Fatalf("peer got tag %#x, want 0x5A5A0010", got)
	}
	// A frame with our source MAC coming in from the wire (a loop), then
	// the answer.
	err := peer.Send([][]byte{
		frame(host.MAC(), host.MAC(), 0x5A5A0012, 60),
		frame(host.MAC(), peer.MAC(), 0x5A5A0011, 60),
	})
	if err != nil {
		t.Fatalf("peer Send: %v", err)
	}
	if got := tagOf(hr.nextOurs(t, 2*time.Second, "the peer's answer")); got != 0x5A5A0011 {
		t.Fatalf("host's first frame has tag %#x, want the answer 0x5A5A0011: own frames come back", got)
	}
	if s := host.Stats(); s.Received != 1 || s.DroppedOwn != 1 {
		t.Errorf("host stats %+v, want Received 1, DroppedOwn 1 (the looped frame)", s)
	}
	if s := other.Stats(); s.Sent != 1 {
		t.Errorf("sending port's stats %+v, want Sent 1", s)
	}
}

// TestOtherHostsFramesDropped: a veth end hands the stack frames for any
// MAC (marked PACKET_OTHERHOST), as a NIC in promiscuous mode does.
func TestOtherHostsFramesDropped(t *testing.T) {
	bed := testbed.New(t, 1500)
	host := open(t, bed.HostIface())
	peer := openInBed(t, bed)
	hr := startReader(host, 1514)

	other := wire.MAC{0x02, 0, 0, 0, 0, 1}
	err := peer.Send([][]byte{
		frame(other, peer.MAC(), 0x5A5A0020, 60),
		frame(host.MAC(), peer.MAC(), 0x5A5A0021, 60),
	})
	if err != nil {
		t.Fatalf("peer Send: %v", err)
	}
	if got := tagOf(hr.nextOurs(t, 2*time.Second, "the frame for us")); got != 0x5A5A0021 {
		t.Fatalf("host's first frame has tag %#x, want 0x5A5A0021: a frame for another MAC came through", got)
	}
	if s := host.Stats(); s.DroppedNotOurs != 1 {
		t.Errorf("DroppedNotOurs = %d, want 1 (stats %+v)", s.DroppedNotOurs, s)
	}
}

func TestFrameLargerThanBufferDropped(t *testing.T) {
	bed := testbed.New(t, 1500)
	host := open(t, bed.HostIface())
	peer := openInBed(t, bed)
	hr := startReader(host, 100)

	err := peer.Send([][]byte{
		frame(host.MAC(), peer.MAC(), 0x5A5A0030, 200),
		frame(host.MAC(), peer.MAC(), 0x5A5A0031, 100),
	})
	if err != nil {
		t.Fatalf("peer Send: %v", err)
	}
	f := hr.nextOurs(t, 2*time.Second, "the frame that fits")
	if tagOf(f) != 0x5A5A0031 || len(f) != 100 {
		t.Fatalf("got %d bytes with tag %#x, want 100 bytes with tag 0x5A5A0031", len(f), tagOf(f))
	}
	if s := host.Stats(); s.DroppedTruncated != 1 {
		t.Errorf("DroppedTruncated = %d, want 1 (stats %+v)", s.DroppedTruncated, s)
	}
}

// TestBurstFitsReadBuffer sends more full-size frames at once than the
// kernel's default receive buffer holds (about 80 at MTU 1500) while
// nobody reads: all must be kept.
func TestBurstFitsReadBuffer(t *testing.T) {
	const burst = 1000
	bed := testbed.New(t, 1500)
	host := open(t, bed.HostIface())
	peer := openInBed(t, bed)

	frames := make([][]byte, burst)
	for i := range frames {
		frames[i] = frame(host.MAC(), peer.MAC(), uint32(testTag+i), 1514)
	}
	for i := 0; i < burst; i += 100 {
		if err := peer.Send(frames[i : i+100]); err != nil {
			t.Fatalf("peer Send: %v", err)
		}
	}
	if s := peer.Stats(); s.Sent != burst {
		t.Fatalf("peer stats %+v: the burst did not all leave", s)
	} else if want := uint64(burst/100) * ((100 + rawport.MaxBatch - 1) / rawport.MaxBatch); s.SendCalls != want {
		t.Errorf("%d sendmmsg calls for %d frames in sends of 100, want %d", s.SendCalls, burst, want)
	}
	hr := startReader(host, 1514)
	for i := range burst {
		if got := tagOf(hr.nextOurs(t, 2*time.Second, "the burst")); got != uint32(testTag+i) {
			t.Fatalf("frame %d has tag %#x, want %#x", i, got, testTag+i)
		}
	}
	if s := host.Stats(); s.KernelDropped != 0 {
		t.Errorf("kernel dropped %d frames of the burst (stats %+v)", s.KernelDropped, s)
	} else if full := s.ReceiveCalls - s.ReceiveEmpty; full > 2*burst/rawport.MaxBatch {
		// The burst was queued before the reads began: batches come full.
		t.Errorf("%d recvmmsg calls with frames for a queued burst of %d, want about %d", full, burst, burst/rawport.MaxBatch)
	}
}

func TestReceiveReturnsAfterClose(t *testing.T) {
	bed := testbed.New(t, 1500)
	p := open(t, bed.HostIface())
	r := startReader(p, 1514)

	time.Sleep(100 * time.Millisecond) // let Receive block
	if err := p.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	select {
	case err := <-r.err:
		if !errors.Is(err, net.ErrClosed) {
			t.Errorf("blocked Receive returned %v, want net.ErrClosed", err)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("a blocked Receive did not return after Close")
	}
	if _, err := p.Receive([][]byte{make([]byte, 1514)}, []int{0}); !errors.Is(err, net.ErrClosed) {
		t.Errorf("Receive after Close: %v, want net.ErrClosed", err)
	}
	if err := p.Send([][]byte{queryConfig(p.MAC(), 1)}); !errors.Is(err, net.ErrClosed) {
		t.Errorf("Send after Close: %v, want net.ErrClosed", err)
	}
	if err := p.Close(); err != nil {
		t.Errorf("second Close: %v, want nil", err)
	}
}

func TestSendReportsFailure(t *testing.T) {
	bed := testbed.New(t, 1500)
	p := open(t, bed.HostIface())
	ok := frame(broadcast, p.MAC(), 1, 60)
	tooBig := frame(broadcast, p.MAC(), 2, 1514+100)
	err := p.Send([][]byte{ok, tooBig, ok})
	var oe *rawport.OpError
	if !errors.As(err, &oe) || oe.Op != "send" || oe.Iface != bed.HostIface() {
		t.Fatalf("Send with an oversized frame: %v, want an *OpError for send on %s", err, bed.HostIface())
	}
	if !errors.Is(err, unix.EMSGSIZE) || !strings.Contains(err.Error(), "frame 2 of 3") {
		t.Errorf("error %q, want EMSGSIZE naming frame 2 of 3", err)
	}
	if s := p.Stats(); s.Sent != 1 {
		t.Errorf("Sent = %d, want 1: the batch stops at the failure", s.Sent)
	}
	t.Logf("error text: %v", err)
}

func TestOpenRefusesNonEthernet(t *testing.T) {
	_, err := rawport.Open("lo")
	if !errors.Is(err, rawport.ErrNotEthernet) {
		t.Errorf("Open(lo): %v, want ErrNotEthernet", err)
	} else if want := "open port on lo: not an Ethernet interface (it is the loopback"; !strings.HasPrefix(err.Error(), want) {
		t.Errorf("Open(lo): %q, want it to start with %q", err, want)
	}

	_, err = rawport.Open("nosuchif0")
	if err == nil {
		t.Fatal("Open(nosuchif0) succeeded")
	}
	if want := `open port on nosuchif0: no such network interface (list the interfaces with "ip link")`; err.Error() != want {
		t.Errorf("Open(nosuchif0): %q, want %q", err, want)
	}
}

// TestOpenRefusesTun opens a tun device, which has no MAC.
func TestOpenRefusesTun(t *testing.T) {
	bed := testbed.New(t, 1500)
	out, err := exec.Command("ip", "-n", bed.Namespace(), "tuntap", "add", "dev", "tun7", "mode", "tun").CombinedOutput()
	if err != nil {
		t.Skipf("needs the tun driver (kernel module tun): creates a tun device (ip tuntap add: %v: %s)", err, out)
	}
	exec.Command("ip", "-n", bed.Namespace(), "link", "set", "dev", "tun7", "up").Run()
	bed.InNamespace(func() { _, err = rawport.Open("tun7") })
	if !errors.Is(err, rawport.ErrNotEthernet) {
		t.Fatalf("Open(tun7): %v, want ErrNotEthernet", err)
	}
	if want := `open port on tun7: not an Ethernet interface (its hardware address "" is not a 6-byte MAC`; !strings.HasPrefix(err.Error(), want) {
		t.Errorf("Open(tun7): %q, want it to start with %q", err, want)
	}
}

// TestOpenWithoutCapNetRaw drops CAP_NET_RAW from this thread only (Linux
// capabilities are per thread) and opens a port on it.
func TestOpenWithoutCapNetRaw(t *testing.T) {
	bed := testbed.New(t, 1500)
	iface := bed.HostIface()

	runtime.LockOSThread()
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var caps [2]unix.CapUserData
	if err := unix.Capget(&hdr, &caps[0]); err != nil {
		runtime.UnlockOSThread()
		t.Skipf("needs root with capget(2) allowed: drops CAP_NET_RAW from one thread (capget: %v)", err)
	}
	saved := caps
	caps[0].Effective &^= 1 << unix.CAP_NET_RAW
	if err := unix.Capset(&hdr, &caps[0]); err != nil {
		runtime.UnlockOSThread()
		t.Skipf("needs root with capset(2) allowed: drops CAP_NET_RAW from one thread (capset: %v)", err)
	}
	p, err := rawport.Open(iface)
	if rerr := unix.Capset(&hdr, &saved[0]); rerr == nil {
		runtime.UnlockOSThread()
	} else {
		// Leave the thread locked: it dies with this goroutine.
		t.Errorf("restoring capabilities: %v", rerr)
	}

	if err == nil {
		p.Close()
		t.Fatal("Open without CAP_NET_RAW succeeded")
	}
	if !errors.Is(err, os.ErrPermission) {
		t.Errorf("Open without CAP_NET_RAW: %v, want os.ErrPermission", err)
	}
	if want := "open raw socket on " + iface + ": operation not permitted (run as root or grant CAP_NET_RAW)"; err.Error() != want {
		t.Errorf("Open without CAP_NET_RAW: %q, want %q", err, want)
	}
}

func TestInterfaces(t *testing.T) {
	bed := testbed.New(t, 1500)
	down := bed.AddPeer().Host
	if out, err := exec.Command("ip", "link", "set", "dev", down, "down").CombinedOutput(); err != nil {
		t.Fatalf("ip link set %s down: %v: %s", down, err, out)
	}
	names, err := rawport.Interfaces()
	if err != nil {
		t.Fatalf("Interfaces: %v", err)
	}
	if !slices.Contains(names, bed.HostIface()) {
		t.Errorf("Interfaces() = %q, want it to list %s", names, bed.HostIface())
	}
	if slices.Contains(names, "lo") {
		t.Errorf("Interfaces() = %q lists the loopback", names)
	}
	if slices.Contains(names, down) {
		t.Errorf("Interfaces() = %q lists %s, which is down", names, down)
	}
}

// TestReceiveSurvivesLinkDown: the kernel reports ENETDOWN once to a packet
// socket whose interface goes down. An administrator's "ip link set down;
// ip link set up" must not end the port: frames after it still arrive.
func TestReceiveSurvivesLinkDown(t *testing.T) {
	bed := testbed.New(t, 1500)
	host := open(t, bed.HostIface())
	peer := openInBed(t, bed)
	hr := startReader(host, 1514)

	for _, state := range []string{"down", "up"} {
		if out, err := exec.Command("ip", "link", "set", "dev", bed.HostIface(), state).CombinedOutput(); err != nil {
			t.Fatalf("ip link set %s: %v: %s", state, err, out)
		}
	}
	// Until the link is up again frames are lost: send until one arrives.
	deadline := time.Now().Add(3 * time.Second)
	for tag := uint32(testTag); ; tag++ {
		if err := peer.Send([][]byte{frame(host.MAC(), peer.MAC(), tag, 60)}); err != nil {
			t.Fatalf("peer Send: %v", err)
		}
		select {
		case err := <-hr.err:
			t.Fatalf("Receive ended after the link went down and up: %v", err)
		case <-hr.frames:
			if s := host.Stats(); s.LinkDowns != 1 {
				t.Errorf("LinkDowns = %d, want 1", s.LinkDowns)
			}
			return
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatal("no frame arrived after the link came back up")
		}
	}
}

// TestReceiveReportsInterfaceGone: when the interface is deleted, a blocked
// Receive returns an error saying so instead of waiting forever, also when
// the interface was already down (the kernel tells a packet socket only
// about the first of the two).
func TestReceiveReportsInterfaceGone(t *testing.T) {
	for _, downFirst := range []bool{false, true} {
		name := "deleted while up"
		if downFirst {
			name = "deleted while down"
		}
		t.Run(name, func(t *testing.T) {
			bed := testbed.New(t, 1500)
			gone := bed.AddPeer().Host
			p := open(t, gone)
			r := startReader(p, 1514)
			time.Sleep(50 * time.Millisecond) // let Receive block
			ip := func(args ...string) {
				t.Helper()
				if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
					t.Fatalf("ip %s: %v: %s", strings.Join(args, " "), err, out)
				}
			}
			if downFirst {
				ip("link", "set", "dev", gone, "down")
				time.Sleep(100 * time.Millisecond)
			}
			ip("link", "del", "dev", gone)
			select {
			case err := <-r.err:
				if want := "receive on " + gone + ": the interface is gone"; !strings.HasPrefix(err.Error(), want) {
					t.Errorf("Receive: %q, want it to start with %q", err, want)
				}
				if !errors.Is(err, rawport.ErrInterfaceGone) {
					t.Errorf("Receive: %v, want ErrInterfaceGone", err)
				}
			case <-time.After(3 * time.Second):
				t.Fatal("Receive still blocked 3s after its interface was deleted")
			}
			if s := p.Stats(); s.LinkDowns != 1 {
				t.Errorf("LinkDowns = %d, want 1", s.LinkDowns)
			}
		})
	}
}

// TestBatchesKeepOrderAndDropStrangers sends one batch in which some frames
// carry the receiver's own source MAC: one Receive call returns the others,
// in order, with the foreign ones squeezed out.
func TestBatchesKeepOrderAndDropStrangers(t *testing.T) {
	bed := testbed.New(t, 1500)
	host := open(t, bed.HostIface())
	peer := openInBed(t, bed)
	var frames [][]byte
	var want []uint32
	for i := 0; i < 40; i++ {
		src := peer.MAC()
		if i%5 == 2 {
			src = host.MAC() // looks like the host's own frame coming back
		} else {
			want = append(want, uint32(testTag+i))
		}
		frames = append(frames, frame(host.MAC(), src, uint32(testTag+i), 200+i))
	}
	// Send needs the peer's MAC as source only in the header; the socket
	// sends whatever the frame says.
	if err := peer.Send(frames); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond) // all queued: one Receive takes them
	bufs := make([][]byte, 64)
	for i := range bufs {
		bufs[i] = make([]byte, 2048)
	}
	sizes := make([]int, 64)
	var got []uint32
	for len(got) < len(want) {
		n, err := host.Receive(bufs, sizes)
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < n; i++ {
			f := bufs[i][:sizes[i]]
			if tag := tagOf(f); tag&0xFFFF0000 == testTag {
				if sizes[i] != 200+int(tag-testTag) {
					t.Fatalf("frame with tag %#x is %d bytes, want %d", tag, sizes[i], 200+int(tag-testTag))
				}
				got = append(got, tag)
			}
		}
	}
	if !slices.Equal(got, want) {
		t.Fatalf("received tags %x, want %x", got, want)
	}
	if s := host.Stats(); s.DroppedOwn != 8 {
		t.Errorf("%d frames dropped as our own, want 8", s.DroppedOwn)
	}
}

// TestFilterRepliesKeepsOnlyOurs: with the filter, of a request, a reply
// to someone else's tag (bit 31 clear, as the kernel aoe driver's), a
// reply to ours and a config answer with tag 0, only the last two arrive.
func TestFilterRepliesKeepsOnlyOurs(t *testing.T) {
	bed := testbed.New(t, 1500)
	host := open(t, bed.HostIface())
	if err := host.FilterReplies(); err != nil {
		t.Fatal(err)
	}
	peer := openInBed(t, bed)
	mk := func(flags, cmd byte, tag uint32) []byte {
		f := frame(host.MAC(), peer.MAC(), tag, 64)
		f[14], f[19] = 0x10|flags, cmd
		return f
	}
	frames := [][]byte{
		mk(0, 0, 0x80000001),    // a request: dropped
		mk(0x08, 0, 0x00000002), // the kernel driver's reply: dropped
		mk(0x08, 0, 0x80000003), // our reply: kept
		mk(0x08, 1, 0x00000000), // an announcement: kept
	}
	if err := peer.Send(frames); err != nil {
		t.Fatal(err)
	}
	bufs, sizes := [][]byte{make([]byte, 2048), make([]byte, 2048)}, []int{0, 0}
	var got []uint32
	deadline := time.Now().Add(2 * time.Second)
	for len(got) < 2 && time.Now().Before(deadline) {
		n, err := host.Receive(bufs, sizes)
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < n; i++ {
			got = append(got, tagOf(bufs[i][:sizes[i]]))
		}
	}
	if !slices.Equal(got, []uint32{0x80000003, 0}) {
		t.Fatalf("received tags %x, want only 80000003 and the announcement's 0", got)
	}
}

// TestFilterTargetKeepsOnlyItsReplies: with a target's filter, set in the
// kernel, only that target's responses to our tags and its config answers
// arrive; replies from other shelves and slots, another target's config
// answer, a reply to the kernel driver's tag and a request do not.
func TestFilterTargetKeepsOnlyItsReplies(t *testing.T) {
	bed := testbed.New(t, 1500)
	host := open(t, bed.HostIface())
	if err := host.FilterTarget(0x0102, 3); err != nil {
		t.Fatal(err)
	}
	peer := openInBed(t, bed)
	mk := func(flags byte, shelf uint16, slot, cmd byte, tag uint32) []byte {
		f := frame(host.MAC(), peer.MAC(), tag, 64)
		f[14], f[19] = 0x10|flags, cmd
		binary.BigEndian.PutUint16(f[16:18], shelf)
		f[18] = slot
		return f
	}
	frames := [][]byte{
		mk(0, 0x0102, 3, 0, 0x80000001),    // a request: dropped
		mk(0x08, 0x0102, 3, 0, 0x00000002), // the kernel driver's reply: dropped
		mk(0x08, 0x0102, 4, 0, 0x80000003), // another slot's reply: dropped
		mk(0x08, 0x0103, 3, 0, 0x80000004), // another shelf's reply: dropped
		mk(0x08, 0x0201, 3, 0, 0x80000005), // the shelf's bytes swapped: dropped
		mk(0x08, 0x0102, 4, 1, 0x00000006), // another target's config answer: dropped
		mk(0x08, 0x0102, 3, 3, 0x80000007), // our target's reserve reply: kept
		mk(0x08, 0x0102, 3, 0, 0x80000008), // our target's ATA reply: kept
		mk(0x08, 0x0102, 3, 1, 0x00000000), // our target's announcement: kept
	}
	if err := peer.Send(frames); err != nil {
		t.Fatal(err)
	}
	// The kept frames come last: once they are in, any other frame the
	// filter let through has arrived before them.
	want := []uint32{0x80000007, 0x80000008, 0}
	bufs, sizes := make([][]byte, 16), make([]int, 16)
	for i := range bufs {
		bufs[i] = make([]byte, 2048)
	}
	var got []uint32
	deadline := time.Now().Add(2 * time.Second)
	for !slices.Contains(got, 0) && time.Now().Before(deadline) {
		n, err := host.Receive(bufs, sizes)
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < n; i++ {
			got = append(got, tagOf(bufs[i][:sizes[i]]))
		}
	}
	if !slices.Equal(got, want) {
		t.Fatalf("received tags %x, want only %x", got, want)
	}
}

// TestSendPartsJoinsHeadAndData: frames sent in two parts arrive as one,
// byte for byte, in order, and a batch larger than one sendmmsg call's
// still all leaves.
func TestSendPartsJoinsHeadAndData(t *testing.T) {
	bed := testbed.New(t, 1500)
	host := open(t, bed.HostIface())
	peer := openInBed(t, bed)
	const count = rawport.MaxBatch + 10
	var heads, datas, whole [][]byte
	for i := range count {
		f := frame(host.MAC(), peer.MAC(), uint32(testTag+i), 100+i*10)
		for j := 36; j < len(f); j++ {
			f[j] = byte(i + j)
		}
		whole = append(whole, f)
		heads, datas = append(heads, f[:36]), append(datas, f[36:])
	}
	if err := peer.SendParts(heads, datas); err != nil {
		t.Fatal(err)
	}
	if err := peer.SendParts(heads, datas[:1]); err == nil {
		t.Error("SendParts with fewer data parts than heads did not fail")
	}
	hr := startReader(host, 2048)
	for i := range count {
		got := hr.nextOurs(t, 2*time.Second, "a frame sent in parts")
		if !bytes.Equal(got, whole[i]) {
			t.Fatalf("frame %d: got %d bytes %x..., want %d bytes %x...", i, len(got), got[:40], len(whole[i]), whole[i][:40])
		}
	}
}
