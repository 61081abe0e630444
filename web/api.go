package web

import (
	"errors"
	"io"
	"io/fs"
	"mime"
	"net/http"
	"net/url"
	"os"
	"path"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/ferry-project/ferry/vfs"
)

const filesPrefix = "/api/v1/files"

// errTraversal is returned for a request path with "." or ".." segments,
// plain or percent-encoded, or a segment that decodes to a slash or NUL.
var errTraversal = errors.New("path traversal refused")

// virtualPath turns the escaped URL path after /api/v1/files into a vfs
// path. Each segment is decoded on its own so "%2F" cannot join two.
func virtualPath(escaped string) (string, error) {
	var segs []string
	for seg := range strings.SplitSeq(escaped, "/") {
		if seg == "" {
			continue
		}
		s, err := url.PathUnescape(seg)
		if err != nil {
			return "", errors.New("malformed percent-encoding in path")
		}
		if s == "." || s == ".." || strings.ContainsAny(s, "/\x00") {
			return "", errTraversal
		}
		segs = append(segs, s)
	}
	return "/" + strings.Join(segs, "/"), nil
}

// targetPath reads the to= of a rename: absolute in the user's home, or
// relative to the source's folder.
func targetPath(src, to string) (string, error) {
	if to == "" {
		return "", errors.New("rename needs to=NEWPATH")
	}
	if !strings.HasPrefix(to, "/") {
		to = path.Dir(src) + "/" + to
	}
	for seg := range strings.SplitSeq(to, "/") {
		if seg == "." || seg == ".." || strings.ContainsRune(seg, 0) {
			return "", errTraversal
		}
	}
	return vfs.Clean("/", to), nil
}

// entry is one row of a folder listing.
type entry struct {
	Name     string    `json:"name"`
	Type     string    `json:"type"` // file, dir, or other
	Size     int64     `json:"size"`
	Modified time.Time `json:"modified"`
	Link     bool      `json:"link,omitempty"` // a symbolic link (to Type)
}

type listing struct {
	Path     string  `json:"path"`
	ReadOnly bool    `json:"read_only"`
	Entries  []entry `json:"entries"`
}

// files serves /api/v1/files/PATH.
func (s *Server) files(rq *request) {
	p, err := virtualPath(strings.TrimPrefix(rq.r.URL.EscapedPath(), filesPrefix))
	if err != nil {
		rq.fail(http.StatusBadRequest, err.Error())
		return
	}
	switch rq.r.Method {
	case http.MethodGet, http.MethodHead, http.MethodPut, http.MethodDelete, http.MethodPost:
	default:
		rq.w.Header().Set("Allow", "GET, HEAD, PUT, DELETE, POST")
		rq.fail(http.StatusMethodNotAllowed, "method not allowed")
		return
	}
	if !rq.authenticate() {
		return
	}
	fsys, err := vfs.New(rq.user.Home, rq.user.ReadOnly)
	if err != nil {
		s.log.Error("open home", "user", rq.user.Name, "err", err)
		rq.fail(http.StatusInternalServerError, "home folder unavailable")
		return
	}
	defer fsys.Close()
	switch rq.r.Method {
	case http.MethodGet, http.MethodHead:
		s.get(rq, fsys, p)
	case http.MethodPut:
		s.put(rq, fsys, p)
	case http.MethodDelete:
		s.delete(rq, fsys, p)
	case http.MethodPost:
		switch op := rq.r.URL.Query().Get("op"); op {
		case "mkdir":
			s.mkdir(rq, fsys, p)
		case "rename":
			s.rename(rq, fsys, p)
		default:
			rq.fail(http.StatusBadRequest, "unknown op "+strconv.Quote(op)+": use op=mkdir or op=rename")
		}
	}
}

// fsError maps a vfs error to a status and a message that names the path
// but not the server's directories.
func (rq *request) fsError(p string, err error) {
	status, msg := http.StatusInternalServerError, "internal error"
	var errno syscall.Errno
	switch {
	case errors.Is(err, vfs.ErrReadOnly):
		status, msg = http.StatusForbidden, "read-only account"
	case errors.Is(err, fs.ErrNotExist):
		status, msg = http.StatusNotFound, "no such file or folder"
	case errors.Is(err, fs.ErrExist):
		status, msg = http.StatusConflict, "already exists"
	case escapes(err), errors.Is(err, fs.ErrPermission):
		status, msg = http.StatusForbidden, "permission denied"
	case errors.As(err, &errno) && errno == syscall.ENOTEMPTY:
		status, msg = http.StatusConflict, "folder is not empty"
	case errors.As(err, &errno) && (errno == syscall.EISDIR || errno == syscall.ENOTDIR || errno == syscall.EINVAL):
		status, msg = http.StatusConflict, "not possible on this kind of entry"
	default:
		var pe *fs.PathError
		if errors.As(err, &pe) && (pe.Err.Error() == "is a directory" || pe.Err.Error() == "not a directory" || pe.Err.Error() == "not a regular file") {
			status, msg = http.StatusConflict, pe.Err.Error()
		} else {
			rq.s.log.Error("file operation", "user", rq.user.Name, "path", p, "err", err)
		}
	}
	rq.fail(status, msg+": "+p)
}

