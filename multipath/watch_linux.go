//go:build linux

package multipath

import (
	"context"
	"fmt"
	"net"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/goaoe/goaoe/rawport"
)

// Run follows the host's link events (rtnetlink) until ctx is done,
// starting with the links that exist now.
func (w *Watcher) Run(ctx context.Context) error {
	updates := make(chan netlink.LinkUpdate, 64)
	done := make(chan struct{})
	defer close(done)
	errc := make(chan error, 1)
	err := netlink.LinkSubscribeWithOptions(updates, done, netlink.LinkSubscribeOptions{
		ListExisting: true,
		ErrorCallback: func(err error) {
			select {
			case errc <- err:
			default:
			}
		},
	})
	if err != nil {
		return fmt.Errorf("watch link events: %w", err)
	}
	for {
		select {
		case u, ok := <-updates:
			if !ok {
				return fmt.Errorf("link events stopped")
			}
			w.Apply(ctx, linkOf(u))
		case err := <-errc:
			// Not the end: the subscription goes on (a closed updates
			// channel is the end). One such error is another link
			// watcher's dump request, which rtnetlink multicasts to every
			// subscriber: each aoe-attach starting would otherwise stop
			// all the others from following links.
			w.cfg.Logf("link events: %v (still following them)", err)
		case <-ctx.Done():
			return nil
		}
	}
}

// linkOf is what one link event says. Usability is rawport's: netlink
// derives the attributes' net.Flags from the link's IFF_ flags (IFF_UP,
// IFF_RUNNING, IFF_LOOPBACK among them), which is all rawport.Usable reads
// besides the hardware address.
func linkOf(u netlink.LinkUpdate) Link {
	a := u.Link.Attrs()
	return Link{
		Name:    a.Name,
		Deleted: u.Header.Type == unix.RTM_DELLINK,
		Usable:  rawport.Usable(&net.Interface{Name: a.Name, Flags: a.Flags, HardwareAddr: a.HardwareAddr}),
	}
}
