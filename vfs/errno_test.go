//go:build unix

package vfs

import (
	"errors"
	"io/fs"
	"os"
	"strings"
	"syscall"
	"testing"
)

// TestKind: system errors become the vfs errors, with no server path left
// in the text.
func TestKind(t *testing.T) {
	for errno, want := range map[syscall.Errno]error{
		syscall.ENOSPC: ErrNoSpace, syscall.EDQUOT: ErrNoSpace, syscall.ENOTEMPTY: ErrNotEmpty,
		syscall.ENAMETOOLONG: ErrNameTooLong, syscall.ELOOP: ErrLoop, syscall.EIO: ErrIO,
		syscall.EISDIR: ErrIsDir, syscall.ENOTDIR: ErrNotDir, syscall.ENOENT: fs.ErrNotExist,
		syscall.EEXIST: fs.ErrExist, syscall.EACCES: fs.ErrPermission,
	} {
		err := fail("write", "/v/p", &fs.PathError{Op: "write", Path: "/srv/homes/alice/p", Err: errno})
		if !errors.Is(err, want) || strings.Contains(err.Error(), "/srv") {
			t.Errorf("%v became %v, want %v", errno, err, want)
		}
	}
	if k := kind(&os.LinkError{Op: "rename", Old: "/srv/a", New: "/srv/b", Err: syscall.EXDEV}); k != syscall.EXDEV {
		t.Errorf("an error without a name became %v, want the bare errno", k)
	}
	if errors.Is(fail("x", "/p", syscall.ENOTEMPTY), fs.ErrExist) {
		t.Error("ENOTEMPTY still reads as fs.ErrExist")
	}
}
