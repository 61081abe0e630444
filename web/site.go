package web

import (
	"context"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"html/template"
	"io/fs"
	"net/http"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/ferry-project/ferry/auth"
	"github.com/ferry-project/ferry/core"
	"github.com/ferry-project/ferry/store"
)

//go:embed assets
var assets embed.FS

var pages = template.Must(template.ParseFS(assets, "assets/*.html"))

// staticFile is an embedded asset with its validator.
type staticFile struct {
	body []byte
	etag string
}

var static = func() map[string]staticFile {
	m := map[string]staticFile{}
	entries, err := fs.ReadDir(assets, "assets")
	if err != nil {
		panic(err)
	}
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".html") {
			continue
		}
		b, err := assets.ReadFile("assets/" + e.Name())
		if err != nil {
			panic(err)
		}
		sum := sha256.Sum256(b)
		m[e.Name()] = staticFile{body: b, etag: `"` + hex.EncodeToString(sum[:8]) + `"`}
	}
	return m
}()

const (
	cspSite = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
		"form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
	// cspFile makes a downloaded file inert if a browser ever renders it.
	cspFile = "default-src 'none'; frame-ancestors 'none'; sandbox"
)

// site is the handler of the HTTPS listener (secure) or of the plain one
// when HTTPS is off.
func (s *Server) site(secure bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", cspSite)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		h.Set("Cross-Origin-Resource-Policy", "same-origin")
		h.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
		if secure {
			h.Set("Strict-Transport-Security", "max-age=31536000")
		}
		if r.URL.Path == "/healthz" {
			s.healthz(w, r)
			return
		}
		rq := &request{s: s, w: w, r: r, secure: secure}
		if err := s.csrf.Check(r); err != nil {
			rq.fail(http.StatusForbidden, "cross-origin request refused")
			return
		}
		p := r.URL.Path
		switch {
		case p == "/api/v1/files" || strings.HasPrefix(p, "/api/v1/files/"):
			s.files(rq)
		case p == "/api/v1/token":
			s.token(rq)
		case p == sharesAPI || strings.HasPrefix(p, sharesAPI+"/"):
			s.sharesAPI(rq)
		case strings.HasPrefix(p, sharePrefix):
			s.share(rq)
		case p == "/shares":
			s.sharesPage(rq)
		case p == "/login/2fa":
			s.login2FA(rq)
		case p == "/2fa":
			s.enrol(rq)
		case p == davPrefix || strings.HasPrefix(p, davPrefix+"/"):
			s.dav(rq)
		case strings.HasPrefix(p, "/api/"):
			rq.fail(http.StatusNotFound, "no such API endpoint")
		case p == "/":
			s.app(rq)
		case p == "/login":
			s.login(rq)
		case p == "/logout":
			s.logout(rq)
		case strings.HasPrefix(p, "/static/"):
			s.asset(rq, strings.TrimPrefix(p, "/static/"))
		default:
			http.NotFound(w, r)
		}
	})
}

// request carries one request through the handlers.
type request struct {
	s      *Server
	w      http.ResponseWriter
	r      *http.Request
	secure bool
	user   store.User
	sess   *session // the browser session, when authenticated by cookie
	via    string   // how the user authenticated: session, basic, bearer
}

func (rq *request) ctx() context.Context { return rq.r.Context() }

// conn is the core connection the request arrived on.
func (rq *request) conn() *core.Conn { return rq.r.Context().Value(connKey{}).(*core.Conn) }

