//go:build !linux

package testbed

import (
	"errors"
	"syscall"
)

func dieWithParent() *syscall.SysProcAttr { return nil }

func inNamespace(path string, fn func()) error {
	return errors.New("network namespaces need Linux")
}

func sweepStale() {}
