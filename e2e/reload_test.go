package e2e

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ferry-project/ferry/certs"
	"github.com/ferry-project/ferry/config"
	"github.com/ferry-project/ferry/internal/testutil"
)

// newCertFiles generates a self-signed certificate into its own folder and
// returns the files and its fingerprint.
func newCertFiles(t *testing.T) (certFile, keyFile, fingerprint string) {
	t.Helper()
	dir := t.TempDir()
	cert, _, err := certs.Load("", "", dir, []string{"127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Join(dir, certs.GeneratedCert), filepath.Join(dir, certs.GeneratedKey), certs.Fingerprint(cert.Certificate[0])
}

// servedFingerprint is the fingerprint of the certificate a TLS port of s
// presents now: implicit TLS, or AUTH TLS first on the explicit FTP port.
func servedFingerprint(t *testing.T, s *server, scheme string) string {
	t.Helper()
	c, err := net.DialTimeout("tcp", s.addr(s.port(scheme)), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if scheme == "ftpes" {
		r := bufio.NewReader(c)
		if l, _ := r.ReadString('\n'); !strings.HasPrefix(l, "220") {
			t.Fatalf("greeting %q", l)
		}
		io.WriteString(c, "AUTH TLS\r\n")
		if l, _ := r.ReadString('\n'); !strings.HasPrefix(l, "234") {
			t.Fatalf("AUTH TLS: %q", l)
		}
	}
	tc := tls.Client(c, &tls.Config{InsecureSkipVerify: true})
	if err := tc.Handshake(); err != nil {
		t.Fatalf("%s handshake: %v", scheme, err)
	}
	return certs.Fingerprint(tc.ConnectionState().PeerCertificates[0].Raw)
}

// TestReloadCertificate: new certificate files and `ferry reload` (SIGHUP):
// the next handshake on every TLS port shows the new certificate, while a
// download running across the reload completes byte-exact; a broken
// configuration on reload changes nothing and the server stays up.
func TestReloadCertificate(t *testing.T) {
	certA, keyA, fpA := newCertFiles(t)
	certB, keyB, fpB := newCertFiles(t)
	live := t.TempDir()
	liveCert, liveKey := filepath.Join(live, "cert.pem"), filepath.Join(live, "key.pem")
	cp := func(from, to string) {
		b, err := os.ReadFile(from)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(to, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	cp(certA, liveCert)
	cp(keyA, liveKey)
	s := newServer(t, func(c *config.Config) { c.TLS.CertFile, c.TLS.KeyFile = liveCert, liveKey })
	const pw = "reload-test-password"
	home := s.addUser("alice", pw)
	data := testutil.RandomBytes(8<<20, 9)
	writeFile(t, filepath.Join(home, "big.bin"), data)
	s.start()
	schemes := []string{"ftpes", "ftps", "https"}
	for _, sc := range schemes {
		if fp := servedFingerprint(t, s, sc); fp != fpA {
			t.Fatalf("%s serves %s before the reload, want %s", sc, fp, fpA)
		}
	}
	c, err := s.dial("ftps", "alice", pw, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	r, err := c.Open("/big.bin", 0)
	if err != nil {
		t.Fatal(err)
	}
	got := make([]byte, 1<<20)
	if _, err := io.ReadFull(r, got); err != nil {
		t.Fatal(err)
	}

	cp(certB, liveCert)
	cp(keyB, liveKey)
	if out, err := s.ferry("", "reload"); err != nil {
		t.Fatalf("ferry reload: %v\n%s", err, out)
	}
	if !s.waitLog("msg=reloaded", 5*time.Second) {
		t.Fatalf("no reload in the log:\n%s", s.Logs())
	}
	for _, sc := range schemes {
		if fp := servedFingerprint(t, s, sc); fp != fpB {
			t.Errorf("%s serves %s after the reload, want the new %s", sc, fp, fpB)
		}
	}
	rest, err := io.ReadAll(r)
	if err != nil || r.Close() != nil {
		t.Fatalf("the download across the reload failed: %v", err)
	}
	if !bytes.Equal(append(got, rest...), data) {
		t.Fatal("the download across the reload is not byte-exact")
	}

	// A broken file: `ferry reload` names the key and sends nothing; a
	// SIGHUP anyway (systemctl reload) is logged, changes nothing, and the
	// server goes on serving.
	good, _ := os.ReadFile(s.ConfigPath)
	os.WriteFile(s.ConfigPath, append(good, []byte("\n[bogus]\nkey = 1\n")...), 0o644)
	if out, err := s.ferry("", "reload"); err == nil || !strings.Contains(out, "bogus.key") {
		t.Fatalf("ferry reload of a broken configuration: %v\n%s", err, out)
	}
	s.signal(syscall.SIGHUP)
	if !s.waitLog("reload refused", 5*time.Second) || !strings.Contains(s.Logs(), "bogus.key") {
		t.Fatalf("the broken configuration was not refused by name:\n%s", s.Logs())
	}
	if fp := servedFingerprint(t, s, "https"); fp != fpB {
		t.Errorf("after a refused reload HTTPS serves %s, want %s", fp, fpB)
	}
}

// TestReloadPassiveAddress: a reload that changes public_host changes the
// address of the next passive reply, with no restart.
func TestReloadPassiveAddress(t *testing.T) {
	s := newServer(t, func(c *config.Config) { c.PublicHost = "127.0.0.8" })
	const pw = "reload-test-password"
	s.addUser("alice", pw)
	s.start()
	pasv := func() string {
		f, err := dialFTPRaw(nil, s.addr(s.Cfg.FTP.ImplicitPort), true, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		if err := f.login("alice", pw); err != nil {
			t.Fatal(err)
		}
		code, text, err := f.cmd("PASV")
		if err != nil || code != 227 {
			t.Fatalf("PASV: %d %s %v", code, text, err)
		}
		return text
	}
	if r := pasv(); !strings.Contains(r, "(127,0,0,8,") {
		t.Fatalf("PASV before the reload: %s", r)
	}
	b, _ := os.ReadFile(s.ConfigPath)
	os.WriteFile(s.ConfigPath, []byte(strings.Replace(string(b), `public_host = "127.0.0.8"`, `public_host = "127.0.0.9"`, 1)), 0o644)
	if out, err := s.ferry("", "reload"); err != nil {
		t.Fatalf("ferry reload: %v\n%s", err, out)
	}
	if !s.waitLog("applied=public_host", 5*time.Second) {
		t.Fatalf("public_host not applied:\n%s", s.Logs())
	}
	if r := pasv(); !strings.Contains(r, "(127,0,0,9,") {
		t.Fatalf("PASV after the reload: %s", r)
	}
}
