//go:build !linux

package multipath_test

import "testing"

// startOtherLinkWatcher: link events are Linux's; elsewhere nothing.
func startOtherLinkWatcher(t *testing.T) {}
