package rawport

import "github.com/goaoe/goaoe/initiator"

var _ initiator.Port = (*Port)(nil)