// escapes reports an os.Root refusal: a symbolic link or path that leads
// outside the home.
func escapes(err error) bool {
	var pe *fs.PathError
	return errors.As(err, &pe) && pe.Err.Error() == "path escapes from parent"
}

func (s *Server) get(rq *request, fsys *vfs.FS, p string) {
	fi, err := fsys.Stat(p)
	if err != nil {
		rq.fsError(p, err)
		return
	}
	if fi.IsDir() {
		s.list(rq, fsys, p)
		return
	}
	f, err := fsys.Open(p)
	if err != nil {
		rq.fsError(p, err)
		return
	}
	defer f.Close()
	if fi, err = f.Stat(); err != nil {
		rq.fsError(p, err)
		return
	}
	h := rq.w.Header()
	h.Set("Content-Security-Policy", cspFile)
	h.Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": path.Base(p)}))
	h.Set("Cache-Control", "private, no-cache")
	if h.Get("Content-Type") == "" {
		ct := mime.TypeByExtension(path.Ext(p))
		if ct == "" {
			ct = "application/octet-stream"
		}
		h.Set("Content-Type", ct)
	}
	start := time.Now()
	rc := http.NewResponseController(rq.w)
	body := &paced{f: f, rc: rc, idle: s.cfg.Limits.IdleTimeout.Duration}
	http.ServeContent(rq.w, rq.r, path.Base(p), fi.ModTime(), body)
	// The next request on this keep-alive connection starts without one.
	_ = rc.SetWriteDeadline(time.Time{})
	if rq.r.Method == http.MethodGet {
		rq.logAttrs("download", "path", p, "bytes", body.n, "range", rq.r.Header.Get("Range"), "seconds", time.Since(start).Seconds())
	}
}

// paced reads a download and pushes the connection's write deadline ahead
// on every read, so a stalled client is dropped after the idle timeout
// while a slow but moving one is not.
type paced struct {
	f    *os.File
	rc   *http.ResponseController
	idle time.Duration
	n    int64
}

func (p *paced) Read(b []byte) (int, error) {
	_ = p.rc.SetWriteDeadline(time.Now().Add(p.idle))
	n, err := p.f.Read(b)
	p.n += int64(n)
	return n, err
}

func (p *paced) Seek(off int64, whence int) (int64, error) { return p.f.Seek(off, whence) }

func (s *Server) list(rq *request, fsys *vfs.FS, p string) {
	infos, err := fsys.ReadDir(p)
	if err != nil {
		rq.fsError(p, err)
		return
	}
	out := listing{Path: p, ReadOnly: rq.user.ReadOnly, Entries: make([]entry, 0, len(infos))}
	for _, fi := range infos {
		e := entry{Name: fi.Name(), Size: fi.Size(), Modified: fi.ModTime().UTC()}
		if fi.Mode()&fs.ModeSymlink != 0 {
			e.Link = true
			if t, err := fsys.Stat(path.Join(p, fi.Name())); err == nil {
				fi = t
				e.Size, e.Modified = t.Size(), t.ModTime().UTC()
			}
		}
		switch {
		case fi.IsDir():
			e.Type, e.Size = "dir", 0
		case fi.Mode().IsRegular():
			e.Type = "file"
		default:
			e.Type = "other"
		}
		out.Entries = append(out.Entries, e)
	}
	writeJSON(rq.w, http.StatusOK, out)
}

// copyBufs holds the buffers of uploads: big enough for few syscalls,
// pooled so memory stays flat however many bytes pass.
var copyBufs = sync.Pool{New: func() any { b := make([]byte, 1<<20); return &b }}

