package web

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ferry-project/ferry/certs"
	"github.com/ferry-project/ferry/config"
	"github.com/ferry-project/ferry/core"
	"github.com/ferry-project/ferry/internal/testserver"
	"github.com/ferry-project/ferry/listen"
)

// TestHealthz: GET /healthz says ok while the checks pass and 503 once
// one fails, needs no login, refuses other methods, and a flood of checks
// runs them about once a second, not once a request.
func TestHealthz(t *testing.T) {
	s := testserver.New(t, func(c *config.Config) { c.FTP.Enabled, c.SFTP.Enabled = false, false })
	var down atomic.Bool
	var calls atomic.Int64
	cr, err := core.New(core.Options{Config: s.Config, Auth: s.Auth, Log: s.Log, Health: []core.HealthCheck{
		func(context.Context) error {
			calls.Add(1)
			if down.Load() {
				return errors.New("store: connection refused")
			}
			return nil
		}}})
	if err != nil {
		t.Fatal(err)
	}
	srv, err := New(Options{Config: s.Config, Core: cr, TLS: certs.ServerConfig(s.Cert), Log: s.Log})
	if err != nil {
		t.Fatal(err)
	}
	ln := s.Listener(listen.HTTPS)
	s.Serve(srv, http.ErrServerClosed, func() error { return srv.ServeHTTPS(ln) })
	url := "https://" + ln.Addr().String() + "/healthz"
	c := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	defer c.CloseIdleConnections()
	get := func(method string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(method, url, nil)
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := get("GET"); code != 200 || body != "ok\n" {
		t.Errorf("healthy: %d %q", code, body)
	}
	if code, _ := get("POST"); code != http.StatusMethodNotAllowed {
		t.Errorf("POST: %d", code)
	}
	var wg sync.WaitGroup
	before := calls.Load()
	for range 10 { // ten connections: limits.max_prelogin_per_ip is the test floor's
		wg.Go(func() {
			for range 5 {
				get("GET")
			}
		})
	}
	wg.Wait()
	if n := calls.Load() - before; n > 3 {
		t.Errorf("50 checks ran the health checks %d times", n)
	}
	down.Store(true)
	time.Sleep(1100 * time.Millisecond) // past the cached answer
	if code, body := get("GET"); code != http.StatusServiceUnavailable || strings.Contains(body, "refused") {
		t.Errorf("store down: %d %q (the reason stays in the server's log)", code, body)
	}
	if code, _ := get("HEAD"); code != http.StatusServiceUnavailable {
		t.Errorf("HEAD, store down: %d", code)
	}
	if !strings.Contains(s.Logs.String(), "store: connection refused") {
		t.Error("the failed check is not in the log")
	}
	if locked, _ := s.Auth.Lockout.Locked([]byte{127, 0, 0, 1}); locked {
		t.Error("health checks counted as failed logins")
	}
}
