package web

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/base64"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ferry-project/ferry/config"
	"github.com/ferry-project/ferry/internal/testserver"
	"github.com/ferry-project/ferry/internal/testutil"
	"github.com/ferry-project/ferry/store"
)

func TestReadOnlyUser(t *testing.T) {
	ts := startServer(t, nil)
	home := ts.addUser("reader", true)
	os.WriteFile(filepath.Join(home, "keep.txt"), []byte("original"), 0o644)
	os.Mkdir(filepath.Join(home, "dir"), 0o755)
	c := ts.client()
	for _, tc := range []struct{ method, path string }{
		{"PUT", "/api/v1/files/new.txt"},
		{"PUT", "/api/v1/files/keep.txt"},
		{"DELETE", "/api/v1/files/keep.txt"},
		{"DELETE", "/api/v1/files/dir"},
		{"POST", "/api/v1/files/made?op=mkdir"},
		{"POST", "/api/v1/files/keep.txt?op=rename&to=moved.txt"},
	} {
		resp, body := ts.do(c, tc.method, tc.path, "reader", strings.NewReader("changed"))
		expect(t, tc.method+" "+tc.path, resp, body, http.StatusForbidden)
		if !strings.Contains(body, "read-only account") {
			t.Errorf("%s %s: error %q does not say read-only", tc.method, tc.path, body)
		}
	}
	if got, _ := os.ReadFile(filepath.Join(home, "keep.txt")); string(got) != "original" {
		t.Fatalf("read-only file now holds %q", got)
	}
	entries := testutil.Home(t, home)
	if len(entries) != 2 {
		t.Fatalf("home of a read-only user changed: %v", entries)
	}
	resp, body := ts.do(c, "GET", "/api/v1/files/keep.txt", "reader", nil)
	if expect(t, "read-only download", resp, body, http.StatusOK) != "original" {
		t.Fatalf("body %q", body)
	}
	resp, body = ts.do(c, "GET", "/api/v1/files/", "reader", nil)
	if !strings.Contains(expect(t, "read-only list", resp, body, http.StatusOK), `"read_only":true`) {
		t.Errorf("listing does not say read-only: %s", body)
	}

	// The browser page shows no write controls to a read-only user.
	page := ts.loginBrowser(c, "reader")
	for _, control := range []string{`id="file-input"`, `id="new-folder"`} {
		if strings.Contains(page, control) {
			t.Errorf("read-only page has %s", control)
		}
	}
	if !strings.Contains(page, `data-read-only="true"`) {
		t.Error("read-only page does not tell the script")
	}
}

