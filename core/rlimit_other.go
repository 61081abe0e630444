//go:build !unix

package core

// RaiseFileLimit has nothing to raise where the platform has no per-process
// limit on open files that a program may lift; it reports 0.
func RaiseFileLimit() (uint64, error) { return 0, nil }