func (s *Server) put(rq *request, fsys *vfs.FS, p string) {
	if p == "/" {
		rq.fail(http.StatusConflict, "cannot upload over the home folder")
		return
	}
	if max := s.cfg.HTTP.MaxUploadSize; max > 0 {
		if rq.r.ContentLength > max {
			rq.fail(http.StatusRequestEntityTooLarge, "upload larger than the server's limit (http.max_upload_size)")
			return
		}
		rq.r.Body = http.MaxBytesReader(rq.w, rq.r.Body, max)
	}
	_, err := fsys.Lstat(p)
	existed := err == nil
	up, err := fsys.Create(p)
	if err != nil {
		rq.fsError(p, err)
		return
	}
	start := time.Now()
	rc := http.NewResponseController(rq.w)
	idle := s.cfg.Limits.IdleTimeout.Duration
	bp := copyBufs.Get().(*[]byte)
	defer copyBufs.Put(bp)
	var n int64
	buf := *bp
	for {
		// Fill the buffer before writing: a body read returns one TLS
		// record (16 KiB) at most, and one write per record would cost 64
		// system calls per MiB.
		m, rerr := 0, error(nil)
		for m < len(buf) && rerr == nil {
			_ = rc.SetReadDeadline(time.Now().Add(idle))
			var k int
			k, rerr = rq.r.Body.Read(buf[m:])
			m += k
		}
		if m > 0 {
			if _, werr := up.File.Write(buf[:m]); werr != nil {
				up.Abort()
				rq.fsError(p, werr)
				return
			}
			n += int64(m)
		}
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			up.Abort()
			var mbe *http.MaxBytesError
			if errors.As(rerr, &mbe) {
				rq.fail(http.StatusRequestEntityTooLarge, "upload larger than the server's limit (http.max_upload_size)")
				return
			}
			rq.s.log.Warn("upload aborted", "user", rq.user.Name, "remote", rq.r.RemoteAddr, "path", p, "bytes", n, "err", rerr)
			rq.fail(http.StatusBadRequest, "upload interrupted; nothing was saved")
			return
		}
	}
	_ = rc.SetReadDeadline(time.Time{})
	if err := up.Commit(); err != nil {
		rq.fsError(p, err)
		return
	}
	rq.logAttrs("upload", "path", p, "bytes", n, "replaced", existed, "seconds", time.Since(start).Seconds())
	if existed {
		rq.w.WriteHeader(http.StatusNoContent)
		return
	}
	rq.w.Header().Set("Location", filesPrefix+escapePath(p))
	rq.w.WriteHeader(http.StatusCreated)
}

// escapePath percent-encodes each segment of a vfs path for a URL.
func escapePath(p string) string {
	segs := strings.Split(p, "/")
	for i, s := range segs {
		segs[i] = url.PathEscape(s)
	}
	return strings.Join(segs, "/")
}

func (s *Server) delete(rq *request, fsys *vfs.FS, p string) {
	if p == "/" {
		rq.fail(http.StatusForbidden, "the home folder cannot be deleted")
		return
	}
	fi, err := fsys.Lstat(p)
	if err == nil {
		if fi.IsDir() {
			err = fsys.Rmdir(p)
		} else {
			err = fsys.Remove(p)
		}
	}
	if err != nil {
		rq.fsError(p, err)
		return
	}
	rq.logAttrs("delete", "path", p)
	rq.w.WriteHeader(http.StatusNoContent)
}

func (s *Server) mkdir(rq *request, fsys *vfs.FS, p string) {
	if p == "/" {
		rq.fail(http.StatusConflict, "already exists: /")
		return
	}
	if err := fsys.Mkdir(p); err != nil {
		rq.fsError(p, err)
		return
	}
	rq.logAttrs("mkdir", "path", p)
	rq.w.Header().Set("Location", filesPrefix+escapePath(p))
	rq.w.WriteHeader(http.StatusCreated)
}

func (s *Server) rename(rq *request, fsys *vfs.FS, p string) {
	to, err := targetPath(p, rq.r.URL.Query().Get("to"))
	if err != nil {
		rq.fail(http.StatusBadRequest, err.Error())
		return
	}
	if p == "/" || to == "/" {
		rq.fail(http.StatusForbidden, "the home folder cannot be renamed")
		return
	}
	if rq.user.ReadOnly {
		rq.fsError(p, vfs.ErrReadOnly)
		return
	}
	if _, err := fsys.Lstat(p); err != nil {
		rq.fsError(p, err)
		return
	}
	if to == p {
		rq.w.WriteHeader(http.StatusNoContent)
		return
	}
	if _, err := fsys.Lstat(to); err == nil {
		rq.fail(http.StatusConflict, "already exists: "+to)
		return
	}
	if err := fsys.Rename(p, to); err != nil {
		rq.fsError(p, err)
		return
	}
	rq.logAttrs("rename", "path", p, "to", to)
	rq.w.WriteHeader(http.StatusNoContent)
}
