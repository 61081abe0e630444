//go:build unix

package core

import "syscall"

// RaiseFileLimit lifts the process's soft limit on open files to its hard
// limit: a server holds a descriptor per connection, per passive port and
// per open file, and distributions start processes at 1024. It returns the
// limit in force.
func RaiseFileLimit() (uint64, error) {
	var l syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &l); err != nil {
		return 0, err
	}
	if l.Cur < l.Max {
		l.Cur = l.Max
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &l); err != nil {
			return 0, err
		}
	}
	return uint64(l.Cur), nil
}
