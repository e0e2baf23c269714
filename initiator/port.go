package initiator

import "github.com/goaoe/goaoe/multipath"

// Port is one local Ethernet interface as the engine sees it (see
// multipath.Port, where the set of paths is decided).
type Port = multipath.Port

// PartsSender is a Port that sends each frame from its headers and its
// data without joining them (see multipath.PartsSender).
type PartsSender = multipath.PartsSender
