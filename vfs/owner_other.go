//go:build !unix

package vfs

import "io/fs"

// Owner has no numeric owner to give on this platform: one link, ok false.
func Owner(fs.FileInfo) (uid, gid uint32, nlink uint64, ok bool) { return 0, 0, 1, false }
