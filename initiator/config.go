package initiator

// Config strings (AoE Query Config, command 1, spec section 3.2): a target
// keeps one string of up to 1024 bytes that initiators read, test and set,
// so that a site can mark which host owns which target (aoetools' aoecfg
// does it from the shell, aoe-cfg here).
//
//	ReadConfig/TestConfig/SetConfig ─configExchange─▶ sendConfig ─▶ Port.Send
//	Port.Receive ─▶ dispatch ─▶ learn ─▶ Watch ─▶ the exchange's answers
//
// The answers reach an exchange through Watch, not as replies to a
// request (Target.control): dispatch hands every Query Config answer to
// learn, and drops the failed ones, so a config command of ours would
// never be matched by tag, nor its AoE error 4 seen (vblade 25 answers a
// set-if-empty over another string with error 4 and the string it has).
// The exchange goes by what the answers say instead, which is what the
// sub-commands are about, and which also copes with targets that ignore
// the sub-command and answer every query as a read:
//   - a test matches when an answer carries a string that matches; no
//     answer, or only answers whose string does not, is no match;
//   - a set is done when an answer carries the new string; when none does
//     within configWindow, a read says what happened: the new string there
//     (the confirmation was lost, or a retransmit was refused because the
//     first copy had set it), another string there (set-if-empty refused,
//     or a target that ignored the set), or no answer at all.
//
// Sent to the Ethernet broadcast address with the target's shelf.slot, as
// aoecfg does, a command needs no discovery first; to shelf.slot
// 0xffff.0xff, a test asks every target on the segment.

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/goaoe/goaoe/initiator/wire"
)

// configWindow is how long a test or a set waits for its answer: a
// target's "no" to a test is silence, so this is what every mismatch
// costs. A target that answers at all does so in milliseconds.
const configWindow = time.Second

// Errors a ConfigError can wrap besides ErrNoAnswer.
var (
	// ErrConfigPresent: set-if-empty found another string there (what a
	// target answers with AoE error 4). Force-set replaces it.
	ErrConfigPresent = errors.New("the target already has a config string")
	// ErrConfigNotApplied: the target was told to set a string and has
	// another one afterwards.
	ErrConfigNotApplied = errors.New("the target did not take the config string")
	// ErrConfigTooLong: the spec allows at most wire.MaxConfigString bytes;
	// refused before sending.
	ErrConfigTooLong = fmt.Errorf("a config string holds at most %d bytes", wire.MaxConfigString)
)

// ConfigError is a failed Query Config command: which target, which
// sub-command, and why.
type ConfigError struct {
	Target  Addr
	Command wire.ConfigCommand
	Err     error
}

func (e *ConfigError) Error() string {
	who := e.Target.String()
	if e.Target == AllTargets {
		who = "every target"
	}
	return fmt.Sprintf("%s: config string %s: %v", who, configCommandName(e.Command), e.Err)
}

func (e *ConfigError) Unwrap() error { return e.Err }

func configCommandName(c wire.ConfigCommand) string {
	switch c {
	case wire.ConfigRead:
		return "read"
	case wire.ConfigTest:
		return "test"
	case wire.ConfigTestPrefix:
		return "test-prefix"
	case wire.ConfigSetIfEmpty:
		return "set-if-empty"
	case wire.ConfigForceSet:
		return "force-set"
	}
	return fmt.Sprintf("sub-command %d", uint8(c))
}

// ReadConfig asks addr for its config and returns its first answer, or an
// error wrapping ErrNoAnswer if none came within timeout.
func (ini *Initiator) ReadConfig(addr Addr, timeout time.Duration) (ConfigEvent, error) {
	c := &wire.Config{Command: wire.ConfigRead}
	got, err := ini.configExchange(addr, c, timeout, func(ConfigEvent) bool { return true })
	if err != nil {
		return ConfigEvent{}, &ConfigError{Target: addr, Command: c.Command, Err: err}
	}
	if len(got) == 0 {
		return ConfigEvent{}, &ConfigError{Target: addr, Command: c.Command, Err: ini.silence(timeout)}
	}
	return got[0], nil
}

// TestConfig asks addr whether its config string is s (with prefix: starts
// with s) and returns the answers that say so: none is no match. With
// AllTargets every target on the segment is asked, and each one that
// matches is listed once, ordered by address.
func (ini *Initiator) TestConfig(addr Addr, s []byte, prefix bool) ([]ConfigEvent, error) {
	c := &wire.Config{Command: wire.ConfigTest, String: s}
	if prefix {
		c.Command = wire.ConfigTestPrefix
	}
	if len(s) > wire.MaxConfigString {
		return nil, &ConfigError{Target: addr, Command: c.Command, Err: ErrConfigTooLong}
	}
	got, err := ini.configExchange(addr, c, configWindow, func(ev ConfigEvent) bool {
		return ConfigMatches(ev.Config.String, string(s), prefix)
	})
	if err != nil {
		return nil, &ConfigError{Target: addr, Command: c.Command, Err: err}
	}
	slices.SortFunc(got, byTarget)
	return got, nil
}

// ReadConfigs asks every target on the segment for its config and lists
// the answers that came within wait, one per target, ordered by address.
func (ini *Initiator) ReadConfigs(wait time.Duration) ([]ConfigEvent, error) {
	c := &wire.Config{Command: wire.ConfigRead}
	got, err := ini.configExchange(AllTargets, c, wait, func(ConfigEvent) bool { return true })
	if err != nil {
		return nil, &ConfigError{Target: AllTargets, Command: c.Command, Err: err}
	}
	slices.SortFunc(got, byTarget)
	return got, nil
}

