package web

import (
	"errors"
	"io"
	"net/http"
	"path"
	"strings"
	"time"

	"github.com/ferry-project/ferry/core"
)

// maxShareFiles bounds the files of one drop-box upload request.
const maxShareFiles = 100

// upload receives a multipart form (field "file", one or more) into the
// shared folder: through the owner's file system, quota and rights, as
// new files only (a drop box never replaces what is there), each one use
// of the link. The browser's script sends the same form by XHR to show
// progress and asks for JSON (Accept: application/json).
func (v *visit) upload() {
	wantJSON := strings.Contains(v.r.Header.Get("Accept"), "application/json")
	fail := func(status int, msg string) {
		if wantJSON {
			v.fail(status, msg)
			return
		}
		v.sharePage(status, sharePage{Base: v.base(), Error: msg})
	}
	if !v.sh.Upload || !v.dir {
		fail(http.StatusForbidden, "This link does not accept uploads.")
		return
	}
	if max := v.s.cfg.HTTP.MaxUploadSize; max > 0 {
		if v.r.ContentLength > max {
			fail(http.StatusRequestEntityTooLarge, "The upload is larger than the server's limit.")
			return
		}
		v.r.Body = http.MaxBytesReader(v.w, v.r.Body, max)
	}
	if v.r.ContentLength > 0 {
		if err := v.conn().QuotaFits(v.r.ContentLength); err != nil {
			fail(http.StatusInsufficientStorage, "There is no room for these files.")
			return
		}
	}
	mr, err := v.r.MultipartReader()
	if err != nil {
		fail(http.StatusBadRequest, "Send the files as a multipart form.")
		return
	}
	var got []string
	for len(got) < maxShareFiles {
		part, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			fail(http.StatusBadRequest, "The upload was cut short.")
			return
		}
		if part.FormName() != "file" || part.FileName() == "" {
			part.Close()
			continue
		}
		name := path.Base(strings.ReplaceAll(part.FileName(), "\\", "/"))
		if name == "." || name == ".." || name == "/" || strings.HasPrefix(name, ".") || strings.ContainsRune(name, 0) {
			fail(http.StatusBadRequest, "Bad file name.")
			return
		}
		p := path.Join(v.sh.Path, name)
		if status, msg := v.receive(p, part); status != 0 {
			fail(status, msg)
			return
		}
		got = append(got, name)
	}
	if len(got) == 0 {
		fail(http.StatusBadRequest, "No file was sent.")
		return
	}
	if wantJSON {
		writeJSON(v.w, http.StatusCreated, map[string]any{"received": got})
		return
	}
	http.Redirect(v.w, v.r, v.base()+"?sent=1", http.StatusSeeOther)
}

// receive stores one uploaded file at p, a new name in the shared folder;
// it returns a status and message when it did not.
func (v *visit) receive(p string, body io.Reader) (int, string) {
	if _, err := v.fsys.Lstat(p); err == nil {
		return http.StatusConflict, "A file of that name was already delivered; rename yours and try again."
	}
	if !v.use(p, "upload") {
		return http.StatusGone, "This link has been used up."
	}
	up, err := v.fsys.Create(p)
	if err != nil {
		return uploadRefusal(err)
	}
	start := time.Now()
	t := &core.Transfer{Stall: v.s.cfg.Limits.StallTimeout.Duration, Deadline: http.NewResponseController(v.w).SetReadDeadline,
		Hash: v.conn().Digests(), Rate: v.conn().Rate(core.Up)}
	n, err := t.Receive(up, body)
	if err == nil {
		err = up.Commit()
	} else {
		up.Abort()
	}
	_ = http.NewResponseController(v.w).SetReadDeadline(time.Time{})
	if err != nil {
		ev := core.Event{Kind: core.EventUpload, Path: p, Bytes: n, Duration: time.Since(start), Err: err, Attrs: []any{"share", v.sh.ID}}
		if errors.Is(err, core.ErrPeer) {
			ev.Result = core.ResultAborted
		}
		v.conn().Emit(ev)
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return http.StatusRequestEntityTooLarge, "The upload is larger than the server's limit."
		}
		return uploadRefusal(err)
	}
	v.conn().Emit(core.Event{Kind: core.EventUpload, Path: p, Bytes: n, Duration: time.Since(start), SHA256: t.Sum(n), Attrs: []any{"share", v.sh.ID}})
	return 0, ""
}

// uploadRefusal maps a file-system error of a drop-box upload to what the
// visitor is told, by the table of fserror.go (no path is named).
func uploadRefusal(err error) (int, string) {
	if errors.Is(err, core.ErrPeer) {
		return http.StatusBadRequest, "The upload was interrupted; nothing was saved."
	}
	for _, st := range fsStatuses {
		if errors.Is(err, st.err) {
			return st.status, "The file could not be saved: " + st.msg + "."
		}
	}
	return http.StatusInternalServerError, "The file could not be saved."
}
