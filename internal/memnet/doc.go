// Package memnet is an in-memory Ethernet segment and AoE target for tests
// of the engine: ports that implement initiator.Port, a switch that can
// lose, duplicate, reorder and delay frames, and a target that behaves like
// vblade (a buffer count past which requests are dropped, FLUSH CACHE but
// not FLUSH CACHE EXT, ABRT for writes when read-only).
//
// TargetConfig.Quirks make the target behave like AoE targets other than
// vblade instead: control commands dropped or refused, flushes echoed,
// aborted or not claimed, FLUSH CACHE EXT served, buffer count or firmware
// advertised as 0, an announcement with AoE version 0. TargetConfig.Disk
// puts the disk in any io.ReaderAt/io.WriterAt (a file), so the same target
// can serve real data on a real link (NewTargetOn with a raw socket, as
// internal/testbed/quirktarget does).
//
// Everything blocks on channels and timers, never on sockets, so tests can
// run it inside a testing/synctest bubble with time under their control.
package memnet
