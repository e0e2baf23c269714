package initiator_test

import (
	"errors"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/goaoe/goaoe/initiator"
	"github.com/goaoe/goaoe/initiator/wire"
	"github.com/goaoe/goaoe/internal/memnet"
)

// specTarget answers Query Config as the spec (section 3.2) says, to the
// letter where vblade is lenient: silence to a test that does not match,
// AoE error 4 to any set-if-empty while a string is there, the one it
// asks for included. memnet's target answers every sub-command as a read.
type specTarget struct {
	port *memnet.Port
	addr initiator.Addr

	mu       sync.Mutex // guards below
	str      string
	drop     int // answers to drop, as if lost on the way
	received int // config commands
}

func newSpecTarget(t *testing.T, n *memnet.Network, addr initiator.Addr, mac wire.MAC, str string) *specTarget {
	s := &specTarget{port: n.NewPort("tgt", mac, 1500), addr: addr, str: str}
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.serve()
	}()
	t.Cleanup(func() {
		s.port.Close()
		<-done
	})
	return s
}

func (s *specTarget) serve() {
	bufs, sizes := [][]byte{make([]byte, 2048)}, []int{0}
	for {
		if _, err := s.port.Receive(bufs, sizes); err != nil {
			return
		}
		s.handle(bufs[0][:sizes[0]])
	}
}

func (s *specTarget) handle(frame []byte) {
	var h wire.Header
	var c wire.Config
	body, err := h.Unmarshal(frame)
	if err != nil || h.Response() || h.Command != wire.CommandConfig || c.Unmarshal(body) != nil {
		return
	}
	if (h.Shelf != s.addr.Shelf && h.Shelf != wire.BroadcastShelf) || (h.Slot != s.addr.Slot && h.Slot != wire.BroadcastSlot) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.received++
	r := wire.Header{Dst: h.Src, Src: s.port.MAC(), Version: wire.Version, Flags: wire.FlagResponse, Shelf: s.addr.Shelf, Slot: s.addr.Slot, Command: wire.CommandConfig, Tag: h.Tag}
	want := string(c.String)
	switch c.Command {
	case wire.ConfigTest, wire.ConfigTestPrefix:
		if s.str != want && (c.Command == wire.ConfigTest || !strings.HasPrefix(s.str, want)) {
			return
		}
	case wire.ConfigSetIfEmpty, wire.ConfigForceSet:
		if c.Command == wire.ConfigSetIfEmpty && s.str != "" {
			r.Flags |= wire.FlagError
			r.Error = wire.ErrConfigStringPresent
		} else {
			s.str = want
		}
	}
	if s.drop > 0 {
		s.drop--
		return
	}
	answer := wire.Config{BufferCount: 8, Firmware: 0x0101, SectorCount: 2, AoEVersion: wire.Version, Command: c.Command, String: []byte(s.str)}
	b := make([]byte, wire.HeaderLen+answer.Len())
	_ = r.Marshal(b)
	_ = answer.Marshal(b[wire.HeaderLen:])
	_ = s.port.Send([][]byte{b})
}

func (s *specTarget) commands() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.received
}

// newConfigBed is an initiator on a segment with nothing on it yet; it
// must run inside a synctest bubble.
func newConfigBed(t *testing.T) (*memnet.Network, *initiator.Initiator) {
	n := memnet.New(1)
	ini := initiator.New(initiator.Options{})
	if err := ini.AddPort(n.NewPort("eth0", hostMAC, 1500)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ini.Close() })
	return n, ini
}

// TestConfigAgainstTheSpec: read, set-if-empty, its refusal (an error
// answer, which the engine drops: the read after it names the string),
// force-set and tests, against a target that does what the spec says.
func TestConfigAgainstTheSpec(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n, ini := newConfigBed(t)
		tgt := newSpecTarget(t, n, e12, targetMAC, "")
		ev, err := ini.ReadConfig(e12, initiator.DefaultMaxRTO)
		if err != nil || ev.Config.String != "" || ev.Config.BufferCount != 8 || ev.Config.Firmware != 0x0101 || ev.MAC != targetMAC {
			t.Fatalf("read: %+v, %v", ev, err)
		}
		if ev, err := ini.SetConfig(e12, []byte("hello"), false); err != nil || ev.Config.String != "hello" {
			t.Fatalf("set-if-empty on an empty string: %+v, %v", ev, err)
		}
		_, err = ini.SetConfig(e12, []byte("other"), false)
		if !errors.Is(err, initiator.ErrConfigPresent) || !strings.Contains(err.Error(), `"hello"`) {
			t.Fatalf("set-if-empty over %q: %v; want ErrConfigPresent naming it", "hello", err)
		}
		if ev, err := ini.SetConfig(e12, []byte("other"), true); err != nil || ev.Config.String != "other" {
			t.Fatalf("force-set: %+v, %v", ev, err)
		}
		for _, c := range []struct {
			s      string
			prefix bool
			match  bool
		}{
			{"other", false, true},
			{"oth", false, false},
			{"oth", true, true},
			{"others", true, false},
			{"", true, true},
		} {
			got, err := ini.TestConfig(e12, []byte(c.s), c.prefix)
			if err != nil || (len(got) > 0) != c.match {
				t.Errorf("test %q (prefix %v) on %q: %d answers, %v; want match %v", c.s, c.prefix, "other", len(got), err, c.match)
			}
		}
		before := tgt.commands()
		long := []byte(strings.Repeat("x", wire.MaxConfigString+1))
		if _, err := ini.SetConfig(e12, long, true); !errors.Is(err, initiator.ErrConfigTooLong) {
			t.Fatalf("a string of 1025 bytes: %v", err)
		}
		if _, err := ini.TestConfig(e12, long, false); !errors.Is(err, initiator.ErrConfigTooLong) {
			t.Fatalf("a test of 1025 bytes: %v", err)
		}
		synctest.Wait()
		if got := tgt.commands(); got != before {
			t.Fatalf("%d commands reached the target for strings too long to send", got-before)
		}
	})
}

