package web

import (
	"errors"
	"io/fs"
	"net/http"
	"strings"
	"time"

	"github.com/ferry-project/ferry/core"
	"github.com/ferry-project/ferry/vfs"
	"golang.org/x/net/webdav"
)

// davPrefix is where WebDAV (RFC 4918, classes 1 and 2) is served on the
// site: https://HOST/dav/ is what Windows' "Map network drive", macOS
// Finder's "Connect to Server", davfs2, rclone and cadaver are given.
const davPrefix = "/dav"

// dav serves /dav/ with golang.org/x/net/webdav over the session's file
// system. Only Basic and bearer credentials are accepted, through the same
// login path, lockout and session limits as the API: a browser cookie
// would let another site's page send DAV methods in the user's name.
func (s *Server) dav(rq *request) {
	if rq.r.Header.Get("Authorization") == "" {
		rq.unauthorized("authentication required")
		return
	}
	if !rq.authenticate() {
		return
	}
	if s.davIndex(rq) {
		return
	}
	rc := http.NewResponseController(rq.w)
	deadline := rc.SetWriteDeadline
	if rq.r.Method == http.MethodPut {
		deadline = rc.SetReadDeadline
		if max := s.cfg.HTTP.MaxUploadSize; max > 0 {
			if rq.r.ContentLength > max {
				rq.fail(http.StatusRequestEntityTooLarge, "upload larger than the server's limit (http.max_upload_size)")
				return
			}
			rq.r.Body = http.MaxBytesReader(rq.w, rq.r.Body, max)
		}
	} else if !davBody(rq) {
		return
	}
	du := s.davLocks.of(rq.user.Name)
	d := &davFS{
		fsys:  rq.conn().FS(),
		cn:    rq.conn(),
		t:     &core.Transfer{Stall: s.cfg.Limits.StallTimeout.Duration, Deadline: deadline},
		props: &du.props,
	}
	get := rq.r.Method == http.MethodGet
	if get {
		rq.w.Header().Set("Content-Security-Policy", cspFile)
		if bc, ok := rq.ctx().Value(batchKey{}).(*core.BatchConn); ok {
			bc.Batch(true)
			defer bc.Batch(false)
		}
	}
	w := &davWriter{ResponseWriter: rq.w, rq: rq, d: d}
	h := &webdav.Handler{Prefix: davPrefix, FileSystem: d, LockSystem: davLockView{t: &du.locks, d: d}}
	if rq.r.Method == "LOCK" {
		clampTimeout(rq.r.Header)
	}
	if rq.r.Method == "MKCOL" {
		du.mkcol.Lock()
		defer du.mkcol.Unlock()
	}
	start := time.Now()
	h.ServeHTTP(w, rq.r)
	_ = rc.SetWriteDeadline(time.Time{})
	_ = rc.SetReadDeadline(time.Time{})
	if get && w.status < 400 {
		result := core.ResultOK
		if rq.ctx().Err() != nil {
			result = core.ResultAborted
		}
		rq.conn().Emit(core.Event{Kind: core.EventDownload, Path: vpath(strings.TrimPrefix(rq.r.URL.Path, davPrefix)),
			Bytes: d.read, Duration: time.Since(start), Result: result, Attrs: []any{"via", "webdav", "range", rq.r.Header.Get("Range")}})
	}
}

// davWriter replaces webdav's error answer with this package's (the one
// table, fsStatuses) when a storage error caused it and webdav's own
// answer would be generic: permission and read-only (webdav says 404 or
// 405), a full disk (507, RFC 4918 §11.5), a storage failure, a name too
// long, a loop, a folder where a file was meant, an upload over
// http.max_upload_size. Webdav's own answers to a missing or existing name
// (404, 409, 405, 412) are the ones RFC 4918 asks for and stay.
type davWriter struct {
	http.ResponseWriter
	rq       *request
	d        *davFS
	status   int
	replaced bool
}

func (w *davWriter) WriteHeader(status int) {
	if w.status != 0 {
		return
	}
	w.status = status
	err := w.d.err
	var mbe *http.MaxBytesError
	switch {
	case status < 400 || err == nil:
	case errors.As(err, &mbe):
		w.replaced = true
		w.rq.fail(http.StatusRequestEntityTooLarge, "upload larger than the server's limit (http.max_upload_size)")
		return
	case errors.Is(err, errTooManyLocks):
		w.replaced = true
		w.rq.fail(http.StatusInsufficientStorage, err.Error())
		return
	case errors.Is(err, fs.ErrPermission), errors.Is(err, vfs.ErrIO), errors.Is(err, vfs.ErrNameTooLong),
		errors.Is(err, vfs.ErrLoop), errors.Is(err, vfs.ErrIsDir):
		w.replaced = true
		p := vfs.PathOf(err)
		if p == "" {
			p = vpath(strings.TrimPrefix(w.rq.r.URL.Path, davPrefix))
		}
		w.rq.fsError(p, err)
		return
	}
	w.ResponseWriter.WriteHeader(status)
}

func (w *davWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.WriteHeader(http.StatusOK)
	}
	if w.replaced {
		return len(b), nil // webdav's own text after the answer was replaced
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap gives http.ResponseController the connection's writer.
func (w *davWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
