package vfs

import "errors"

// Usage is the capacity of the storage that holds a home, as statvfs(3)
// describes a file system (SFTP's statvfs@openssh.com, `df` in OpenSSH's
// sftp, rclone about).
type Usage struct {
	BlockSize   uint64 // fundamental block size: the unit of the counts below
	Blocks      uint64
	BlocksFree  uint64
	BlocksAvail uint64 // free to an unprivileged user
	Files       uint64
	FilesFree   uint64
	NameMax     uint64
	ReadOnly    bool
}

// StatFSer is an FS that can tell its storage's capacity.
type StatFSer interface {
	StatFS() (Usage, error)
}

// StatFS returns the capacity of fsys's storage, or errors.ErrUnsupported
// when the backend cannot tell (the memory backend has no capacity).
func StatFS(fsys FS) (Usage, error) {
	if s, ok := fsys.(StatFSer); ok {
		return s.StatFS()
	}
	return Usage{}, errors.ErrUnsupported
}
