//go:build unix

package vfs

import (
	"errors"
	"io/fs"
	"syscall"
)

// errnos maps the system's error numbers to the vfs errors (errno(3)).
// EDQUOT is a quota the administrator set on the disk: to the user it is
// a full disk, as it is to the protocols. EIO, EFBIG and EROFS are the
// storage failing, not the request.
var errnos = map[syscall.Errno]error{
	syscall.ENOENT:       fs.ErrNotExist,
	syscall.EEXIST:       fs.ErrExist,
	syscall.EACCES:       fs.ErrPermission,
	syscall.EPERM:        fs.ErrPermission,
	syscall.ENOTEMPTY:    ErrNotEmpty,
	syscall.EISDIR:       ErrIsDir,
	syscall.ENOTDIR:      ErrNotDir,
	syscall.ENOSPC:       ErrNoSpace,
	syscall.EDQUOT:       ErrNoSpace,
	syscall.ENAMETOOLONG: ErrNameTooLong,
	syscall.ELOOP:        ErrLoop,
	syscall.EINVAL:       fs.ErrInvalid,
	syscall.EIO:          ErrIO,
	syscall.EFBIG:        ErrIO,
	syscall.EROFS:        ErrIO,
}

// sysKind is the vfs error for a system error, nil when there is none.
func sysKind(err error) error {
	var e syscall.Errno
	if errors.As(err, &e) {
		return errnos[e]
	}
	return nil
}