func byTarget(a, b ConfigEvent) int {
	return cmp.Or(cmp.Compare(a.Target.Shelf, b.Target.Shelf), cmp.Compare(a.Target.Slot, b.Target.Slot))
}

// ConfigMatches reports whether a target whose string is have answers a
// test for want (with prefix: a test-prefix). TestConfig checks every
// answer with it: a target that ignores the sub-command answers every test.
func ConfigMatches(have, want string, prefix bool) bool {
	if prefix {
		return strings.HasPrefix(have, want)
	}
	return have == want
}

// SetConfig sets addr's config string to s: only if it has none (or has s
// already), or whatever it has with force. It returns the answer that
// shows s in place. A refusal is an ErrConfigPresent, a target that keeps
// another string an ErrConfigNotApplied, both with the string it has.
func (ini *Initiator) SetConfig(addr Addr, s []byte, force bool) (ConfigEvent, error) {
	c := &wire.Config{Command: wire.ConfigSetIfEmpty, String: s}
	if force {
		c.Command = wire.ConfigForceSet
	}
	fail := func(err error) (ConfigEvent, error) {
		return ConfigEvent{}, &ConfigError{Target: addr, Command: c.Command, Err: err}
	}
	switch {
	case addr == AllTargets:
		return fail(errors.New("name one target: setting every target's string at once is refused"))
	case len(s) > wire.MaxConfigString:
		return fail(ErrConfigTooLong)
	}
	got, err := ini.configExchange(addr, c, configWindow, func(ev ConfigEvent) bool { return ev.Config.String == string(s) })
	if err != nil {
		return fail(err)
	}
	if len(got) > 0 {
		return got[0], nil
	}
	// No answer with s: refused (error answers never reach us), ignored,
	// or its confirmation lost. What the target has now says which.
	now, err := ini.ReadConfig(addr, configWindow)
	switch {
	case err != nil:
		return fail(fmt.Errorf("no answer to the set, nor to a read after it: %w", errors.Unwrap(err)))
	case now.Config.String == string(s):
		return now, nil
	case !force && now.Config.String != "":
		return fail(fmt.Errorf("%w %q", ErrConfigPresent, now.Config.String))
	}
	return fail(fmt.Errorf("%w: it still has %q (a target that answers a set without doing it does not implement setting the string)", ErrConfigNotApplied, now.Config.String))
}

// configExchange sends c to addr on every port, probeTries times over
// window, and collects the answers want accepts, the first from each
// target. For one target it returns at the first; for AllTargets it
// listens out the window. The error is for a command that could not be
// sent at all.
func (ini *Initiator) configExchange(addr Addr, c *wire.Config, window time.Duration, want func(ConfigEvent) bool) ([]ConfigEvent, error) {
	var (
		mu      sync.Mutex
		got     []ConfigEvent
		arrived = make(chan struct{}, 1)
	)
	// Watching before the first send: an answer cannot come before it.
	stop := ini.Watch(func(ev ConfigEvent) {
		if (addr != AllTargets && ev.Target != addr) || !want(ev) {
			return
		}
		mu.Lock()
		if !slices.ContainsFunc(got, func(g ConfigEvent) bool { return g.Target == ev.Target }) {
			got = append(got, ev)
		}
		mu.Unlock()
		select {
		case arrived <- struct{}{}:
		default:
		}
	})
	defer stop()
	if err := ini.sendConfig(addr, c); err != nil {
		return nil, err
	}
	deadline := time.NewTimer(window)
	defer deadline.Stop()
	retry := time.NewTicker(max(window/probeTries, time.Millisecond))
	defer retry.Stop()
	answers := func() []ConfigEvent {
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(got)
	}
	for {
		select {
		case <-arrived:
			if addr != AllTargets {
				return answers(), nil
			}
		case <-retry.C:
			// A port that cannot send said so at the first send; a
			// lost frame must not pass for a "no".
			_ = ini.sendConfig(addr, c)
		case <-deadline.C:
			return answers(), nil
		}
	}
}

// sendConfig sends one Query Config command to addr on every port, to the
// Ethernet broadcast address. It fails only if no port could send it.
func (ini *Initiator) sendConfig(addr Addr, c *wire.Config) error {
	ports := ini.Ports()
	if len(ports) == 0 {
		return errors.New("no interface to send on")
	}
	b := make([]byte, wire.HeaderLen+c.Len())
	if err := c.Marshal(b[wire.HeaderLen:]); err != nil {
		return err
	}
	var errs []error
	for _, p := range ports {
		h := wire.Header{Dst: wire.BroadcastMAC, Src: p.MAC(), Version: wire.Version, Shelf: addr.Shelf, Slot: addr.Slot, Command: wire.CommandConfig, Tag: ini.newTag()}
		_ = h.Marshal(b)
		if err := p.Send([][]byte{b}); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", p.Name(), err))
		}
	}
	if len(errs) == len(ports) {
		return errors.Join(errs...)
	}
	return nil
}

// silence is the error for a target that answered nothing: where it was
// asked, and what to check.
func (ini *Initiator) silence(timeout time.Duration) error {
	var names []string
	for _, p := range ini.Ports() {
		names = append(names, p.Name())
	}
	slices.Sort(names)
	return fmt.Errorf("%w on %s within %v: check that it is exported (vblade running, shelf and slot right) on the same Ethernet segment", ErrNoAnswer, strings.Join(names, ", "), timeout)
}
