// An external test package, so that importing initiator makes no import
// cycle through the packages that import rawport (multipath does, for
// Usable).
package rawport_test

import (
	"github.com/goaoe/goaoe/initiator"
	"github.com/goaoe/goaoe/rawport"
)

var _ initiator.Port = (*rawport.Port)(nil)
