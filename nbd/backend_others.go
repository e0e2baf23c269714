//go:build !linux

package nbd

// BackendOf needs Linux's nbd driver; elsewhere no device has a backend.
func BackendOf(devPath string) (string, error) { return "", errNotLinux }

// FindBackend needs Linux's nbd driver; elsewhere nothing is found.
func FindBackend(id string) (string, bool, error) { return "", false, errNotLinux }

// HasNetlink reports false: only Linux has the nbd netlink family.
func HasNetlink() bool { return false }

// SizeOf needs Linux's nbd driver; elsewhere it fails.
func SizeOf(devPath string) (int64, error) { return 0, errNotLinux }
