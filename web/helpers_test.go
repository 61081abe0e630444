package web

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ferry-project/ferry/auth"
	"github.com/ferry-project/ferry/certs"
	"github.com/ferry-project/ferry/config"
	"github.com/ferry-project/ferry/core"
	"github.com/ferry-project/ferry/internal/testutil"
	"github.com/ferry-project/ferry/store"
)

// testServer is a web.Server on real loopback listeners with its own user
// store, certificate and homes.
type testServer struct {
	t        testing.TB
	srv      *Server
	cfg      *config.Config
	auth     *auth.Authenticator
	store    *store.SQLite
	dir      string
	base     string // https://127.0.0.1:PORT, or http:// when HTTPS is off
	httpBase string // http://127.0.0.1:PORT
	pool     *x509.CertPool
	logs     *testutil.Buffer
	served   chan error
}

const testPassword = "correct horse battery staple"

// startServer starts a server; mutate edits the configuration first
// (https_port = 0 turns HTTPS off, as in the config file).
func startServer(t testing.TB, mutate func(c *config.Config)) *testServer {
	t.Helper()
	dir := t.TempDir()
	c := config.Default()
	c.DataDir = filepath.Join(dir, "data")
	c.Lockout.MaxFailures = 5
	if mutate != nil {
		mutate(c)
	}
	httpsOn := c.HTTP.HTTPSPort != 0
	lnHTTP, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	c.HTTP.Port = lnHTTP.Addr().(*net.TCPAddr).Port
	var lnHTTPS net.Listener
	if httpsOn {
		if lnHTTPS, err = net.Listen("tcp", "127.0.0.1:0"); err != nil {
			t.Fatal(err)
		}
		c.HTTP.HTTPSPort = lnHTTPS.Addr().(*net.TCPAddr).Port
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(c.DataDir, 0o700); err != nil {
		t.Fatal(err)
	}
	st, err := store.OpenSQLite(c.DataDir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	a := auth.New(st, auth.NewLockout(c.Lockout.MaxFailures, c.Lockout.Window.Duration, c.Lockout.Duration.Duration), auth.Options{Hashes: c.Limits.PasswordHashes, Wait: c.Limits.PasswordWait.Duration})
	cert, _, err := certs.Load("", "", c.DataDir, nil)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(cert.Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	logs := &testutil.Buffer{}
	log := slog.New(slog.NewTextHandler(logs, nil))
	cr, err := core.New(core.Options{Config: c, Auth: a, Log: log})
	if err != nil {
		t.Fatal(err)
	}
	srv, err := New(Options{Config: c, Core: cr, TLS: certs.ServerConfig(cert), Log: log})
	if err != nil {
		t.Fatal(err)
	}
	ts := &testServer{t: t, srv: srv, cfg: c, auth: a, store: st, dir: dir, pool: pool, logs: logs, served: make(chan error, 2)}
	ts.httpBase = "http://" + lnHTTP.Addr().String()
	ts.base = ts.httpBase
	go func() { ts.served <- srv.ServeHTTP(lnHTTP) }()
	n := 1
	if httpsOn {
		ts.base = "https://" + lnHTTPS.Addr().String()
		go func() { ts.served <- srv.ServeHTTPS(lnHTTPS) }()
		n++
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
		for range n {
			if err := <-ts.served; !errors.Is(err, http.ErrServerClosed) {
				t.Errorf("Serve returned %v, want http.ErrServerClosed", err)
			}
		}
		if t.Failed() {
			t.Logf("server log:\n%s", logs)
		}
	})
	return ts
}

// addUser creates a user with testPassword and returns its home.
func (ts *testServer) addUser(name string, readOnly bool) string {
	ts.t.Helper()
	h, err := auth.HashPassword(testPassword)
	if err != nil {
		ts.t.Fatal(err)
	}
	home := filepath.Join(ts.dir, "homes", name)
	if err := os.MkdirAll(home, 0o750); err != nil {
		ts.t.Fatal(err)
	}
	if err := ts.store.Add(context.Background(), store.User{Name: name, PasswordHash: h, Home: home, ReadOnly: readOnly}); err != nil {
		ts.t.Fatal(err)
	}
	return home
}

// client returns an HTTP client that trusts the test certificate, keeps
// cookies, and does not follow redirects.
func (ts *testServer) client() *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{
		Jar:           jar,
		Transport:     &http.Transport{TLSClientConfig: &tls.Config{RootCAs: ts.pool}, ForceAttemptHTTP2: true},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		Timeout:       2 * time.Minute,
	}
}

// do sends a request as user (Basic auth, "" for none) and returns the
// response with its body read.
func (ts *testServer) do(c *http.Client, method, url, user string, body io.Reader, hdr ...string) (*http.Response, string) {
	ts.t.Helper()
	if !strings.HasPrefix(url, "http") {
		url = ts.base + url
	}
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		ts.t.Fatal(err)
	}
	if user != "" {
		req.SetBasicAuth(user, testPassword)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := c.Do(req)
	if err != nil {
		ts.t.Fatalf("%s %s: %v", method, url, err)
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		ts.t.Fatalf("%s %s: reading body: %v", method, url, err)
	}
	return resp, string(b)
}

// expect checks a response's status and returns its body.
func expect(t testing.TB, what string, resp *http.Response, body string, status int) string {
	t.Helper()
	if resp.StatusCode != status {
		t.Fatalf("%s: status %d, want %d; body %q", what, resp.StatusCode, status, body)
	}
	return body
}

// token gets a bearer token for user.
func (ts *testServer) token(c *http.Client, user string) string {
	ts.t.Helper()
	resp, body := ts.do(c, "POST", "/api/v1/token", user, nil)
	expect(ts.t, "token", resp, body, http.StatusOK)
	var v struct{ Token string }
	if err := json.Unmarshal([]byte(body), &v); err != nil || v.Token == "" {
		ts.t.Fatalf("token response %q", body)
	}
	return v.Token
}
