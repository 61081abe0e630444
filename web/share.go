package web

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"mime"
	"net/http"
	"path"
	"strings"
	"time"

	"github.com/ferry-project/ferry/auth"
	"github.com/ferry-project/ferry/core"
	"github.com/ferry-project/ferry/store"
	"github.com/ferry-project/ferry/vfs"
)

// sharePrefix is where visitors open share links: /s/TOKEN, then
// /s/TOKEN/f/PATH for a file or subfolder of a shared folder.
const sharePrefix = "/s/"

// shareGrantLife is how long a visitor who gave a link's password may use
// the link without giving it again.
const shareGrantLife = time.Hour

// tokenHash is the hex SHA-256 of a link's token, as the store keeps it.
func tokenHash(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// visit is one request of a share link's visitor.
type visit struct {
	*request
	sh    store.Share
	token string
	fsys  vfs.FS
	dir   bool // the shared path is a folder
}

// sharePage is what share.html shows.
type sharePage struct {
	Base, Name, Path, Error, Message string
	Password, Download, Upload, Dir  bool
	Entries                          []entry
	Parent                           string
}

// share serves /s/TOKEN...
func (s *Server) share(rq *request) {
	rest := strings.TrimPrefix(rq.r.URL.EscapedPath(), sharePrefix)
	token, sub, _ := strings.Cut(rest, "/")
	if _, err := rq.conn().Banned(); err != nil {
		rq.sharePage(http.StatusTooManyRequests, sharePage{Error: err.Error()})
		return
	}
	link, err := s.core.Store().ShareByToken(rq.ctx(), tokenHash(token))
	if err != nil {
		status, msg := http.StatusNotFound, "This link does not exist."
		if !errors.Is(err, store.ErrNoShare) {
			status, msg = http.StatusInternalServerError, "Share links are unavailable right now."
		}
		rq.sharePage(status, sharePage{Error: msg})
		return
	}
	if msg := gone(link, time.Now()); msg != "" {
		rq.sharePage(http.StatusGone, sharePage{Error: msg})
		return
	}
	v := &visit{request: rq, sh: link, token: token}
	if link.PasswordHash != "" && !v.unlocked() {
		v.unlock()
		return
	}
	owner, err := rq.conn().Lookup(rq.ctx(), link.User)
	if err != nil || owner.Disabled {
		rq.sharePage(http.StatusGone, sharePage{Error: "This link no longer works."})
		return
	}
	rq.user, rq.via = owner, "share"
	if !rq.begin() {
		return
	}
	v.fsys = rq.conn().FS()
	fi, err := v.fsys.Stat(link.Path)
	if err != nil {
		rq.sharePage(http.StatusGone, sharePage{Error: "The shared file or folder is no longer there."})
		return
	}
	v.dir = fi.IsDir()
	switch {
	case rq.r.Method == http.MethodPost && sub == "":
		v.upload()
	case rq.r.Method != http.MethodGet && rq.r.Method != http.MethodHead:
		rq.w.Header().Set("Allow", "GET, HEAD, POST")
		rq.sharePage(http.StatusMethodNotAllowed, sharePage{Error: "Method not allowed."})
	case sub == "":
		v.show(link.Path)
	case sub == "dl" && !v.dir:
		v.download(link.Path)
	case strings.HasPrefix(sub, "f/") && v.dir:
		p, err := v.inside(strings.TrimPrefix(sub, "f"))
		if err != nil {
			rq.sharePage(http.StatusForbidden, sharePage{Error: "That path is outside the shared folder."})
			return
		}
		if fi, err := v.fsys.Stat(p); err == nil && fi.IsDir() {
			v.show(p)
			return
		}
		v.download(p)
	default:
		rq.sharePage(http.StatusNotFound, sharePage{Error: "Not found."})
	}
}

// gone says why a link no longer works, or "".
func gone(sh store.Share, now time.Time) string {
	switch {
	case sh.Revoked:
		return "This link was revoked."
	case !sh.Expires.IsZero() && !now.Before(sh.Expires):
		return "This link has expired."
	case sh.MaxUses > 0 && sh.Uses >= sh.MaxUses:
		return "This link has been used up."
	}
	return ""
}

// inside maps an escaped path below the shared folder to a virtual path
// of the owner's tree, refusing any way out of the folder.
func (v *visit) inside(escaped string) (string, error) {
	rel, err := virtualPath(escaped)
	if err != nil {
		return "", errTraversal
	}
	p := path.Join(v.sh.Path, rel)
	if p != v.sh.Path && !strings.HasPrefix(p, strings.TrimSuffix(v.sh.Path, "/")+"/") {
		return "", errTraversal
	}
	return p, nil
}

func (v *visit) base() string { return sharePrefix + v.token }

func (v *visit) cookieName() string { return "ferry-share" }

// unlocked reports whether the visitor gave the link's password.
func (v *visit) unlocked() bool {
	c, err := v.r.Cookie(v.cookieName())
	if err != nil {
		return false
	}
	g, ok := v.s.grants.get(c.Value)
	return ok && g.user == v.sh.ID
}

// unlock shows the password form (GET) or checks it (POST), with the
// lockout and bounded hashing of logins.
func (v *visit) unlock() {
	page := sharePage{Base: v.base(), Password: true}
	if v.r.Method != http.MethodPost {
		v.sharePage(http.StatusUnauthorized, page)
		return
	}
	v.r.Body = http.MaxBytesReader(v.w, v.r.Body, 16<<10)
	err := v.conn().Secret(v.ctx(), v.sh.ID, v.sh.PasswordHash, v.r.PostFormValue("password"))
	switch {
	case err == nil:
		secret, _, _ := v.s.grants.create(v.sh.ID) // in memory: never fails
		http.SetCookie(v.w, &http.Cookie{Name: v.cookieName(), Value: secret, Path: v.base(), HttpOnly: true,
			Secure: v.secure, SameSite: http.SameSiteStrictMode, MaxAge: int(shareGrantLife.Seconds())})
		http.Redirect(v.w, v.r, v.base(), http.StatusSeeOther)
		return
	case errors.Is(err, auth.ErrLocked):
		page.Error = "Too many wrong passwords from your address. Try again later."
		v.sharePage(http.StatusTooManyRequests, page)
	case errors.Is(err, auth.ErrBusy):
		v.w.Header().Set("Retry-After", v.s.busyRetry())
		page.Error = "The server is busy. Try again in a few seconds."
		v.sharePage(http.StatusServiceUnavailable, page)
	default:
		page.Error = "Wrong password."
		v.sharePage(http.StatusUnauthorized, page)
	}
}

// show renders the page of the link: the file, or a folder's listing
// (download links) and the upload form (drop box), as the link allows.
func (v *visit) show(p string) {
	page := sharePage{Base: v.base(), Name: path.Base(v.sh.Path), Download: v.sh.Download, Upload: v.sh.Upload && v.dir && p == v.sh.Path, Dir: v.dir}
	if p != v.sh.Path { // a subfolder: its path below the shared folder
		page.Path = strings.TrimPrefix(p, strings.TrimSuffix(v.sh.Path, "/"))
		page.Parent = v.base() + "/f" + escapePath(path.Dir(page.Path))
	}
	if v.r.URL.Query().Get("sent") != "" {
		page.Message = "Your files were received."
	}
	if v.dir && v.sh.Download {
		ls, err := v.fsys.ReadDir(p)
		if err != nil {
			v.sharePage(http.StatusInternalServerError, sharePage{Error: "The folder cannot be read."})
			return
		}
		defer ls.Close()
		for len(page.Entries) < 10000 {
			infos, err := ls.Next(listBatch)
			for _, fi := range infos {
				if e := v.s.entry(v.fsys, p, fi); e.Type != "other" && !strings.HasPrefix(e.Name, ".") {
					page.Entries = append(page.Entries, e)
				}
			}
			if err != nil {
				break
			}
		}
	}
	if !v.sh.Download && !page.Upload {
		v.sharePage(http.StatusForbidden, sharePage{Error: "This link allows nothing here."})
		return
	}
	v.sharePage(http.StatusOK, page)
}

// download sends file p, counting one use of the link.
func (v *visit) download(p string) {
	if !v.sh.Download {
		v.sharePage(http.StatusForbidden, sharePage{Error: "This link does not allow downloads."})
		return
	}
	f, err := v.fsys.Open(p)
	if err != nil {
		v.sharePage(http.StatusNotFound, sharePage{Error: "No such file."})
		return
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil || !fi.Mode().IsRegular() {
		v.sharePage(http.StatusNotFound, sharePage{Error: "No such file."})
		return
	}
	if v.r.Method == http.MethodGet && !v.use(p, "download") {
		return
	}
	h := v.w.Header()
	h.Set("Content-Security-Policy", cspFile)
	h.Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": path.Base(p)}))
	h.Set("Content-Type", "application/octet-stream")
	h.Set("Cache-Control", "private, no-store")
	start := time.Now()
	var n int64
	t := &core.Transfer{Stall: v.s.cfg.Limits.StallTimeout.Duration, Deadline: http.NewResponseController(v.w).SetWriteDeadline,
		Meter: func(m int64) { n += m }, Hash: v.conn().Digests(), Rate: v.conn().Rate(core.Down)}
	http.ServeContent(v.w, v.r, path.Base(p), fi.ModTime(), t.Source(f))
	_ = http.NewResponseController(v.w).SetWriteDeadline(time.Time{})
	if v.r.Method == http.MethodGet {
		result := core.ResultOK
		if v.ctx().Err() != nil {
			result = core.ResultAborted
		}
		v.conn().Emit(core.Event{Kind: core.EventDownload, Path: p, Bytes: n, Duration: time.Since(start), Result: result,
			SHA256: t.Sum(fi.Size()), Attrs: []any{"share", v.sh.ID}})
	}
}

// use counts one use of the link (in the store, atomically) and emits
// share.used; it answers 410 and reports false when none is left.
func (v *visit) use(p, action string) bool {
	err := v.s.core.Store().UseShare(v.ctx(), v.sh.ID, time.Now())
	if err != nil {
		status, msg := http.StatusGone, "This link has been used up."
		if !errors.Is(err, store.ErrShareGone) {
			status, msg = http.StatusInternalServerError, "Share links are unavailable right now."
		}
		v.sharePage(status, sharePage{Error: msg})
		return false
	}
	v.conn().Emit(core.Event{Kind: core.EventShareUsed, Path: p, Attrs: []any{"share", v.sh.ID, "action", action}})
	return true
}

// sharePage renders share.html.
func (rq *request) sharePage(status int, p sharePage) {
	if status >= 400 && p.Error != "" && !p.Password {
		rq.w.Header().Set("X-Ferry-Share", "refused")
	}
	rq.page(status, "share.html", p)
}
