// Package multipath owns how a target's frames are spread over the host's
// NICs: which paths exist, and what the engine decides per path and per
// frame. A path is one local Port and one of the target's MACs (a target
// port); each has a Window, an RTT and a Health, and Pick chooses the
// path for each frame. These are plain values with explicit inputs: time
// is passed in, no clock is read, no lock taken, nothing allocated per
// frame. Package initiator holds one of each per path, under its
// per-target lock, and calls them as frames go out, come back or time
// out:
//
//	frame to send ─▶ initiator fills []Candidate ─▶ Pick ─▶ Port.Send
//	reply         ─▶ RTT.Sample, Window.OnReply, Health.OnReply
//	timeout       ─▶ Health.OnLoss, Window.OnLoss ─▶ Health.ShouldEject
//	late reply    ─▶ Health.OnLate, Window.Undo
//	sweep         ─▶ Health.ProbeDue ─▶ a config query down the path
//
// # Ports and links
//
// Port is a local Ethernet interface as the engine sees it, its only way
// to the network. A Watcher keeps an Engine's ports in step with the
// host's links (rtnetlink): a link that comes up is opened and the
// targets are asked for their config (Queries.LinkUp: three times over a
// second, since the first frames on a new link can vanish), so its paths
// join; one that goes down is removed at once, and the engine sends its
// frames again on the others. The Watcher is the one place that acts on
// link state: a Port only reports it (rawport's Receive counts a link
// going down and waits quietly, as on a link where nothing arrives,
// until the link is back or the Port is closed). An engine without a
// Watcher (aoe-discover, which lives for seconds) keeps its ports
// through a link going down and up, and a path that lost frames meanwhile
// is ejected and probed back as any other.
//
// # Config queries
//
// Paths are learned from config query answers. Queries owns when they
// are sent, on one QuerySchedule: periodically (a session's, every
// RequeryInterval), faster while a target has not answered
// (discovery.WaitFor, every AwaitInterval) and in a burst when a link
// comes up (the Watcher). A path that is out is probed by its Health, on
// a QuerySchedule of its own (every ProbeInterval).
//
// # Window
//
// A path's window starts at the target's buffer count and keeps it
// through random loss: the buffer count is the target's promise, so a
// loss within it was the link's (the kernel driver falls to one frame
// there, and crawls). Past it, the window probes for the room many
// targets have beyond what they advertise, up to Overcommit times the
// buffer count, and backs off where the target drops. The frames of one
// round trip lost together cut it once; a late reply that shows a loss
// was none undoes the cut. A path back in use restarts from a quarter of
// the buffer count.
//
// # RTT
//
// Smoothed round trip and mean deviation (Jacobson/Karels), with the peak
// of the last few seconds kept so that a path that stalls now and then
// does not time out on every stall; the retransmit timeout doubles per
// retry within the engine's bounds.
//
// # Health
//
// The share of recent frames lost (the balancer spares a lossy path), and
// the losses in a row: EjectAfter of them take a path out unless it is
// the last one up. A path that is out carries no data, only a config
// query every ProbeInterval, until it answers.
//
// # Choosing a path
//
// Pick takes, of the paths up whose frames are large enough, the one with
// the most free room in its window, divided by its RTT and by its loss,
// so a slow or lossy path takes a share in proportion to what it carries.
// A path not measured yet counts as fast as the fastest (it must carry
// frames to be measured), and the path a retransmit timed out on is taken
// only if no other has room. Room is counted within what the target port
// may hold: several paths to one target port share its buffer count (a
// slow link's share of more would sit queued on it, and a drop could not
// be told from the link's loss); a lone path may probe to its window's
// ceiling.
package multipath
