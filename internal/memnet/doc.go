// Package memnet is an in-memory Ethernet segment and AoE target for tests
// of the engine: ports that implement initiator.Port, a switch that can
// lose, duplicate, reorder and delay frames, and a target that behaves like
// vblade (a buffer count past which requests are dropped, FLUSH CACHE but
// not FLUSH CACHE EXT, ABRT for writes when read-only).
//
// Everything blocks on channels and timers, never on sockets, so tests can
// run it inside a testing/synctest bubble with time under their control.
package memnet
