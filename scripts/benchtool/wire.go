//go:build linux

package main

// Where a run's time goes, seen from the wire: how long the target takes
// to answer a frame, and so how much of the window sits at the target
// rather than in the initiator's machine. Both initiators are held to the
// target's buffer count (16 for vblade), so a throughput gap with the
// target idle most of the time is the initiator side's doing.
//
// The guest marks each run with `benchtool mark` (a broadcast AoE frame
// no target answers: major 0xfffe, minor 0xfe, vendor command 0xf0, the
// label as payload); `benchtool wire`, on the host end of the guest's NIC,
// times every request to its reply by tag between two marks and prints
//
//	BENCH-WIRE LABEL seconds=S requests=N replies=N answered=N
//	           turnaround_mean_us=U turnaround_p50_us=U turnaround_p90_us=U at_target=F
//
// where seconds is first frame to last, turnaround is request seen to
// reply seen, and at_target is the mean number of frames waiting at the
// target (Little's law: the summed turnarounds over the seconds).

import (
	"bytes"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/mdlayher/packet"
	"golang.org/x/sys/unix"

	"github.com/goaoe/goaoe/initiator/wire"
)

// The mark's address: a shelf and slot no target has, a vendor command.
const (
	markShelf = 0xfffe
	markSlot  = 0xfe
	markCmd   = wire.Command(0xf0)
	endLabel  = "end"
)

var markMagic = []byte("goaoe-bench-mark ")

// markFrame builds the marker frame for label, sent from src.
func markFrame(src wire.MAC, label string) []byte {
	h := wire.Header{Dst: wire.BroadcastMAC, Src: src, Version: wire.Version, Shelf: markShelf, Slot: markSlot, Command: markCmd}
	f := make([]byte, wire.HeaderLen, wire.MinFrameLen)
	_ = h.Marshal(f)
	f = append(f, markMagic...)
	f = append(f, label...)
	for len(f) < wire.MinFrameLen {
		f = append(f, 0)
	}
	return f
}

// parseMark returns the label of a marker frame, given its header.
func parseMark(h *wire.Header, body []byte) (string, bool) {
	if h.Response() || h.Shelf != markShelf || h.Slot != markSlot || h.Command != markCmd || !bytes.HasPrefix(body, markMagic) {
		return "", false
	}
	return string(bytes.TrimRight(body[len(markMagic):], "\x00")), true
}

func markCmdMain(args []string) error {
	fs := flag.NewFlagSet("mark", flag.ContinueOnError)
	iface := fs.String("iface", "", "interface to send the mark on")
	if err := fs.Parse(args); err != nil {
		return exitError{2, err.Error()}
	}
	label := strings.Join(fs.Args(), " ")
	if *iface == "" || label == "" {
		return exitError{2, "mark: want --iface IF LABEL"}
	}
	ifi, err := net.InterfaceByName(*iface)
	if err != nil {
		return fmt.Errorf("mark: %w", err)
	}
	c, err := packet.Listen(ifi, packet.Raw, wire.EtherType, nil)
	if err != nil {
		return fmt.Errorf("mark: %w", err)
	}
	defer c.Close()
	var src wire.MAC
	copy(src[:], ifi.HardwareAddr)
	bcast := wire.BroadcastMAC
	if _, err := c.WriteTo(markFrame(src, label), &packet.Addr{HardwareAddr: bcast[:]}); err != nil {
		return fmt.Errorf("mark: %w", err)
	}
	return nil
}

// wirePhase is what was seen between two marks.
type wirePhase struct {
	label             string
	first, last       time.Time // of the AoE frames seen
	requests, replies int
	pending           map[wireKey]time.Time
	turnarounds       []time.Duration
}

// wireKey names a request: the initiator's MAC and the tag.
type wireKey struct {
	mac wire.MAC
	tag uint32
}

// frame accounts one AoE frame seen at time t.
func (p *wirePhase) frame(h *wire.Header, t time.Time) {
	if p.first.IsZero() {
		p.first = t
	}
	p.last = t
	if !h.Response() { // a request: the initiator is the source
		p.requests++
		p.pending[wireKey{h.Src, h.Tag}] = t
		return
	}
	k := wireKey{h.Dst, h.Tag} // a reply goes back to the initiator
	p.replies++
	if sent, ok := p.pending[k]; ok {
		p.turnarounds = append(p.turnarounds, t.Sub(sent))
		delete(p.pending, k)
	}
}

