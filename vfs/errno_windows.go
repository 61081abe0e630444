//go:build windows

package vfs

import (
	"errors"
	"io/fs"
	"syscall"
)

// errnos maps Windows system error codes (Microsoft's "System Error
// Codes" list) and the POSIX-style numbers Go's os.Root itself returns on
// Windows to the vfs errors. Go's syscall.ENOENT and ENOTDIR are
// ERROR_FILE_NOT_FOUND and ERROR_PATH_NOT_FOUND there: both read as
// fs.ErrNotExist.
var errnos = map[syscall.Errno]error{
	syscall.ERROR_FILE_NOT_FOUND: fs.ErrNotExist,
	syscall.ERROR_PATH_NOT_FOUND: fs.ErrNotExist,
	syscall.ERROR_FILE_EXISTS:    fs.ErrExist,
	syscall.ERROR_ALREADY_EXISTS: fs.ErrExist,
	syscall.EEXIST:               fs.ErrExist,
	syscall.ERROR_ACCESS_DENIED:  fs.ErrPermission,
	syscall.EACCES:               fs.ErrPermission,
	syscall.EPERM:                fs.ErrPermission,
	syscall.ERROR_DIR_NOT_EMPTY:  ErrNotEmpty,
	syscall.ENOTEMPTY:            ErrNotEmpty,
	syscall.EISDIR:               ErrIsDir,
	syscall.Errno(267):           ErrNotDir,      // ERROR_DIRECTORY: the directory name is invalid
	syscall.Errno(39):            ErrNoSpace,     // ERROR_HANDLE_DISK_FULL
	syscall.Errno(112):           ErrNoSpace,     // ERROR_DISK_FULL
	syscall.Errno(1295):          ErrNoSpace,     // ERROR_DISK_QUOTA_EXCEEDED
	syscall.Errno(206):           ErrNameTooLong, // ERROR_FILENAME_EXCED_RANGE
	syscall.ENAMETOOLONG:         ErrNameTooLong,
	syscall.Errno(1921):          ErrLoop, // ERROR_CANT_RESOLVE_FILENAME
	syscall.ELOOP:                ErrLoop,
	syscall.EINVAL:               fs.ErrInvalid,
	syscall.Errno(23):            ErrIO, // ERROR_CRC: data error
	syscall.EIO:                  ErrIO,
}

// sysKind is the vfs error for a system error, nil when there is none.
func sysKind(err error) error {
	var e syscall.Errno
	if errors.As(err, &e) {
		return errnos[e]
	}
	return nil
}
