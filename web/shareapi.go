package web

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/ferry-project/ferry/auth"
	"github.com/ferry-project/ferry/store"
	"github.com/ferry-project/ferry/vfs"
)

const sharesAPI = "/api/v1/shares"

// ShareSpec is what a new share link allows.
type ShareSpec struct {
	User     string
	Path     string // a virtual path of the user's tree
	Download bool
	Upload   bool
	Expires  time.Duration // 0 = never
	Password string        // "" = none
	MaxUses  int64         // 0 = no limit
}

// CreateShare records a new share link and returns its token (the only
// time it exists outside the visitor's URL: the store keeps its hash).
// Both the API and `ferry share create` make links here.
func CreateShare(ctx context.Context, st store.Store, sp ShareSpec) (string, store.Share, error) {
	if !sp.Download && !sp.Upload {
		return "", store.Share{}, errors.New("a share link must allow download, upload or both")
	}
	if sp.MaxUses < 0 || sp.Expires < 0 {
		return "", store.Share{}, errors.New("expiry and use limit must not be negative")
	}
	if !strings.HasPrefix(sp.Path, "/") {
		return "", store.Share{}, errors.New("the path must be absolute in the user's home (/...)")
	}
	for seg := range strings.SplitSeq(sp.Path, "/") {
		if seg == "." || seg == ".." || strings.ContainsRune(seg, 0) {
			return "", store.Share{}, fmt.Errorf("path %q: %w", sp.Path, errTraversal)
		}
	}
	id := make([]byte, 8)
	_, _ = rand.Read(id)
	token := randomSecret() // 256 bits
	sh := store.Share{ID: hex.EncodeToString(id), TokenHash: tokenHash(token), User: sp.User, Path: vfs.Clean("/", sp.Path),
		Download: sp.Download, Upload: sp.Upload, MaxUses: sp.MaxUses, Created: time.Now()}
	if sp.Expires > 0 {
		sh.Expires = sh.Created.Add(sp.Expires)
	}
	if sp.Password != "" {
		h, err := auth.HashPassword(sp.Password)
		if err != nil {
			return "", store.Share{}, err
		}
		sh.PasswordHash = h
	}
	if err := st.AddShare(ctx, sh); err != nil {
		return "", store.Share{}, err
	}
	return token, sh, nil
}

// ParseExpiry reads an expiry such as "7d", "12h" or "90m"; "" is never.
func ParseExpiry(s string) (time.Duration, error) {
	if s == "" || s == "0" {
		return 0, nil
	}
	if d, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.Atoi(d)
		if err != nil || n <= 0 || n > 3650 {
			return 0, fmt.Errorf("bad expiry %q: use e.g. 7d, 12h, 30m", s)
		}
		return time.Duration(n) * 24 * time.Hour, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("bad expiry %q: use e.g. 7d, 12h, 30m", s)
	}
	return d, nil
}

// shareJSON is a share link as the API shows it (never its token, which
// only the answer to its creation carries).
type shareJSON struct {
	ID       string     `json:"id"`
	Path     string     `json:"path"`
	Download bool       `json:"download"`
	Upload   bool       `json:"upload"`
	Password bool       `json:"password"`
	Expires  *time.Time `json:"expires,omitempty"`
	MaxUses  int64      `json:"max_uses"`
	Uses     int64      `json:"uses"`
	Revoked  bool       `json:"revoked"`
	Created  time.Time  `json:"created"`
	URL      string     `json:"url,omitempty"`
}

func toJSON(sh store.Share) shareJSON {
	j := shareJSON{ID: sh.ID, Path: sh.Path, Download: sh.Download, Upload: sh.Upload, Password: sh.PasswordHash != "",
		MaxUses: sh.MaxUses, Uses: sh.Uses, Revoked: sh.Revoked, Created: sh.Created.UTC()}
	if !sh.Expires.IsZero() {
		e := sh.Expires.UTC()
		j.Expires = &e
	}
	return j
}

// shareURL is the visitor's address of a link made on this request.
func (rq *request) shareURL(token string) string {
	scheme := "https"
	if !rq.secure {
		scheme = "http"
	}
	return scheme + "://" + rq.r.Host + sharePrefix + token
}

// sharesAPI serves GET (list), POST (create) /api/v1/shares and DELETE
// /api/v1/shares/ID (revoke), for the authenticated user's own links.
func (s *Server) sharesAPI(rq *request) {
	id := strings.TrimPrefix(strings.TrimPrefix(rq.r.URL.Path, sharesAPI), "/")
	if !rq.authenticate() {
		return
	}
	switch {
	case rq.r.Method == http.MethodGet && id == "":
		list, err := s.core.Store().Shares(rq.ctx(), rq.user.Name)
		if err != nil {
			rq.fail(http.StatusInternalServerError, "store unavailable")
			return
		}
		out := make([]shareJSON, 0, len(list))
		for _, sh := range list {
			out = append(out, toJSON(sh))
		}
		writeJSON(rq.w, http.StatusOK, map[string]any{"shares": out})
	case rq.r.Method == http.MethodPost && id == "":
		var in struct {
			Path     string `json:"path"`
			Download bool   `json:"download"`
			Upload   bool   `json:"upload"`
			Expires  string `json:"expires"`
			Password string `json:"password"`
			MaxUses  int64  `json:"max_uses"`
		}
		rq.r.Body = http.MaxBytesReader(rq.w, rq.r.Body, 16<<10)
		if err := json.NewDecoder(rq.r.Body).Decode(&in); err != nil {
			rq.fail(http.StatusBadRequest, "send a JSON object: path, download, upload, expires, password, max_uses")
			return
		}
		token, sh, err := s.createShare(rq, in.Path, in.Download, in.Upload, in.Expires, in.Password, in.MaxUses)
		if err != nil {
			return
		}
		j := toJSON(sh)
		j.URL = rq.shareURL(token)
		writeJSON(rq.w, http.StatusCreated, j)
	case rq.r.Method == http.MethodDelete && id != "":
		if err := s.core.Store().RevokeShare(rq.ctx(), id, rq.user.Name); err != nil {
			rq.fail(http.StatusNotFound, "no such share link")
			return
		}
		rq.logAttrs("share revoked", "share", id)
		rq.w.WriteHeader(http.StatusNoContent)
	default:
		rq.w.Header().Set("Allow", "GET, POST, DELETE")
		rq.fail(http.StatusMethodNotAllowed, "GET lists, POST creates, DELETE /api/v1/shares/ID revokes")
	}
}

