package web

import (
	"errors"
	"io/fs"
	"net/http"

	"github.com/ferry-project/ferry/core"
	"github.com/ferry-project/ferry/vfs"
)

// fsStatuses is the one table from the errors of storage to HTTP answers
// (RFC 9110 §15; 507 Insufficient Storage is RFC 4918 §11.5; 502 is its
// answer to a MOVE into another repository, §9.9.4, here a virtual folder). The first
// match wins: ErrReadOnly, ErrEscape and ErrNotAllowed are also fs.ErrPermission,
// ErrNoSpace is also ErrIO. No message names a server path.
var fsStatuses = []struct {
	err    error
	status int
	msg    string
}{
	{vfs.ErrReadOnly, http.StatusForbidden, "read-only account"},
	{vfs.ErrEscape, http.StatusForbidden, "permission denied"},
	{vfs.ErrNotAllowed, http.StatusForbidden, "not allowed in this folder"},
	{fs.ErrPermission, http.StatusForbidden, "permission denied"},
	{vfs.ErrCrossMount, http.StatusBadGateway, "cannot move between virtual folders: copy instead"},
	{fs.ErrNotExist, http.StatusNotFound, "no such file or folder"},
	{fs.ErrExist, http.StatusConflict, "already exists"},
	{vfs.ErrNotEmpty, http.StatusConflict, "Directory not empty"},
	{vfs.ErrIsDir, http.StatusConflict, "is a directory"},
	{vfs.ErrNotDir, http.StatusConflict, "not a directory"},
	{vfs.ErrLoop, http.StatusBadRequest, "too many levels of symbolic links"},
	{vfs.ErrNameTooLong, http.StatusRequestURITooLong, "name too long"},
	{fs.ErrInvalid, http.StatusConflict, "not possible on this kind of entry"},
	{vfs.ErrBadOffset, http.StatusRequestedRangeNotSatisfiable, "offset beyond the end of the file"},
	{vfs.ErrNotSupported, http.StatusNotImplemented, "not supported by this storage"},
	{core.ErrQuota, http.StatusInsufficientStorage, "quota exceeded"},
	{vfs.ErrNoSpace, http.StatusInsufficientStorage, "insufficient storage"},
	{vfs.ErrIO, http.StatusInternalServerError, "storage failure"},
}

// fsError answers a failed file operation on p (the user's own path). An
// escape is logged as the attempt it is; an error the table does not know
// is logged for the administrator and answered 500.
func (rq *request) fsError(p string, err error) {
	for _, st := range fsStatuses {
		if errors.Is(err, st.err) {
			if st.err == vfs.ErrEscape {
				rq.conn().Refuse(p, "outside the home")
			}
			rq.fail(st.status, st.msg+": "+p)
			return
		}
	}
	rq.s.log.Error("file operation", "user", rq.user.Name, "path", p, "err", err)
	rq.fail(http.StatusInternalServerError, "internal error: "+p)
}