// TestTraversalRefused: ".." tricks and links out of the home are refused
// as permission denied (403), as in FTP and SFTP.
func TestTraversalRefused(t *testing.T) {
	ts := startServer(t, nil)
	home := ts.addUser("eve", false)
	outside := filepath.Join(ts.Dir, "secret.txt")
	os.WriteFile(outside, []byte("TOP SECRET"), 0o644)
	if err := os.Symlink(outside, filepath.Join(home, "link-out")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(ts.Dir, filepath.Join(home, "dir-out")); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(home, "inside.txt"), []byte("fine"), 0o644)
	os.Symlink("inside.txt", filepath.Join(home, "link-in"))
	c := ts.client()
	for _, tc := range []struct {
		method, raw string
		status      int
	}{
		{"GET", "/api/v1/files/../secret.txt", http.StatusForbidden},
		{"GET", "/api/v1/files/%2e%2e/secret.txt", http.StatusForbidden},
		{"GET", "/api/v1/files/%2E%2E%2Fsecret.txt", http.StatusForbidden},
		{"GET", "/api/v1/files/x/..%2F..%2Fsecret.txt", http.StatusForbidden},
		{"PUT", "/api/v1/files/%2e%2e/planted.txt", http.StatusForbidden},
		{"POST", "/api/v1/files/inside.txt?op=rename&to=../planted.txt", http.StatusForbidden},
		{"POST", "/api/v1/files/inside.txt?op=rename&to=%2F..%2F..%2Fplanted.txt", http.StatusForbidden},
		{"GET", "/api/v1/files/link-out", http.StatusForbidden},
		{"GET", "/api/v1/files/dir-out/secret.txt", http.StatusForbidden},
		{"GET", "/api/v1/files/dir-out", http.StatusForbidden},
		{"PUT", "/api/v1/files/dir-out/planted.txt", http.StatusForbidden},
		{"DELETE", "/api/v1/files/dir-out/secret.txt", http.StatusForbidden},
	} {
		// Opaque keeps the path exactly as written: no client-side cleaning.
		req, err := http.NewRequest(tc.method, ts.base, strings.NewReader("planted"))
		if err != nil {
			t.Fatal(err)
		}
		u, _ := url.Parse(ts.base)
		path, query, _ := strings.Cut(tc.raw, "?")
		req.URL = &url.URL{Scheme: u.Scheme, Host: u.Host, Opaque: path, RawQuery: query}
		req.SetBasicAuth("eve", testserver.Password)
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tc.status || strings.Contains(string(b), "TOP SECRET") {
			t.Errorf("%s %s: status %d body %q; want %d", tc.method, tc.raw, resp.StatusCode, b, tc.status)
		}
	}
	if got, _ := os.ReadFile(outside); string(got) != "TOP SECRET" {
		t.Fatal("file outside the home changed")
	}
	for _, p := range []string{filepath.Join(ts.Dir, "planted.txt"), filepath.Join(ts.Dir, "homes", "planted.txt")} {
		if _, err := os.Stat(p); err == nil {
			t.Fatalf("%s was written outside the home", p)
		}
	}
	resp, body := ts.do(c, "GET", "/api/v1/files/link-in", "eve", nil)
	if expect(t, "link inside the home", resp, body, http.StatusOK) != "fine" {
		t.Fatalf("body %q", body)
	}
}

func TestUploadSizeLimit(t *testing.T) {
	ts := startServer(t, func(c *config.Config) { c.HTTP.MaxUploadSize = 1000 })
	home := ts.addUser("carol", false)
	c := ts.client()
	resp, body := ts.do(c, "PUT", "/api/v1/files/ok.bin", "carol", bytes.NewReader(make([]byte, 1000)))
	expect(t, "upload at the limit", resp, body, http.StatusCreated)
	resp, body = ts.do(c, "PUT", "/api/v1/files/big.bin", "carol", bytes.NewReader(make([]byte, 1001)))
	expect(t, "upload over the limit (Content-Length)", resp, body, http.StatusRequestEntityTooLarge)
	// Without a Content-Length the limit is found while streaming.
	resp, body = ts.do(c, "PUT", "/api/v1/files/big.bin", "carol", io.MultiReader(bytes.NewReader(make([]byte, 5000))))
	expect(t, "chunked upload over the limit", resp, body, http.StatusRequestEntityTooLarge)
	entries := testutil.Home(t, home)
	if len(entries) != 1 || entries[0] != "ok.bin" {
		t.Fatalf("home after refused uploads: %v (no partial or temporary file may stay)", entries)
	}
}

// loginBrowser logs in through the form and returns the file browser page.
func (ts *testServer) loginBrowser(c *http.Client, user string) string {
	ts.t.Helper()
	resp, body := ts.do(c, "POST", "/login", "", strings.NewReader(url.Values{"user": {user}, "password": {testserver.Password}}.Encode()),
		"Content-Type", "application/x-www-form-urlencoded")
	expect(ts.t, "login", resp, body, http.StatusSeeOther)
	resp, body = ts.do(c, "GET", "/", "", nil)
	return expect(ts.t, "file browser", resp, body, http.StatusOK)
}

var csrfMeta = regexp.MustCompile(`<meta name="csrf-token" content="([^"]+)">`)

