package e2e

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ferry-project/ferry/certs"
	"github.com/ferry-project/ferry/config"
	"github.com/ferry-project/ferry/internal/testutil"
)

// pebbleDir is the source of the Pebble module in the module cache, for
// the certificate of Pebble's own HTTPS (.ci/run installs Pebble with go
// install, which leaves it there).
func pebbleDir(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("go", "env", "GOMODCACHE").Output()
	if err != nil {
		t.Fatal(err)
	}
	dirs, _ := filepath.Glob(filepath.Join(strings.TrimSpace(string(out)), "github.com/letsencrypt/pebble/v2@*"))
	if len(dirs) == 0 {
		if os.Getenv("CI") == "true" {
			t.Fatal("Pebble's module is not in the module cache (.ci/run installs it)")
		}
		t.Skip("Pebble's module is not in the module cache: go install github.com/letsencrypt/pebble/v2/cmd/pebble@v2.10.3")
	}
	return dirs[len(dirs)-1]
}

// startBackground runs a lab server until the test ends.
func startBackground(t *testing.T, env []string, name string, args ...string) *testutil.Buffer {
	t.Helper()
	var out testutil.Buffer
	cmd := exec.Command(name, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	return &out
}

// TestACME: with tls.acme_domains, ferry obtains its certificate from a
// real RFC 8555 server (Pebble, with its DNS stand-in resolving the name to
// 127.0.0.1) and serves it on HTTPS and on implicit and explicit FTPS, to
// clients that send the name and to FTP clients that send none.
func TestACME(t *testing.T) {
	testutil.Need(t, "pebble", "pebble-challtestsrv")
	src := pebbleDir(t)
	const domain = "files.ferry.test"
	dnsPort, dirPort, mgmtPort, chMgmt := testutil.FreePort(t), testutil.FreePort(t), testutil.FreePort(t), testutil.FreePort(t)
	s := newServer(t, func(c *config.Config) {
		c.TLS.ACMEDomains = []string{domain}
		c.TLS.ACMEDirectory = "https://127.0.0.1:" + strconv.Itoa(dirPort) + "/dir"
		c.TLS.ACMECAFile = filepath.Join(src, "test/certs/pebble.minica.pem")
	})
	startBackground(t, nil, "pebble-challtestsrv", "-defaultIPv4", "127.0.0.1", "-defaultIPv6", "",
		"-dnsserver", "127.0.0.1:"+strconv.Itoa(dnsPort), "-doh", "", "-http01", "", "-https01", "", "-tlsalpn01", "",
		"-management", "127.0.0.1:"+strconv.Itoa(chMgmt))
	pcfg := map[string]any{"pebble": map[string]any{
		"listenAddress":           "127.0.0.1:" + strconv.Itoa(dirPort),
		"managementListenAddress": "127.0.0.1:" + strconv.Itoa(mgmtPort),
		"certificate":             filepath.Join(src, "test/certs/localhost/cert.pem"),
		"privateKey":              filepath.Join(src, "test/certs/localhost/key.pem"),
		"httpPort":                s.Cfg.HTTP.Port,
		"tlsPort":                 s.Cfg.HTTP.HTTPSPort,
	}}
	b, _ := json.Marshal(pcfg)
	cfgFile := filepath.Join(t.TempDir(), "pebble.json")
	os.WriteFile(cfgFile, b, 0o644)
	plog := startBackground(t, []string{"PEBBLE_VA_NOSLEEP=1", "PEBBLE_WFE_NONCEREJECT=0"}, "pebble", "-config", cfgFile,
		"-dnsserver", "127.0.0.1:"+strconv.Itoa(dnsPort))
	for i := 0; ; i++ {
		if c, err := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(mgmtPort)); err == nil {
			c.Close()
			break
		}
		if i > 100 {
			t.Fatalf("pebble does not start:\n%s", plog)
		}
		time.Sleep(50 * time.Millisecond)
	}
	s.start()

	// Pebble's root of this run, from its management interface.
	ca, _ := os.ReadFile(filepath.Join(src, "test/certs/pebble.minica.pem"))
	minica := x509.NewCertPool()
	minica.AppendCertsFromPEM(ca)
	hc := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: minica}}}
	resp, err := hc.Get("https://127.0.0.1:" + strconv.Itoa(mgmtPort) + "/roots/0")
	if err != nil {
		t.Fatal(err)
	}
	rootPEM, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(rootPEM) {
		t.Fatalf("no root from pebble: %s", rootPEM)
	}

	verify := func(what string, tc *tls.Conn) {
		st := tc.ConnectionState()
		inter := x509.NewCertPool()
		for _, c := range st.PeerCertificates[1:] {
			inter.AddCert(c)
		}
		if _, err := st.PeerCertificates[0].Verify(x509.VerifyOptions{DNSName: domain, Roots: roots, Intermediates: inter}); err != nil {
			t.Errorf("%s: the certificate is not Pebble's for %s: %v (issuer %s)", what, domain, err, st.PeerCertificates[0].Issuer)
		}
	}
	// The first handshake waits for the order: give it time.
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	d := tls.Dialer{Config: &tls.Config{ServerName: domain, InsecureSkipVerify: true}}
	c, err := d.DialContext(ctx, "tcp", s.addr(s.Cfg.HTTP.HTTPSPort))
	if err != nil {
		t.Fatalf("HTTPS with ACME: %v\nferry:\n%s\npebble:\n%s", err, s.Logs(), plog)
	}
	verify("HTTPS", c.(*tls.Conn))
	httpsFP := certsFingerprint(c.(*tls.Conn))
	c.Close()
	// Implicit FTPS, as FTP clients connect: by address, no server name.
	nd := tls.Dialer{Config: &tls.Config{InsecureSkipVerify: true}}
	c, err = nd.DialContext(ctx, "tcp", s.addr(s.Cfg.FTP.ImplicitPort))
	if err != nil {
		t.Fatalf("implicit FTPS with ACME: %v", err)
	}
	verify("implicit FTPS without a server name", c.(*tls.Conn))
	c.Close()
	if fp := servedFingerprint(t, s, "ftpes"); fp != httpsFP {
		t.Errorf("explicit FTPS serves %s, HTTPS %s: want the ACME certificate on both", fp, httpsFP)
	}
}

func certsFingerprint(c *tls.Conn) string {
	return certs.Fingerprint(c.ConnectionState().PeerCertificates[0].Raw)
}
