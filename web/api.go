package web

import (
	"context"
	"crypto/tls"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"mime"
	"net"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/ferry-project/ferry/core"
	"github.com/ferry-project/ferry/vfs"
)

const filesPrefix = "/api/v1/files"

// errTraversal is returned for a request path with "." or ".." segments,
// plain or percent-encoded, or a segment that decodes to a slash or NUL:
// clients remove dot segments (RFC 3986 §5.2.4), so these are attempts to
// leave the home, refused as such.
var errTraversal = fmt.Errorf("path traversal refused: %w", vfs.ErrEscape)

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

// listingHead is what a folder listing says before its "entries".
type listingHead struct {
	Path     string `json:"path"`
	ReadOnly bool   `json:"read_only"`
}

// files serves /api/v1/files/PATH.
func (s *Server) files(rq *request) {
	p, err := virtualPath(strings.TrimPrefix(rq.r.URL.EscapedPath(), filesPrefix))
	if errors.Is(err, vfs.ErrEscape) {
		if rq.authenticate() {
			rq.fsError(strings.TrimPrefix(rq.r.URL.Path, filesPrefix), err)
		}
		return
	}
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
	fsys := rq.conn().FS() // opened once for the connection's session
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

func (s *Server) get(rq *request, fsys vfs.FS, p string) {
	fi, err := fsys.Stat(p)
	if err != nil {
		rq.fsError(p, err)
		return
	}
	if fi.IsDir() {
		if wantsHTML(rq.r) {
			s.htmlIndex(rq, fsys, p)
			return
		}
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
	if rq.r.Method == http.MethodHead && wantsSHA256(rq.r.Header.Values("Want-Repr-Digest")) {
		// RFC 9530: the digest of the whole file, for clients that compare
		// before they copy (ferry mirror --checksum).
		sum, err := core.Hash(rq.ctx(), fsys, p, "sha256", 0, -1)
		if err != nil {
			rq.fsError(p, err)
			return
		}
		b, _ := hex.DecodeString(sum)
		h.Set("Repr-Digest", "sha-256=:"+base64.StdEncoding.EncodeToString(b)+":")
	}
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
	var n int64
	t := &core.Transfer{
		Stall:    s.cfg.Limits.StallTimeout.Duration,
		Deadline: rc.SetWriteDeadline,
		Meter:    func(m int64) { n += m },
		Hash:     rq.conn().Digests(),
		Rate:     rq.conn().Rate(core.Down),
		Progress: rq.conn().Progress(core.Down, p),
	}
	defer t.Progress.Done()
	// Gather the TLS records of the body into large writes (core.BatchConn).
	if bc, ok := rq.ctx().Value(batchKey{}).(*core.BatchConn); ok {
		bc.Batch(true)
		defer bc.Batch(false)
	}
	http.ServeContent(rq.w, rq.r, path.Base(p), fi.ModTime(), t.Source(f))
	// The next request on this keep-alive connection starts without one.
	_ = rc.SetWriteDeadline(time.Time{})
	if rq.r.Method == http.MethodGet {
		result := core.ResultOK
		if rq.ctx().Err() != nil {
			result = core.ResultAborted // the client went away
		}
		rq.conn().Emit(core.Event{Kind: core.EventDownload, Path: p, Bytes: n, Duration: time.Since(start), Result: result,
			SHA256: t.Sum(fi.Size()), Attrs: []any{"range", rq.r.Header.Get("Range")}})
	}
}

// wantsSHA256 reads Want-Repr-Digest (RFC 9530: "sha-256=10, md5=0"):
// whether sha-256 is asked for with a preference above 0.
func wantsSHA256(fields []string) bool {
	for _, f := range fields {
		for item := range strings.SplitSeq(f, ",") {
			k, v, _ := strings.Cut(strings.TrimSpace(item), "=")
			if strings.EqualFold(strings.TrimSpace(k), "sha-256") && strings.TrimSpace(v) != "0" {
				return true
			}
		}
	}
	return false
}

// batchKey holds, in a request's context, the core.BatchConn under the
// HTTPS connection the request came on.
type batchKey struct{}

// batchContext is the HTTPS server's ConnContext: withConn's, plus the
// BatchConn that core.BatchListener put under the TLS connection.
func batchContext(ctx context.Context, c net.Conn) context.Context {
	ctx = withConn(ctx, c)
	if tc, ok := c.(*tls.Conn); ok {
		if ac, ok := tc.NetConn().(*admittedConn); ok {
			if bc, ok := ac.Conn.(*core.BatchConn); ok {
				return context.WithValue(ctx, batchKey{}, bc)
			}
		}
	}
	return ctx
}

// listBatch is how many entries a folder listing reads at a time.
const listBatch = 256

// list sends a folder's listing as JSON, encoded as the folder is read:
// one batch of entries is in memory at a time, however large the folder.
func (s *Server) list(rq *request, fsys vfs.FS, p string) {
	ls, err := fsys.ReadDir(p)
	if err != nil {
		rq.fsError(p, err)
		return
	}
	defer ls.Close()
	infos, err := ls.Next(listBatch)
	if err != nil && err != io.EOF {
		rq.fsError(p, err)
		return
	}
	head, _ := json.Marshal(listingHead{Path: p, ReadOnly: rq.user.ReadOnly})
	h := rq.w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	rq.w.WriteHeader(http.StatusOK)
	// {"path":...,"read_only":...,"entries":[ then the entries, then ]}
	io.WriteString(rq.w, string(head[:len(head)-1])+`,"entries":[`)
	sep := ""
	for err == nil {
		for _, fi := range infos {
			b, _ := json.Marshal(s.entry(fsys, p, fi))
			io.WriteString(rq.w, sep)
			rq.w.Write(b)
			sep = ","
		}
		infos, err = ls.Next(listBatch)
	}
	if err != io.EOF {
		// The status is sent: cut the response so the client sees a
		// failure rather than a short listing that parses.
		rq.s.log.Error("folder listing cut short", "user", rq.user.Name, "path", p, "err", err)
		panic(http.ErrAbortHandler)
	}
	io.WriteString(rq.w, "]}\n")
}

// entry describes one listed name; a link is described by its target
// when the target is inside the home.
func (s *Server) entry(fsys vfs.FS, dir string, fi fs.FileInfo) entry {
	e := entry{Name: fi.Name(), Size: fi.Size(), Modified: fi.ModTime().UTC()}
	if fi.Mode()&fs.ModeSymlink != 0 {
		e.Link = true
		if t, err := fsys.Stat(path.Join(dir, fi.Name())); err == nil {
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
	return e
}

func (s *Server) put(rq *request, fsys vfs.FS, p string) {
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
	var up vfs.Upload
	cr := rq.r.Header.Get("Content-Range")
	if cr != "" {
		start, err := partialPut(cr, rq.r.ContentLength)
		if err != nil {
			rq.fail(http.StatusBadRequest, err.Error())
			return
		}
		up, err = fsys.OpenAt(p, start)
		if err != nil {
			rq.fsError(p, err)
			return
		}
	} else if up, err = fsys.Create(p); err != nil {
		rq.fsError(p, err)
		return
	}
	// The size is known: past the quota, 507 before any data (over a
	// replaced file, only what it grows by counts). Quotas count the home
	// only, not virtual folders.
	if err := rq.expect(fsys, p, up); err != nil {
		up.Abort()
		rq.fsError(p, err)
		return
	}
	start := time.Now()
	rc := http.NewResponseController(rq.w)
	t := &core.Transfer{Stall: s.cfg.Limits.StallTimeout.Duration, Deadline: rc.SetReadDeadline, Hash: rq.conn().Digests(), Rate: rq.conn().Rate(core.Up),
		Progress: rq.conn().Progress(core.Up, p)}
	defer t.Progress.Done()
	n, err := t.Receive(up, rq.r.Body)
	if err != nil {
		if errors.Is(err, core.ErrPeer) && rq.conn().KeepInterrupted(err) {
			// uploads.interrupted = "keep": publish what arrived, for a
			// resume with Content-Range or another protocol's.
			cerr := up.Commit()
			rq.conn().Emit(core.Event{Kind: core.EventUpload, Path: p, Bytes: n, Duration: time.Since(start), Result: core.ResultAborted, Err: err,
				Attrs: []any{"kept", cerr == nil}})
			rq.fail(http.StatusBadRequest, "upload interrupted; the bytes received were kept")
			return
		}
		up.Abort()
		var mbe *http.MaxBytesError
		switch {
		case errors.As(err, &mbe):
			rq.fail(http.StatusRequestEntityTooLarge, "upload larger than the server's limit (http.max_upload_size)")
		case errors.Is(err, core.ErrPeer):
			rq.conn().Emit(core.Event{Kind: core.EventUpload, Path: p, Bytes: n, Duration: time.Since(start), Result: core.ResultAborted, Err: err})
			rq.fail(http.StatusBadRequest, "upload interrupted; nothing was saved")
		default:
			rq.conn().Emit(core.Event{Kind: core.EventUpload, Path: p, Bytes: n, Duration: time.Since(start), Err: err})
			t.Drain(rq.r.Body) // so that the client reads the answer
			rq.fsError(p, err)
		}
		return
	}
	_ = rc.SetReadDeadline(time.Time{})
	if err := up.Commit(); err != nil {
		rq.conn().Emit(core.Event{Kind: core.EventUpload, Path: p, Bytes: n, Duration: time.Since(start), Err: err})
		rq.fsError(p, err)
		return
	}
	rq.conn().Emit(core.Event{Kind: core.EventUpload, Path: p, Bytes: n, Duration: time.Since(start), SHA256: t.Sum(n), Attrs: []any{"replaced", existed}})
	if existed {
		rq.w.WriteHeader(http.StatusNoContent)
		return
	}
	rq.w.Header().Set("Location", filesPrefix+escapePath(p))
	rq.w.WriteHeader(http.StatusCreated)
}

// partialPut reads the Content-Range of a PUT that continues an upload
// (RFC 9110 §14.5, partial PUT): "bytes START-END/TOTAL" (TOTAL may be
// "*"), whose length must be the body's. It returns START: the upload
// resumes there in place, as FTP's REST and SFTP's reput do, cutting what
// followed; START past the end of the file is 416 (vfs.ErrBadOffset).
func partialPut(cr string, length int64) (int64, error) {
	bad := errors.New(`Content-Range must be "bytes START-END/TOTAL" with END-START+1 the body's length`)
	spec, ok := strings.CutPrefix(cr, "bytes ")
	if !ok {
		return 0, bad
	}
	rng, total, ok := strings.Cut(spec, "/")
	first, last, ok2 := strings.Cut(rng, "-")
	if !ok || !ok2 {
		return 0, bad
	}
	start, err1 := strconv.ParseInt(first, 10, 64)
	end, err2 := strconv.ParseInt(last, 10, 64)
	if err1 != nil || err2 != nil || start < 0 || end < start || length >= 0 && end-start+1 != length {
		return 0, bad
	}
	if total != "*" {
		if t, err := strconv.ParseInt(total, 10, 64); err != nil || t <= end {
			return 0, bad
		}
	}
	return start, nil
}

// escapePath percent-encodes each segment of a vfs path for a URL.
func escapePath(p string) string {
	segs := strings.Split(p, "/")
	for i, s := range segs {
		segs[i] = url.PathEscape(s)
	}
	return strings.Join(segs, "/")
}

func (s *Server) delete(rq *request, fsys vfs.FS, p string) {
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
	rq.w.WriteHeader(http.StatusNoContent)
}

func (s *Server) mkdir(rq *request, fsys vfs.FS, p string) {
	if p == "/" {
		rq.fail(http.StatusConflict, "already exists: /")
		return
	}
	if err := fsys.Mkdir(p); err != nil {
		rq.fsError(p, err)
		return
	}
	rq.w.Header().Set("Location", filesPrefix+escapePath(p))
	rq.w.WriteHeader(http.StatusCreated)
}

func (s *Server) rename(rq *request, fsys vfs.FS, p string) {
	to, err := targetPath(p, rq.r.URL.Query().Get("to"))
	if errors.Is(err, vfs.ErrEscape) {
		rq.fsError(rq.r.URL.Query().Get("to"), err)
		return
	}
	if err != nil {
		rq.fail(http.StatusBadRequest, err.Error())
		return
	}
	if p == "/" || to == "/" {
		rq.fail(http.StatusForbidden, "the home folder cannot be renamed")
		return
	}
	if fsys.ReadOnly() {
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
	// replace=true (the web client's chunked upload, publishing NAME.ferry-part
	// over NAME) replaces a file at to at once; a folder there stays 409.
	if _, err := fsys.Lstat(to); err == nil && rq.r.URL.Query().Get("replace") != "true" {
		rq.fail(http.StatusConflict, "already exists: "+to)
		return
	}
	if err := fsys.Rename(p, to); err != nil {
		rq.fsError(p, err)
		return
	}
	rq.w.WriteHeader(http.StatusNoContent)
}

// expect tells the quota the size of an upload whose Content-Length is
// known; virtual folders are outside the home's quota.
func (rq *request) expect(fsys vfs.FS, p string, up vfs.Upload) error {
	if vfs.IsMounted(fsys, p) {
		return nil
	}
	return rq.conn().Expect(up, rq.r.ContentLength)
}