func TestBrowserSession(t *testing.T) {
	ts := startServer(t, nil)
	home := ts.addUser("dave", false)
	c := ts.client()
	form := "application/x-www-form-urlencoded"

	resp, body := ts.do(c, "GET", "/", "", nil)
	expect(t, "anonymous /", resp, body, http.StatusSeeOther)
	if resp.Header.Get("Location") != "/login" {
		t.Fatalf("anonymous / goes to %q", resp.Header.Get("Location"))
	}
	resp, body = ts.do(c, "GET", "/login", "", nil)
	if !strings.Contains(expect(t, "login page", resp, body, http.StatusOK), `<form method="post" action="/login"`) {
		t.Fatalf("login page: %s", body)
	}
	for name, want := range map[string]string{
		"Strict-Transport-Security": "max-age=31536000",
		"X-Content-Type-Options":    "nosniff",
		"X-Frame-Options":           "DENY",
		"Content-Security-Policy":   "default-src 'none'; script-src 'self'; style-src 'self';",
	} {
		if got := resp.Header.Get(name); !strings.HasPrefix(got, want) {
			t.Errorf("%s = %q, want %q", name, got, want)
		}
	}
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "frame-ancestors 'none'") || strings.Contains(csp, "unsafe") {
		t.Errorf("CSP %q", csp)
	}
	if strings.Contains(body, "<script>") || strings.Contains(body, "style=") {
		t.Error("login page has inline script or style")
	}

	resp, body = ts.do(c, "POST", "/login", "", strings.NewReader("user=dave&password=wrong"), "Content-Type", form)
	if !strings.Contains(expect(t, "wrong password", resp, body, http.StatusUnauthorized), "Wrong user name or password") {
		t.Errorf("wrong password page: %s", body)
	}
	resp, body = ts.do(c, "POST", "/login", "", strings.NewReader(url.Values{"user": {"dave"}, "password": {testserver.Password}}.Encode()),
		"Content-Type", form, "Sec-Fetch-Site", "cross-site", "Origin", "https://evil.example")
	expect(t, "cross-site login", resp, body, http.StatusForbidden)

	resp, body = ts.do(c, "POST", "/login", "", strings.NewReader(url.Values{"user": {"dave"}, "password": {testserver.Password}}.Encode()), "Content-Type", form)
	expect(t, "login", resp, body, http.StatusSeeOther)
	var sc *http.Cookie
	for _, ck := range resp.Cookies() {
		sc = ck
	}
	if sc == nil || sc.Name != "__Host-ferry" || !sc.HttpOnly || !sc.Secure || sc.SameSite != http.SameSiteStrictMode || sc.Path != "/" || len(sc.Value) < 40 {
		t.Fatalf("session cookie %+v", sc)
	}
	resp, body = ts.do(c, "GET", "/", "", nil)
	m := csrfMeta.FindStringSubmatch(expect(t, "file browser", resp, body, http.StatusOK))
	if m == nil || !strings.Contains(body, `src="/static/app.js"`) || !strings.Contains(body, "dave") {
		t.Fatalf("file browser page: %s", body)
	}
	token := m[1]
	resp, body = ts.do(c, "GET", "/static/app.js", "", nil)
	if !strings.Contains(expect(t, "script", resp, body, http.StatusOK), "X-CSRF-Token") || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/javascript") {
		t.Fatalf("app.js: %s %.80s", resp.Header.Get("Content-Type"), body)
	}
	resp, body = ts.do(c, "GET", "/static/app.js", "", nil, "If-None-Match", resp.Header.Get("ETag"))
	expect(t, "script revalidation", resp, body, http.StatusNotModified)
	resp, body = ts.do(c, "GET", "/static/nope.js", "", nil)
	expect(t, "missing asset", resp, body, http.StatusNotFound)

	resp, body = ts.do(c, "GET", "/api/v1/files/", "", nil, csrfHeader, token)
	expect(t, "list by cookie", resp, body, http.StatusOK)
	resp, body = ts.do(c, "PUT", "/api/v1/files/a.txt", "", strings.NewReader("x"))
	expect(t, "upload by cookie without CSRF token", resp, body, http.StatusForbidden)
	resp, body = ts.do(c, "PUT", "/api/v1/files/a.txt", "", strings.NewReader("x"), csrfHeader, "wrong")
	expect(t, "upload by cookie with a wrong CSRF token", resp, body, http.StatusForbidden)
	resp, body = ts.do(c, "PUT", "/api/v1/files/a.txt", "", strings.NewReader("x"), csrfHeader, token, "Sec-Fetch-Site", "cross-site")
	expect(t, "cross-site upload", resp, body, http.StatusForbidden)
	if _, err := os.Stat(filepath.Join(home, "a.txt")); err == nil {
		t.Fatal("a refused upload was saved")
	}
	resp, body = ts.do(c, "PUT", "/api/v1/files/a.txt", "", strings.NewReader("x"), csrfHeader, token, "Sec-Fetch-Site", "same-origin")
	expect(t, "upload by cookie with CSRF token", resp, body, http.StatusCreated)

	resp, body = ts.do(c, "POST", "/logout", "", strings.NewReader("csrf=wrong"), "Content-Type", form)
	expect(t, "logout with a wrong token", resp, body, http.StatusForbidden)
	resp, body = ts.do(c, "POST", "/logout", "", strings.NewReader("csrf="+token), "Content-Type", form)
	expect(t, "logout", resp, body, http.StatusSeeOther)
	// Replay the old cookie: the session is gone on the server, not only
	// in the client's jar.
	req, _ := http.NewRequest("GET", ts.base+"/api/v1/files/", nil)
	req.AddCookie(&http.Cookie{Name: sc.Name, Value: sc.Value})
	req.Header.Set(csrfHeader, token)
	r, err := ts.client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	r.Body.Close()
	if r.StatusCode != http.StatusUnauthorized || r.Header.Get("WWW-Authenticate") != "" {
		t.Fatalf("cookie after logout: status %d, challenge %q", r.StatusCode, r.Header.Get("WWW-Authenticate"))
	}
}

