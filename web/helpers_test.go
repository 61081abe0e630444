package web

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"strings"
	"testing"
	"time"

	"github.com/ferry-project/ferry/certs"
	"github.com/ferry-project/ferry/config"
	"github.com/ferry-project/ferry/internal/testserver"
	"github.com/ferry-project/ferry/listen"
	"github.com/ferry-project/ferry/store"
)

// testServer is a web.Server on real loopback listeners, on the shared
// test floor.
type testServer struct {
	*testserver.Server
	t        testing.TB
	srv      *Server
	base     string // https://127.0.0.1:PORT, or http:// when HTTPS is off
	httpBase string // http://127.0.0.1:PORT
	pool     *x509.CertPool
}

// startServer starts a server; mutate edits the configuration first
// (https_port = 0 turns HTTPS off, as in the config file).
func startServer(t testing.TB, mutate func(c *config.Config)) *testServer {
	t.Helper()
	s := testserver.New(t, func(c *config.Config) { c.FTP.Enabled, c.SFTP.Enabled = false, false }, mutate)
	srv, err := New(Options{Config: s.Config, Core: s.Core, TLS: certs.ServerConfig(s.Cert), Log: s.Log})
	if err != nil {
		t.Fatal(err)
	}
	ts := &testServer{Server: s, t: t, srv: srv, pool: x509.NewCertPool()}
	ts.pool.AddCert(s.Cert.Leaf)
	lnHTTP := s.Listener(listen.HTTP)
	ts.httpBase = "http://" + lnHTTP.Addr().String()
	ts.base = ts.httpBase
	loops := []func() error{func() error { return srv.ServeHTTP(lnHTTP) }}
	if s.Config.HTTP.HTTPSPort != 0 {
		lnHTTPS := s.Listener(listen.HTTPS)
		ts.base = "https://" + lnHTTPS.Addr().String()
		loops = append(loops, func() error { return srv.ServeHTTPS(lnHTTPS) })
	}
	s.Serve(srv, http.ErrServerClosed, loops...)
	return ts
}

// addUser creates a user with testserver.Password and returns its home.
func (ts *testServer) addUser(name string, readOnly bool) string {
	ts.t.Helper()
	return ts.AddUser(store.User{Name: name, ReadOnly: readOnly}).Home
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
		req.SetBasicAuth(user, testserver.Password)
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