// fail writes a JSON error.
func (rq *request) fail(status int, msg string) {
	h := rq.w.Header()
	h.Del("Content-Disposition")
	h.Set("Content-Security-Policy", cspSite)
	writeJSON(rq.w, status, map[string]string{"error": msg})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func (rq *request) cookieName() string {
	if rq.secure {
		return "__Host-ferry"
	}
	return "ferry"
}

// csrfHeader carries the session's CSRF token on the browser client's
// state-changing requests.
const csrfHeader = "X-CSRF-Token"

func (rq *request) logAttrs(msg string, args ...any) {
	rq.conn().Log.Info(msg, append([]any{"user", rq.user.Name, "via", rq.via}, args...)...)
}

// authenticate finds the user of an API request: bearer token, Basic, or
// session cookie (whose state-changing requests must carry the CSRF
// token). It writes the error and returns false when there is none.
func (rq *request) authenticate() bool {
	if until, err := rq.conn().Banned(); err != nil {
		// Admitted only to be told: 429 and when to come back, or 403
		// for an address on lockout.deny (no end).
		if until.IsZero() {
			rq.fail(http.StatusForbidden, err.Error())
			return false
		}
		rq.w.Header().Set("Retry-After", strconv.Itoa(max(1, int(time.Until(until).Seconds()+1))))
		rq.fail(http.StatusTooManyRequests, err.Error())
		return false
	}
	r := rq.r
	var name string
	authz := r.Header.Get("Authorization")
	switch {
	case strings.HasPrefix(authz, "Bearer "):
		t, ok := rq.s.tokens.get(strings.TrimPrefix(authz, "Bearer "))
		if !ok {
			rq.unauthorized("invalid or expired token")
			return false
		}
		name, rq.via = t.user, "bearer"
	case authz != "":
		user, pass, ok := r.BasicAuth()
		if !ok {
			rq.unauthorized("unsupported Authorization header: use Basic or Bearer")
			return false
		}
		ac, _ := rq.ctx().Value(admittedKey{}).(*admittedConn)
		if ac != nil {
			if known, ok := ac.verified(authz); ok {
				name, rq.via = known, "basic"
				break
			}
		}
		u, err := rq.conn().Password(rq.ctx(), user, pass)
		if err != nil {
			rq.loginFailed(user, err)
			return false
		}
		ok, twoFA := rq.basicSecondFactor(u)
		if !ok {
			return false
		}
		if ac != nil && !twoFA {
			ac.remember(authz, u.Name)
		}
		rq.user, rq.via = u, "basic"
		return rq.begin()
	default:
		c, err := r.Cookie(rq.cookieName())
		if err != nil {
			rq.unauthorized("authentication required")
			return false
		}
		se, ok := rq.s.sessions.get(c.Value)
		if !ok {
			rq.unauthorized("session expired; log in again")
			return false
		}
		if !safeMethod(r.Method) && !se.checkCSRF(r.Header.Get(csrfHeader)) {
			rq.fail(http.StatusForbidden, "missing or wrong CSRF token")
			return false
		}
		name, rq.sess, rq.via = se.user, se, "session"
	}
	u, err := rq.conn().Lookup(rq.ctx(), name)
	if errors.Is(err, store.ErrNotFound) {
		rq.s.sessions.dropUser(name)
		rq.s.tokens.dropUser(name)
		rq.unauthorized("account no longer exists")
		return false
	}
	if err != nil {
		rq.s.log.Error("user store", "user", name, "err", err)
		rq.fail(http.StatusInternalServerError, "user store unavailable")
		return false
	}
	rq.user = u
	return rq.begin()
}

// begin makes the connection a session of the authenticated user, which
// opens the user's file system once for the connection.
func (rq *request) begin() bool {
	switch err := rq.conn().Begin(rq.user, rq.via); {
	case errors.Is(err, core.ErrTooMany):
		rq.w.Header().Set("Retry-After", "60")
		rq.fail(http.StatusServiceUnavailable, err.Error())
		return false
	case err != nil:
		rq.fail(http.StatusInternalServerError, "your home directory cannot be opened")
		return false
	}
	return true
}

// unauthorized answers 401. Scripts get a Basic challenge; the browser
// client (which sends the CSRF header) does not, so no password dialog
// pops up over the page.
func (rq *request) unauthorized(msg string) {
	if rq.r.Header.Get(csrfHeader) == "" {
		rq.w.Header().Set("WWW-Authenticate", `Basic realm="ferry", charset="UTF-8"`)
	}
	rq.fail(http.StatusUnauthorized, msg)
}

// loginFailed answers a refused login.
func (rq *request) loginFailed(user string, err error) {
	switch {
	case errors.Is(err, auth.ErrLocked):
		rq.w.Header().Set("Retry-After", strconv.Itoa(int(rq.s.cfg.Lockout.Duration.Seconds())))
		rq.fail(http.StatusTooManyRequests, err.Error())
	case errors.Is(err, auth.ErrBusy):
		rq.w.Header().Set("Retry-After", rq.s.busyRetry())
		rq.fail(http.StatusServiceUnavailable, err.Error())
	case errors.Is(err, auth.ErrDenied):
		rq.unauthorized(err.Error())
	default:
		rq.fail(http.StatusInternalServerError, "authentication unavailable")
	}
}

func safeMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions
}