// TestSessionExpiry: idle and lifetime limits, dropUser and the empty
// secret, with sessions in memory and in the store (SQLite here; the
// store's own tests run the same statements on PostgreSQL).
func TestSessionExpiry(t *testing.T) {
	db, err := store.OpenSQLite(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, u := range []string{"u", "v"} {
		if err := db.Add(context.Background(), store.User{Name: u, Home: "/h"}); err != nil {
			t.Fatal(err)
		}
	}
	for name, backend := range map[string]SessionStore{"memory": nil, "store": db} {
		t.Run(name, func(t *testing.T) { testSessionExpiry(t, backend) })
	}
}

func testSessionExpiry(t *testing.T, backend SessionStore) {
	s := newSessions("web", time.Hour, 12*time.Hour, backend)
	start := time.Now().Truncate(time.Millisecond)
	now := start
	s.now = func() time.Time { return now }
	create := func(user string) string {
		secret, _, err := s.create(user)
		if err != nil {
			t.Fatal(err)
		}
		return secret
	}
	idle := create("u")
	busy := create("u")
	for range 13 {
		now = now.Add(59 * time.Minute)
		if _, ok := s.get(busy); !ok && now.Sub(start) <= 12*time.Hour {
			t.Fatalf("active session expired at %v", now)
		}
	}
	if _, ok := s.get(idle); ok {
		t.Fatal("idle session still valid")
	}
	if _, ok := s.get(busy); ok {
		t.Fatal("session valid past its lifetime")
	}
	other := create("v")
	if _, ok := s.get(other); !ok {
		t.Fatal("new session not valid")
	}
	if backend != nil {
		// Another node (a second sessions over the same store) sees it.
		peer := newSessions("web", time.Hour, 12*time.Hour, backend)
		peer.now = s.now
		if se, ok := peer.get(other); !ok || se.user != "v" {
			t.Fatal("a session made on one node is not valid on another")
		}
		tokens := newSessions("token", time.Hour, 12*time.Hour, backend)
		if _, ok := tokens.get(other); ok {
			t.Fatal("a browser session was accepted as an API token")
		}
	}
	s.dropUser("v")
	if _, ok := s.get(other); ok {
		t.Fatal("dropUser kept a session")
	}
	if _, ok := s.get(""); ok {
		t.Fatal("empty secret accepted")
	}
}

func TestHTTPRedirectsToHTTPS(t *testing.T) {
	ts := startServer(t, nil)
	c := ts.client()
	for _, p := range []string{"/", "/api/v1/files/a%20b.txt?x=1", "/login"} {
		resp, body := ts.do(c, "GET", ts.httpBase+p, "", nil)
		expect(t, "http "+p, resp, body, http.StatusPermanentRedirect)
		want := ts.base + p
		if loc := resp.Header.Get("Location"); loc != want {
			t.Errorf("http %s redirects to %q, want %q", p, loc, want)
		}
	}
	resp, body := ts.do(c, "PUT", ts.httpBase+"/api/v1/files/x", "", strings.NewReader("data"))
	expect(t, "http PUT", resp, body, http.StatusPermanentRedirect)
	if resp.Header.Get("Strict-Transport-Security") != "" {
		t.Error("HSTS sent over plain HTTP")
	}
}

func TestHTTPOnlyWhenHTTPSOff(t *testing.T) {
	ts := startServer(t, func(c *config.Config) { c.HTTP.HTTPSPort = 0 })
	ts.addUser("frank", false)
	if !strings.HasPrefix(ts.base, "http://") {
		t.Fatal(ts.base)
	}
	if !strings.Contains(ts.Logs.String(), "level=WARN") || !strings.Contains(ts.Logs.String(), "https_port = 0") {
		t.Errorf("no warning about clear text:\n%s", ts.Logs)
	}
	c := ts.client()
	resp, body := ts.do(c, "GET", "/login", "", nil)
	if !strings.Contains(expect(t, "login over http", resp, body, http.StatusOK), "not encrypted") {
		t.Error("login page does not warn about clear text")
	}
	if resp.Header.Get("Strict-Transport-Security") != "" {
		t.Error("HSTS over plain HTTP")
	}
	resp, body = ts.do(c, "POST", "/login", "", strings.NewReader(url.Values{"user": {"frank"}, "password": {testserver.Password}}.Encode()), "Content-Type", "application/x-www-form-urlencoded")
	expect(t, "login", resp, body, http.StatusSeeOther)
	ck := resp.Cookies()
	if len(ck) != 1 || ck[0].Name != "ferry" || ck[0].Secure || !ck[0].HttpOnly {
		t.Fatalf("cookie over http: %+v", ck)
	}
	resp, body = ts.do(c, "PUT", "/api/v1/files/f.txt", "frank", strings.NewReader("plain"))
	expect(t, "upload over http", resp, body, http.StatusCreated)
	if err := ts.srv.ServeHTTPS(nil); err == nil {
		t.Error("ServeHTTPS works with HTTPS off")
	}
}

// zeroReader streams n pseudo-random bytes without holding them.
type streamReader struct {
	r    *rand.ChaCha8
	left int64
}

func (s *streamReader) Read(b []byte) (int, error) {
	if s.left == 0 {
		return 0, io.EOF
	}
	if int64(len(b)) > s.left {
		b = b[:s.left]
	}
	n, _ := s.r.Read(b)
	s.left -= int64(n)
	return n, nil
}

// TestLargeUploadFlatMemory streams 1 GiB over HTTPS and checks that the
// heap does not grow with the size of the body.
func TestLargeUploadFlatMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("1 GiB upload skipped with -short")
	}
	const size = 1 << 30
	ts := startServer(t, nil)
	home := ts.addUser("grace", false)
	c := ts.client()

	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	base := ms.HeapInuse
	var peak atomic.Uint64
	stop := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				var m runtime.MemStats
				runtime.ReadMemStats(&m)
				if m.HeapInuse > peak.Load() {
					peak.Store(m.HeapInuse)
				}
			}
		}
	}()
	seed := [32]byte{1, 2, 3}
	req, _ := http.NewRequest("PUT", ts.base+"/api/v1/files/big.bin", &streamReader{r: rand.NewChaCha8(seed), left: size})
	req.ContentLength = size
	req.SetBasicAuth("grace", testserver.Password)
	start := time.Now()
	resp, err := c.Do(req)
	close(stop)
	<-sampled
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("status %d", resp.StatusCode)
	}
	t.Logf("1 GiB upload in %v; heap in use %d MiB before, peak %d MiB", time.Since(start).Round(time.Millisecond), base>>20, peak.Load()>>20)
	if grow := int64(peak.Load()) - int64(base); grow > 64<<20 {
		t.Errorf("heap grew by %d MiB during a 1 GiB upload", grow>>20)
	}

	want := sha256.New()
	io.Copy(want, &streamReader{r: rand.NewChaCha8(seed), left: size})
	f, err := os.Open(filepath.Join(home, "big.bin"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	got := sha256.New()
	if n, _ := io.Copy(got, f); n != size {
		t.Fatalf("file on disk has %d bytes", n)
	}
	if !bytes.Equal(got.Sum(nil), want.Sum(nil)) {
		t.Fatal("file on disk differs from the upload")
	}
}

func TestFormLoginLockout(t *testing.T) {
	ts := startServer(t, func(c *config.Config) { c.Lockout.MaxFailures = 2 })
	ts.addUser("henry", false)
	c := ts.client()
	form := "application/x-www-form-urlencoded"
	for range 2 {
		resp, body := ts.do(c, "POST", "/login", "", strings.NewReader("user=henry&password=nope"), "Content-Type", form)
		expect(t, "wrong password", resp, body, http.StatusUnauthorized)
	}
	resp, body := ts.do(c, "POST", "/login", "", strings.NewReader(url.Values{"user": {"henry"}, "password": {testserver.Password}}.Encode()), "Content-Type", form)
	if !strings.Contains(expect(t, "locked out", resp, body, http.StatusTooManyRequests), "Too many failed logins") {
		t.Errorf("lockout page: %s", body)
	}
	if len(resp.Cookies()) != 0 {
		t.Error("a locked-out login got a session cookie")
	}
	// The lockout is per IP and shared: the API refuses the same address.
	resp, body = ts.do(c, "GET", "/api/v1/files/", "henry", nil)
	expect(t, "API while locked out", resp, body, http.StatusTooManyRequests)
}

// TestStalledUploadDropped sends part of a body and stops: after the idle
// timeout the server drops the connection and keeps nothing.
func TestStalledUploadDropped(t *testing.T) {
	ts := startServer(t, func(c *config.Config) { c.Limits.StallTimeout = config.Duration{Duration: time.Second} })
	home := ts.addUser("ivy", false)
	conn, err := tls.Dial("tcp", strings.TrimPrefix(ts.base, "https://"), &tls.Config{RootCAs: ts.pool, ServerName: "127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	auth := base64.StdEncoding.EncodeToString([]byte("ivy:" + testserver.Password))
	fmt.Fprintf(conn, "PUT /api/v1/files/stalled.bin HTTP/1.1\r\nHost: x\r\nAuthorization: Basic %s\r\nContent-Length: 100000\r\n\r\n", auth)
	conn.Write(make([]byte, 5000))
	conn.SetReadDeadline(time.Now().Add(30 * time.Second))
	start := time.Now()
	reply, _ := io.ReadAll(conn)
	if time.Since(start) > 20*time.Second {
		t.Fatal("stalled upload not dropped")
	}
	if !strings.HasPrefix(string(reply), "HTTP/1.1 400") && len(reply) != 0 {
		t.Errorf("reply to a stalled upload: %q", reply)
	}
	if !regexp.MustCompile(`event=upload .*result=aborted`).MatchString(ts.Logs.String()) {
		t.Errorf("the server did not abort the stalled upload:\n%s", ts.Logs)
	}
	entries := testutil.Home(t, home)
	if len(entries) != 0 {
		t.Fatalf("a stalled upload left %v", entries)
	}
}

func TestRedirectTarget(t *testing.T) {
	for _, tc := range []struct {
		https      int
		host, uri  string
		wantTarget string
	}{
		{443, "files.example.com", "/a?b=1", "https://files.example.com/a?b=1"},
		{443, "files.example.com:80", "/", "https://files.example.com/"},
		{8443, "10.0.0.5:8080", "/api/v1/files/x%20y", "https://10.0.0.5:8443/api/v1/files/x%20y"},
		{443, "[2001:db8::1]:80", "/login", "https://[2001:db8::1]/login"},
		{8443, "[2001:db8::1]", "/", "https://[2001:db8::1]:8443/"},
		{443, "", "/", "https://localhost/"},
	} {
		c := config.Default()
		c.HTTP.HTTPSPort = tc.https
		s := &Server{cfg: c}
		r := httptest.NewRequest("GET", tc.uri, nil)
		r.Host = tc.host
		w := httptest.NewRecorder()
		s.redirect(w, r)
		if w.Code != http.StatusPermanentRedirect || w.Header().Get("Location") != tc.wantTarget {
			t.Errorf("host %q uri %q: %d %q, want 308 %q", tc.host, tc.uri, w.Code, w.Header().Get("Location"), tc.wantTarget)
		}
	}
}