// createShare checks and makes a link of the request's user; it writes
// the error itself.
func (s *Server) createShare(rq *request, p string, down, up bool, expires, password string, maxUses int64) (string, store.Share, error) {
	exp, err := ParseExpiry(expires)
	if err != nil {
		rq.fail(http.StatusBadRequest, err.Error())
		return "", store.Share{}, err
	}
	if up && rq.user.ReadOnly {
		rq.fail(http.StatusForbidden, "a read-only account cannot make an upload link")
		return "", store.Share{}, vfs.ErrReadOnly
	}
	vp, err := virtualPath(escapePath(p))
	if err != nil {
		rq.fsError(p, err)
		return "", store.Share{}, err
	}
	fi, err := rq.conn().FS().Stat(vp)
	if err != nil {
		rq.fsError(vp, err)
		return "", store.Share{}, err
	}
	if up && !fi.IsDir() {
		rq.fail(http.StatusBadRequest, "an upload link must be to a folder")
		return "", store.Share{}, errors.New("upload link to a file")
	}
	token, sh, err := CreateShare(rq.ctx(), s.core.Store(), ShareSpec{User: rq.user.Name, Path: vp, Download: down, Upload: up,
		Expires: exp, Password: password, MaxUses: maxUses})
	if err != nil {
		rq.fail(http.StatusBadRequest, err.Error())
		return "", store.Share{}, err
	}
	rq.logAttrs("share created", "share", sh.ID, "path", vp, "download", down, "upload", up)
	return token, sh, nil
}

// sharesPage is the web client's page of the user's links: a form to make
// one, the list, and a revoke button on each; plain forms, no script.
func (s *Server) sharesPage(rq *request) {
	if !rq.onlyMethods(http.MethodGet, http.MethodHead, http.MethodPost) {
		return
	}
	se := rq.browserSession()
	if se == nil {
		http.Redirect(rq.w, rq.r, "/login", http.StatusSeeOther)
		return
	}
	u, err := rq.conn().Lookup(rq.ctx(), se.user)
	if err != nil {
		http.Redirect(rq.w, rq.r, "/login", http.StatusSeeOther)
		return
	}
	rq.user, rq.sess, rq.via = u, se, "session"
	if !rq.begin() {
		return
	}
	data := map[string]any{"User": u.Name, "CSRF": se.csrf}
	if rq.r.Method == http.MethodPost {
		rq.r.Body = http.MaxBytesReader(rq.w, rq.r.Body, 16<<10)
		if !se.checkCSRF(rq.r.PostFormValue("csrf")) {
			http.Error(rq.w, "missing or wrong CSRF token", http.StatusForbidden)
			return
		}
		f := rq.r.PostForm
		if id := f.Get("revoke"); id != "" {
			if err := s.core.Store().RevokeShare(rq.ctx(), id, u.Name); err != nil {
				data["Error"] = "No such link."
			}
		} else {
			maxUses, _ := strconv.ParseInt(f.Get("max_uses"), 10, 64)
			rec := &captured{header: http.Header{}}
			w := rq.w
			rq.w = rec
			token, _, err := s.createShare(rq, f.Get("path"), f.Get("download") != "", f.Get("upload") != "", f.Get("expires"), f.Get("password"), maxUses)
			rq.w = w
			if err != nil {
				var v struct{ Error string }
				_ = json.Unmarshal(rec.body, &v)
				data["Error"] = v.Error
			} else {
				data["NewURL"] = rq.shareURL(token)
			}
		}
	}
	list, err := s.core.Store().Shares(rq.ctx(), u.Name)
	if err != nil {
		data["Error"] = "Share links are unavailable right now."
	}
	rows := make([]shareJSON, 0, len(list))
	for _, sh := range list {
		rows = append(rows, toJSON(sh))
	}
	data["Shares"] = rows
	rq.page(http.StatusOK, "shares.html", data)
}

// captured keeps an error answer written for the API, to show its message
// on the page instead.
type captured struct {
	header http.Header
	body   []byte
}

func (c *captured) Header() http.Header         { return c.header }
func (c *captured) WriteHeader(int)             {}
func (c *captured) Write(b []byte) (int, error) { c.body = append(c.body, b...); return len(b), nil }
