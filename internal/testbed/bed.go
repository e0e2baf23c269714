package testbed

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// nsPrefix starts the name of every namespace a Bed creates.
const nsPrefix = "goaoe-"

// Bed is a network namespace joined to the test's namespace by one or more
// veth pairs. Create it with New.
type Bed struct {
	t     testing.TB
	ns    string // namespace name
	token string // random part shared by the interface names

	mu    sync.Mutex // guards links and mtu
	links []Link
	mtu   int
}

// Link is one veth pair: Host in the test's namespace, Peer in the bed's.
type Link struct {
	Host    string // where the initiator listens
	Peer    string // where a target listens
	PeerMAC string // MAC of Peer, as "02:..."
}

// New creates a namespace and a veth pair into it, both ends up at the given
// MTU. t.Cleanup removes them, pass or fail. New skips the test when it
// cannot run: not root, not Linux, no ip, namespaces not permitted.
func New(t testing.TB, mtu int) *Bed {
	t.Helper()
	if runtime.GOOS != "linux" {
		t.Skip("needs Linux: the testbed's network namespaces and veth pairs")
	}
	if os.Geteuid() != 0 {
		t.Skip("needs root: creates the testbed's network namespaces and veth pairs")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("needs ip (Debian package iproute2)")
	}
	sweepOnce.Do(sweepStale)

	b := &Bed{t: t, mtu: mtu}
	for try := 0; ; try++ {
		var tok [3]byte
		for i := range tok {
			tok[i] = byte(rand.N(256))
		}
		b.token = hex.EncodeToString(tok[:])
		b.ns = nsPrefix + strconv.Itoa(os.Getpid()) + "-" + b.token
		out, err := exec.Command("ip", "netns", "add", b.ns).CombinedOutput()
		if err == nil {
			break
		}
		switch {
		case strings.Contains(string(out), "File exists") && try < 5:
			continue
		case strings.Contains(string(out), "Operation not permitted"):
			t.Skipf("needs root with CAP_SYS_ADMIN: creates the testbed's network namespaces (ip netns add: %s)", out)
		}
		t.Fatalf("testbed: ip netns add %s: %v: %s", b.ns, err, out)
	}
	t.Cleanup(b.remove)
	b.AddPeer()
	return b
}

// remove deletes the veth pairs and the namespace. Targets are gone by
// then: their cleanups were registered later, so they ran first.
func (b *Bed) remove() {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, l := range b.links {
		// Deleting one end deletes the pair at once; deleting the
		// namespace alone would leave that to a kernel work queue.
		_ = exec.Command("ip", "link", "del", "dev", l.Host).Run()
	}
	if out, err := exec.Command("ip", "netns", "del", b.ns).CombinedOutput(); err != nil {
		b.t.Errorf("testbed: ip netns del %s: %v: %s", b.ns, err, out)
	}
}

// AddPeer adds another veth pair into the namespace, up at the bed's MTU,
// and returns it. Tests for several paths use it; start a target on the new
// pair with OnIface(link.Peer).
func (b *Bed) AddPeer() Link {
	b.t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	n := len(b.links)
	l := Link{
		Host: fmt.Sprintf("ao%sh%d", b.token, n),
		Peer: fmt.Sprintf("ao%sp%d", b.token, n),
	}
	mtu := strconv.Itoa(b.mtu)
	b.ipLocked("link", "add", "name", l.Host, "mtu", mtu, "type", "veth",
		"peer", "name", l.Peer, "mtu", mtu, "netns", b.ns)
	// Registered before anything else can fail, so remove deletes it.
	b.links = append(b.links, l)
	b.ipLocked("link", "set", "dev", l.Host, "up")
	b.ipLocked("-n", b.ns, "link", "set", "dev", l.Peer, "up")
	b.ipLocked("-n", b.ns, "link", "set", "dev", "lo", "up")

	b.waitReadyLocked(l)
	l.PeerMAC = b.linkInfoLocked("-n", b.ns, l.Peer).Address
	b.links[n] = l
	return l
}

// linkState is what waitReadyLocked and AddPeer read from "ip -j link show".
type linkState struct {
	Address   string `json:"address"`
	Qdisc     string `json:"qdisc"`
	Operstate string `json:"operstate"`
}

// linkInfoLocked reads the state of interface dev; args select the
// namespace ("-n", NAME) or none for the test's own.
func (b *Bed) linkInfoLocked(args ...string) linkState {
	b.t.Helper()
	dev := args[len(args)-1]
	args = append(append([]string{"-j"}, args[:len(args)-1]...), "link", "show", "dev", dev)
	out := b.ipLocked(args...)
	var info []linkState
	if err := json.Unmarshal(out, &info); err != nil || len(info) != 1 {
		b.t.Fatalf("testbed: reading the state of %s: %v: %s", dev, err, out)
	}
	return info[0]
}

// waitReadyLocked waits until both ends of l carry frames. Until the
// kernel's link watcher has seen the carrier come up, an end keeps the
// "noop" qdisc, which drops every frame sent and reports success: a test
// sending at once would lose its first frames.
func (b *Bed) waitReadyLocked(l Link) {
	b.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		h := b.linkInfoLocked(l.Host)
		p := b.linkInfoLocked("-n", b.ns, l.Peer)
		if h.Qdisc != "noop" && p.Qdisc != "noop" && h.Operstate == "UP" && p.Operstate == "UP" {
			return
		}
		if time.Now().After(deadline) {
			b.t.Fatalf("testbed: %s/%s not ready after 5s: host end %+v, namespace end %+v", l.Host, l.Peer, h, p)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// ipLocked runs ip with args and fails the test if it fails.
func (b *Bed) ipLocked(args ...string) []byte {
	b.t.Helper()
	out, err := exec.Command("ip", args...).CombinedOutput()
	if err != nil {
		b.t.Fatalf("testbed: ip %s: %v: %s", strings.Join(args, " "), err, out)
	}
	return out
}

// Namespace returns the name of the bed's network namespace, for
// "ip netns exec NAME ...".
func (b *Bed) Namespace() string { return b.ns }

// Links returns the veth pairs, the first one New made first.
func (b *Bed) Links() []Link {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]Link(nil), b.links...)
}

// HostIface returns the host end of the first pair: where the initiator
// listens.
func (b *Bed) HostIface() string { return b.Links()[0].Host }

// PeerIface returns the namespace end of the first pair: where targets
// listen unless told otherwise.
func (b *Bed) PeerIface() string { return b.Links()[0].Peer }

// SetMTU sets the MTU of both ends of every pair. vblade reads the MTU for
// each request, so running targets follow without a restart.
func (b *Bed) SetMTU(mtu int) {
	b.t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	m := strconv.Itoa(mtu)
	for _, l := range b.links {
		b.ipLocked("link", "set", "dev", l.Host, "mtu", m)
		b.ipLocked("-n", b.ns, "link", "set", "dev", l.Peer, "mtu", m)
	}
	b.mtu = mtu
}

// InNamespace runs fn on the calling goroutine with its thread inside the
// bed's namespace, then moves the thread back. Sockets fn opens stay in the
// namespace after it returns (open a rawport.Port on PeerIface to play the
// target's side). Goroutines fn starts do not run in the namespace.
func (b *Bed) InNamespace(fn func()) {
	b.t.Helper()
	if err := inNamespace("/run/netns/"+b.ns, fn); err != nil {
		b.t.Fatalf("testbed: %v", err)
	}
}

var sweepOnce sync.Once