// TestConfigSetConfirmationLost: the set was done but its answer lost, and
// the retransmit refused (a set-if-empty that finds its own string): the
// read after it shows the string in place, which is success.
func TestConfigSetConfirmationLost(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n, ini := newConfigBed(t)
		tgt := newSpecTarget(t, n, e12, targetMAC, "")
		tgt.drop = 1
		if ev, err := ini.SetConfig(e12, []byte("hello"), false); err != nil || ev.Config.String != "hello" {
			t.Fatalf("%+v, %v", ev, err)
		}
	})
}

// TestConfigTestAnswerLost: a test is sent again within its window, so
// that a lost answer does not pass for a mismatch.
func TestConfigTestAnswerLost(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n, ini := newConfigBed(t)
		tgt := newSpecTarget(t, n, e12, targetMAC, "hello")
		tgt.drop = 1
		if got, err := ini.TestConfig(e12, []byte("hello"), false); err != nil || len(got) != 1 {
			t.Fatalf("%+v, %v; want a match", got, err)
		}
	})
}

// TestConfigTargetIgnoresSubCommand: memnet's target answers every Query
// Config as a read. Its answers to a test are checked, not taken for a
// match; a set it answers without doing is reported with the string it
// kept.
func TestConfigTargetIgnoresSubCommand(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := newBed(t, 1500, memnet.TargetConfig{ConfigString: "cfg"}, initiator.Options{})
		if got, err := b.ini.TestConfig(e12, []byte("nope"), false); err != nil || len(got) != 0 {
			t.Fatalf("test of another string: %+v, %v; want no match", got, err)
		}
		if got, err := b.ini.TestConfig(e12, []byte("cf"), true); err != nil || len(got) != 1 {
			t.Fatalf("test-prefix of its own: %+v, %v; want a match", got, err)
		}
		_, err := b.ini.SetConfig(e12, []byte("new"), true)
		if !errors.Is(err, initiator.ErrConfigNotApplied) || !strings.Contains(err.Error(), `it still has "cfg"`) {
			t.Fatalf("force-set it ignores: %v; want ErrConfigNotApplied naming the string kept", err)
		}
		var ce *initiator.ConfigError
		if !errors.As(err, &ce) || ce.Target != e12 || ce.Command != wire.ConfigForceSet {
			t.Fatalf("%#v: want a ConfigError for e1.2's force-set", err)
		}
		if _, err := b.ini.SetConfig(e12, []byte("new"), false); !errors.Is(err, initiator.ErrConfigPresent) {
			t.Fatalf("set-if-empty over its string: %v", err)
		}
	})
}

// TestConfigEveryTarget: a test sent to every target lists those that
// match, each once, in order; a read lists them all.
func TestConfigEveryTarget(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n, ini := newConfigBed(t)
		e13 := initiator.Addr{Shelf: 1, Slot: 3}
		e21 := initiator.Addr{Shelf: 2, Slot: 1}
		// Answers arrive out of order, e2.1 first, e1.2 last.
		newSpecTarget(t, n, e21, wire.MAC{2, 0, 0, 0, 0, 0x21}, "host-a/2")
		newSpecTarget(t, n, e13, wire.MAC{2, 0, 0, 0, 0, 0x13}, "host-b").port.SetDelay(time.Millisecond)
		newSpecTarget(t, n, e12, targetMAC, "host-a/1").port.SetDelay(2 * time.Millisecond)
		got, err := ini.TestConfig(initiator.AllTargets, []byte("host-a"), true)
		if err != nil || len(got) != 2 || got[0].Target != e12 || got[1].Target != e21 {
			t.Fatalf("targets whose string starts with host-a: %+v, %v; want e1.2 and e2.1", got, err)
		}
		all, err := ini.ReadConfigs(initiator.DefaultMaxRTO)
		if err != nil || len(all) != 3 || all[0].Target != e12 || all[1].Target != e13 || all[2].Config.String != "host-a/2" {
			t.Fatalf("every target's string: %+v, %v", all, err)
		}
		if _, err := ini.SetConfig(initiator.AllTargets, []byte("x"), true); err == nil {
			t.Fatal("a set for every target at once was sent")
		}
	})
}

// TestConfigNoTarget: silence is said to be silence, for a read and for a
// set, with where it was asked.
func TestConfigNoTarget(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		_, ini := newConfigBed(t)
		_, err := ini.ReadConfig(e12, initiator.DefaultMaxRTO)
		if !errors.Is(err, initiator.ErrNoAnswer) || !strings.Contains(err.Error(), "e1.2: config string read: no answer on eth0") {
			t.Fatalf("read: %v", err)
		}
		if _, err := ini.SetConfig(e12, []byte("x"), true); !errors.Is(err, initiator.ErrNoAnswer) || !strings.Contains(err.Error(), "no answer to the set, nor to a read") {
			t.Fatalf("set: %v", err)
		}
	})
}
