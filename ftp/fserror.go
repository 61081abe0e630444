package ftp

import (
	"errors"
	"io/fs"

	"github.com/ferry-project/ferry/core"
	"github.com/ferry-project/ferry/vfs"
)

// fsReplies is the one table from the errors of storage to FTP replies,
// for every command and transfer. Codes are RFC 959's (§4.2): 550 the
// file is unavailable, 553 the name is not allowed, 452 insufficient
// storage; 554 is RFC 3659's answer to a REST past the end (§5.5). The
// first match wins: ErrReadOnly, ErrEscape and ErrNotAllowed are also fs.ErrPermission,
// ErrNoSpace is also ErrIO. No text names a server path.
var fsReplies = []struct {
	err  error
	code int
	text string
}{
	{vfs.ErrReadOnly, 550, "Permission denied: read-only account"},
	{vfs.ErrEscape, 550, "Permission denied: the path leads outside your home directory"},
	{vfs.ErrNotAllowed, 550, "Permission denied: not allowed in this folder"},
	{fs.ErrPermission, 550, "Permission denied"},
	{vfs.ErrCrossMount, 553, "Cannot move between virtual folders: copy instead"},
	{fs.ErrNotExist, 550, "No such file or directory"},
	{fs.ErrExist, 550, "File exists"},
	{vfs.ErrNotEmpty, 550, "Directory not empty"},
	{vfs.ErrIsDir, 550, "Is a directory"},
	{vfs.ErrNotDir, 550, "Not a directory"},
	{vfs.ErrLoop, 550, "Too many levels of symbolic links"},
	{vfs.ErrNameTooLong, 553, "File name too long"},
	{fs.ErrInvalid, 553, "File name not allowed"},
	{vfs.ErrBadOffset, 554, "Restart offset is beyond the end of the file"},
	{vfs.ErrNotSupported, 504, "Not supported by this storage"},
	{core.ErrQuota, 552, "Quota exceeded"},
	{vfs.ErrNoSpace, 452, "Insufficient storage space"},
	{vfs.ErrIO, 451, "Local error in processing: storage failure"},
}

// fsReply is the reply to a failed file operation. An escape is logged as
// the attempt it is; an error the table does not know is logged for the
// administrator, and the client learns only that the server failed.
func (s *session) fsReply(err error) (int, string) {
	for _, r := range fsReplies {
		if errors.Is(err, r.err) {
			if r.err == vfs.ErrEscape {
				s.cn.Refuse(vfs.PathOf(err), "outside the home")
			}
			return r.code, r.text
		}
	}
	s.log.Error("file operation failed", "err", err)
	return 451, "Local error in processing"
}

// fsFail replies to a failed file operation.
func (s *session) fsFail(err error) {
	code, text := s.fsReply(err)
	s.reply(code, text)
}