// line is the phase's BENCH-WIRE line. Its length is from the first frame
// to the last: the marks also enclose the measuring tool's start and end.
func (p *wirePhase) line() string {
	secs := p.last.Sub(p.first).Seconds()
	var sum time.Duration
	for _, d := range p.turnarounds {
		sum += d
	}
	us := func(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }
	mean, p50, p90, at := 0.0, 0.0, 0.0, 0.0
	if n := len(p.turnarounds); n > 0 {
		s := slices.Clone(p.turnarounds)
		slices.Sort(s)
		mean, p50, p90 = us(sum)/float64(n), us(s[n/2]), us(s[n*9/10])
	}
	if secs > 0 {
		at = sum.Seconds() / secs
	}
	return fmt.Sprintf("BENCH-WIRE %s seconds=%.4f requests=%d replies=%d answered=%d turnaround_mean_us=%.0f turnaround_p50_us=%.0f turnaround_p90_us=%.0f at_target=%.2f",
		p.label, secs, p.requests, p.replies, len(p.turnarounds), mean, p50, p90, at)
}

// wireWatch reads frames (each with its kernel receive time) until read
// fails, and writes a line per marked phase to out.
func wireWatch(read func([]byte) (int, time.Time, error), out io.Writer) error {
	buf := make([]byte, 128) // headers are all we look at
	var cur *wirePhase
	var h wire.Header
	for {
		n, t, err := read(buf)
		if err != nil {
			return err
		}
		body, err := h.Unmarshal(buf[:n])
		if err != nil {
			continue // not AoE
		}
		if label, ok := parseMark(&h, body); ok {
			if cur != nil {
				fmt.Fprintln(out, cur.line())
			}
			cur = nil
			if label != endLabel {
				cur = &wirePhase{label: label, pending: map[wireKey]time.Time{}}
			}
			continue
		}
		if cur != nil {
			cur.frame(&h, t)
		}
	}
}

func wireCmdMain(args []string) error {
	fs := flag.NewFlagSet("wire", flag.ContinueOnError)
	iface := fs.String("iface", "", "interface to watch (the host end of the guest's NIC)")
	outPath := fs.String("out", "", "file for the BENCH-WIRE lines (default stdout)")
	if err := fs.Parse(args); err != nil {
		return exitError{2, err.Error()}
	}
	if *iface == "" {
		return exitError{2, "wire: want --iface IF"}
	}
	out := os.Stdout
	if *outPath != "" {
		f, err := os.Create(*outPath)
		if err != nil {
			return fmt.Errorf("wire: %w", err)
		}
		defer f.Close()
		out = f
	}
	ifi, err := net.InterfaceByName(*iface)
	if err != nil {
		return fmt.Errorf("wire: %w", err)
	}
	// Every EtherType: a socket for one sees neither what a bridge port
	// takes in nor what it sends out.
	c, err := packet.Listen(ifi, packet.Raw, unix.ETH_P_ALL, nil)
	if err != nil {
		return fmt.Errorf("wire: %w", err)
	}
	defer c.Close()
	raw, err := c.SyscallConn()
	if err != nil {
		return fmt.Errorf("wire: %w", err)
	}
	// Kernel receive times: ours would add the watcher's own wakeup delays.
	// A large buffer: the watcher must not lose frames to the target's.
	var serr error
	if err := raw.Control(func(fd uintptr) {
		_ = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, 16<<20)
		serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_TIMESTAMPNS, 1)
	}); err != nil || serr != nil {
		return fmt.Errorf("wire: SO_TIMESTAMPNS: %w", errors.Join(err, serr))
	}
	oob := make([]byte, unix.CmsgSpace(16))
	read := func(b []byte) (n int, t time.Time, err error) {
		rerr := raw.Read(func(fd uintptr) bool {
			var oobn int
			n, oobn, _, _, err = unix.Recvmsg(int(fd), b, oob, unix.MSG_DONTWAIT)
			if err == unix.EAGAIN {
				return false
			}
			t = time.Now()
			if msgs, perr := unix.ParseSocketControlMessage(oob[:oobn]); perr == nil {
				for _, m := range msgs {
					if m.Header.Level == unix.SOL_SOCKET && m.Header.Type == unix.SCM_TIMESTAMPNS && len(m.Data) >= 16 {
						sec := int64(binary.NativeEndian.Uint64(m.Data[0:8]))
						nsec := int64(binary.NativeEndian.Uint64(m.Data[8:16]))
						t = time.Unix(sec, nsec)
					}
				}
			}
			return true
		})
		if rerr != nil {
			err = rerr
		}
		return n, t, err
	}
	return wireWatch(read, out)
}
