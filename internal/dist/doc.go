// Package dist is where the ways goaoe is put on a host are tested:
// scripts/install (make install) lays out the commands, their man pages
// and completion and the systemd units, and scripts/package wraps the
// same files in a Debian package that dpkg installs and removes cleanly.
// It has no code of its own.
package dist
