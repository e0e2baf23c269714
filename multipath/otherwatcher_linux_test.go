package multipath_test

import (
	"testing"

	"github.com/vishvananda/netlink"
)

// startOtherLinkWatcher subscribes to link events as another process's
// watcher would, listing the existing links: its dump request reaches
// every link subscriber.
func startOtherLinkWatcher(t *testing.T) {
	t.Helper()
	updates, done := make(chan netlink.LinkUpdate, 64), make(chan struct{})
	t.Cleanup(func() { close(done) })
	if err := netlink.LinkSubscribeWithOptions(updates, done, netlink.LinkSubscribeOptions{ListExisting: true}); err != nil {
		t.Fatal(err)
	}
}
