// Package session is one attached target on this host: the serving process
// that joins the AoE engine to an nbd device, the state it publishes for
// aoe-stat, and how aoe-detach finds it and ends it.
//
// It is its own package because three commands share it: aoe-attach runs a
// session, aoe-stat reads sessions' state files, aoe-detach stops them.
//
// # Files
//
// Each session keeps, in RunDir (/run/goaoe):
//   - eX.Y.lock: flock'ed by the serving process for its whole life, so a
//     second attach of the same target is refused and a process killed
//     with SIGKILL leaves nothing that looks alive;
//   - eX.Y.json: the State, rewritten every second;
//   - eX.Y.log: the serving process's log when it runs in the background.
package session
