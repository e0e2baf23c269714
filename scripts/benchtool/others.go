//go:build !linux

package main

import "errors"

// The measuring subcommands need Linux (O_DIRECT, /proc, /sys); table
// works anywhere.

var errLinuxOnly = errors.New("needs Linux")

func randreadCmd([]string) error { return errLinuxOnly }

type kicker struct{}

func startKicker(string, string, string) (*kicker, error) { return nil, errLinuxOnly }

func (*kicker) close() int64 { return 0 }

func markCmdMain([]string) error { return errLinuxOnly }

func wireCmdMain([]string) error { return errLinuxOnly }

func memdiskCmd([]string) error { return errLinuxOnly }
