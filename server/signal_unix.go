//go:build unix

package server

import "syscall"

// signalReload sends SIGHUP, the signal `ferry serve` reloads on.
func signalReload(pid int) error { return syscall.Kill(pid, syscall.SIGHUP) }
