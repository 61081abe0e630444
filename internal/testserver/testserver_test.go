package testserver

import (
	"context"
	"crypto/x509"
	"errors"
	"net"
	"os"
	"strconv"
	"testing"

	"github.com/ferry-project/ferry/auth"
	"github.com/ferry-project/ferry/certs"
	"github.com/ferry-project/ferry/config"
	"github.com/ferry-project/ferry/listen"
	"github.com/ferry-project/ferry/store"
	"golang.org/x/crypto/ssh"
)

// TestFloor: the configuration's ports are the listeners', the standard
// users log in as documented, and the certificate is the data directory's.
func TestFloor(t *testing.T) {
	s := New(t, func(c *config.Config) { c.SFTP.Enabled = false }, nil, func(c *config.Config) { c.HTTP.HTTPSPort = 0 })
	c := s.Config
	for svc, port := range map[listen.Service]int{listen.FTP: c.FTP.Port, listen.FTPImplicit: c.FTP.ImplicitPort, listen.HTTP: c.HTTP.Port} {
		ln := s.Listener(svc)
		if want := net.JoinHostPort("127.0.0.1", strconv.Itoa(port)); ln.Addr().String() != want {
			t.Errorf("%s listens on %s, the configuration says %s", svc, ln.Addr(), want)
		}
		ln.Close()
	}
	if _, ok := s.ports[listen.HTTPS]; ok || c.HTTP.HTTPSPort != 0 {
		t.Errorf("https_port = 0 opened a listener on %d", c.HTTP.HTTPSPort)
	}
	if _, ok := s.ports[listen.SFTP]; ok {
		t.Error("a disabled SFTP got a listener")
	}

	ctx, ip := context.Background(), net.IPv4(127, 0, 0, 1)
	for name, readOnly := range map[string]bool{"alice": false, "carol": true} {
		u, err := s.Auth.Password(ctx, ip, name, Password)
		if err != nil || u.ReadOnly != readOnly {
			t.Errorf("%s: %v, read-only %v", name, err, u.ReadOnly)
		}
		if fi, err := os.Stat(s.Home(name)); err != nil || !fi.IsDir() || u.Home != s.Home(name) {
			t.Errorf("%s's home %q: %v", name, u.Home, err)
		}
	}
	if _, err := s.Auth.Password(ctx, ip, "bob", Password); err == nil {
		t.Error("bob logs in with a password")
	}
	pub, err := os.ReadFile(s.KeyFile + ".pub")
	if err != nil {
		t.Fatal(err)
	}
	key, _, _, _, err := ssh.ParseAuthorizedKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Auth.PublicKey(ctx, ip, "bob", key); err != nil {
		t.Errorf("bob's key: %v", err)
	}

	// AddUser replaces a standard user.
	s.AddUser(store.User{Name: "bob"})
	if _, err := s.Auth.Password(ctx, ip, "bob", Password); err != nil {
		t.Errorf("bob replaced by a password user: %v", err)
	}

	cert, _, err := certs.Load("", "", c.DataDir, nil)
	if err != nil || !cert.Leaf.Equal(s.Cert.Leaf) {
		t.Fatalf("the data directory's certificate is not Cert: %v", err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(s.Cert.Leaf)
	if _, err := s.Cert.Leaf.Verify(x509.VerifyOptions{Roots: pool, DNSName: "127.0.0.1"}); err != nil {
		t.Errorf("Cert for 127.0.0.1: %v", err)
	}
}

// closer is a protocol server whose only listener Shutdown closes.
type closer struct{ ln net.Listener }

func (c closer) Shutdown(context.Context) error { return c.ln.Close() }

// TestServeAndRestart: Stop shuts down and collects the loops; the second
// Listener of a service reopens its port.
func TestServeAndRestart(t *testing.T) {
	s := New(t, func(c *config.Config) { c.FTP.Enabled, c.HTTP.Enabled = false, false })
	accept := func(ln net.Listener) func() error {
		return func() error {
			_, err := ln.Accept()
			return err
		}
	}
	for range 2 {
		ln := s.Listener(listen.SFTP)
		if ln.Addr().(*net.TCPAddr).Port != s.Config.SFTP.Port {
			t.Fatalf("listener on %s, want port %d", ln.Addr(), s.Config.SFTP.Port)
		}
		r := s.Serve(closer{ln}, net.ErrClosed, accept(ln))
		r.Stop()
		r.Stop() // does nothing
		if errs := r.Wait(); len(errs) != 1 || !errors.Is(errs[0], net.ErrClosed) {
			t.Fatalf("Wait = %v", errs)
		}
	}
}

func TestPasswordHashOnce(t *testing.T) {
	a, _ := passwordHash()
	b, _ := passwordHash()
	if a != b || !auth.CheckPassword(a, Password) {
		t.Fatal("Password's hash is not computed once, or does not match")
	}
}