// token issues a bearer token (POST, Basic auth) or revokes the one in use
// (DELETE, Bearer auth).
func (s *Server) token(rq *request) {
	switch rq.r.Method {
	case http.MethodPost:
		if _, _, ok := rq.r.BasicAuth(); !ok {
			rq.unauthorized("POST /api/v1/token needs HTTP Basic authentication")
			return
		}
		if !rq.authenticate() {
			return
		}
		tok, t, err := s.tokens.create(rq.user.Name)
		if err != nil {
			s.log.Error("token not issued", "user", rq.user.Name, "err", err)
			rq.fail(http.StatusServiceUnavailable, "tokens are unavailable right now")
			return
		}
		rq.logAttrs("token issued")
		writeJSON(rq.w, http.StatusOK, map[string]any{
			"token":      tok,
			"token_type": "Bearer",
			"expires":    t.created.Add(tokenLifetime).UTC().Format(time.RFC3339),
		})
	case http.MethodDelete:
		if !strings.HasPrefix(rq.r.Header.Get("Authorization"), "Bearer ") {
			rq.unauthorized("DELETE /api/v1/token needs the bearer token to revoke")
			return
		}
		if !rq.authenticate() {
			return
		}
		s.tokens.drop(strings.TrimPrefix(rq.r.Header.Get("Authorization"), "Bearer "))
		rq.logAttrs("token revoked")
		rq.w.WriteHeader(http.StatusNoContent)
	default:
		rq.w.Header().Set("Allow", "POST, DELETE")
		rq.fail(http.StatusMethodNotAllowed, "use POST to get a token, DELETE to revoke it")
	}
}

// browserSession returns the session of a page request, or nil.
func (rq *request) browserSession() *session {
	c, err := rq.r.Cookie(rq.cookieName())
	if err != nil {
		return nil
	}
	se, ok := rq.s.sessions.get(c.Value)
	if !ok {
		return nil
	}
	return se
}

func (rq *request) page(status int, name string, data any) {
	h := rq.w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	rq.w.WriteHeader(status)
	if err := pages.ExecuteTemplate(rq.w, name, data); err != nil {
		rq.s.log.Error("render page", "page", name, "err", err)
	}
}

func (rq *request) onlyMethods(methods ...string) bool {
	for _, m := range methods {
		if rq.r.Method == m {
			return true
		}
	}
	rq.w.Header().Set("Allow", strings.Join(methods, ", "))
	http.Error(rq.w, "method not allowed", http.StatusMethodNotAllowed)
	return false
}

// app serves the file browser to a logged-in browser, or sends it to the
// login page.
func (s *Server) app(rq *request) {
	if !rq.onlyMethods(http.MethodGet, http.MethodHead) {
		return
	}
	se := rq.browserSession()
	if se == nil {
		http.Redirect(rq.w, rq.r, "/login", http.StatusSeeOther)
		return
	}
	u, err := rq.conn().Lookup(rq.ctx(), se.user)
	if err != nil {
		s.sessions.dropUser(se.user)
		http.Redirect(rq.w, rq.r, "/login", http.StatusSeeOther)
		return
	}
	rq.page(http.StatusOK, "app.html", map[string]any{"User": u.Name, "ReadOnly": u.ReadOnly, "CSRF": se.csrf})
}

