//go:build !linux

package nbd

import (
	"context"
	"errors"
	"fmt"

	"github.com/goaoe/goaoe/nbd/server"
)

var errNotLinux = fmt.Errorf("nbd: kernel NBD devices exist only on Linux: %w", errors.ErrUnsupported)

// Attach needs Linux's nbd driver; elsewhere it fails.
func Attach(ctx context.Context, devPath string, b server.Backend, opts Options) error {
	return errNotLinux
}

// Disconnect needs Linux's nbd driver; elsewhere it fails.
func Disconnect(devPath string) error { return errNotLinux }

// SetReadOnly needs Linux; elsewhere it fails.
func SetReadOnly(devPath string) error { return errNotLinux }

// Resize needs Linux's nbd driver; elsewhere it fails.
func Resize(devPath string, size int64, o Options) error { return errNotLinux }
