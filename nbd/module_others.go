//go:build !linux

package nbd

// LoadModule needs Linux's nbd driver; elsewhere it fails.
func LoadModule() error { return errNotLinux }
