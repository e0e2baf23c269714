//go:build !linux

package multipath

import (
	"context"
	"errors"
)

// Run needs Linux's rtnetlink.
func (w *Watcher) Run(ctx context.Context) error {
	return errors.ErrUnsupported
}
