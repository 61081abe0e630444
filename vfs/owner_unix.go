//go:build unix

package vfs

import (
	"io/fs"
	"syscall"
)

// Owner returns the numeric owner, group and link count of fi when the
// platform has them (ok false elsewhere, with one link).
func Owner(fi fs.FileInfo) (uid, gid uint32, nlink uint64, ok bool) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return 0, 0, 1, false
	}
	return st.Uid, st.Gid, uint64(st.Nlink), true
}