// login shows the form (GET) and checks it (POST).
func (s *Server) login(rq *request) {
	if !rq.onlyMethods(http.MethodGet, http.MethodHead, http.MethodPost) {
		return
	}
	if rq.r.Method != http.MethodPost {
		if rq.browserSession() != nil {
			http.Redirect(rq.w, rq.r, "/", http.StatusSeeOther)
			return
		}
		rq.page(http.StatusOK, "login.html", map[string]any{"Secure": rq.secure})
		return
	}
	rq.r.Body = http.MaxBytesReader(rq.w, rq.r.Body, 16<<10)
	if err := rq.r.ParseForm(); err != nil {
		rq.page(http.StatusBadRequest, "login.html", map[string]any{"Secure": rq.secure, "Error": "The form could not be read."})
		return
	}
	name := rq.r.PostForm.Get("user")
	u, err := rq.conn().Password(rq.ctx(), name, rq.r.PostForm.Get("password"))
	if err != nil {
		status, msg := http.StatusUnauthorized, "Wrong user name or password."
		switch {
		case errors.Is(err, auth.ErrLocked):
			status, msg = http.StatusTooManyRequests, "Too many failed logins from your address. Try again later."
		case errors.Is(err, auth.ErrBusy):
			status, msg = http.StatusServiceUnavailable, "The server is busy. Try again in a few seconds."
			rq.w.Header().Set("Retry-After", s.busyRetry())
		case !errors.Is(err, auth.ErrDenied):
			status, msg = http.StatusInternalServerError, "Logins are unavailable right now."
		}
		rq.page(status, "login.html", map[string]any{"Secure": rq.secure, "Error": msg, "User": name})
		return
	}
	if s.secondFactor(rq, u) {
		return // the code is asked for first (totp.go)
	}
	s.startSession(rq, u)
}

// startSession logs the browser in as u and sends it to the file browser.
func (s *Server) startSession(rq *request, u store.User) {
	if s.setSession(rq, u) {
		http.Redirect(rq.w, rq.r, "/", http.StatusSeeOther)
	}
}

// setSession gives the browser a session of u; it writes the error and
// reports false when u's session cannot begin.
func (s *Server) setSession(rq *request, u store.User) bool {
	if c, err := rq.r.Cookie(rq.cookieName()); err == nil {
		s.sessions.drop(c.Value)
	}
	secret, _, err := s.sessions.create(u.Name)
	if err != nil {
		s.log.Error("session not created", "user", u.Name, "err", err)
		rq.page(http.StatusServiceUnavailable, "login.html", map[string]any{"Secure": rq.secure, "Error": "Logins are unavailable right now.", "User": u.Name})
		return false
	}
	http.SetCookie(rq.w, &http.Cookie{
		Name:     rq.cookieName(),
		Value:    secret,
		Path:     "/",
		HttpOnly: true,
		Secure:   rq.secure,
		SameSite: http.SameSiteStrictMode,
	})
	rq.user, rq.via = u, "form"
	return rq.begin()
}

// logout ends the browser session; the form carries the CSRF token.
func (s *Server) logout(rq *request) {
	if !rq.onlyMethods(http.MethodPost) {
		return
	}
	if se := rq.browserSession(); se != nil {
		rq.r.Body = http.MaxBytesReader(rq.w, rq.r.Body, 4<<10)
		if !se.checkCSRF(rq.r.PostFormValue("csrf")) {
			http.Error(rq.w, "missing or wrong CSRF token", http.StatusForbidden)
			return
		}
		c, _ := rq.r.Cookie(rq.cookieName())
		s.sessions.drop(c.Value)
		s.log.Info("logout", "user", se.user, "remote", rq.r.RemoteAddr)
	}
	http.SetCookie(rq.w, &http.Cookie{Name: rq.cookieName(), Value: "", Path: "/", MaxAge: -1, HttpOnly: true, Secure: rq.secure, SameSite: http.SameSiteStrictMode})
	http.Redirect(rq.w, rq.r, "/login", http.StatusSeeOther)
}

// asset serves an embedded script, style or image.
func (s *Server) asset(rq *request, name string) {
	if !rq.onlyMethods(http.MethodGet, http.MethodHead) {
		return
	}
	f, ok := static[name]
	if !ok {
		http.NotFound(rq.w, rq.r)
		return
	}
	h := rq.w.Header()
	h.Set("ETag", f.etag)
	h.Set("Cache-Control", "no-cache")
	http.ServeContent(rq.w, rq.r, path.Base(name), time.Time{}, strings.NewReader(string(f.body)))
}
