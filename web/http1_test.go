package web

import (
	"context"
	"crypto/tls"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/ferry-project/ferry/config"
	"github.com/ferry-project/ferry/internal/testutil"
)

// curl runs curl with a deadline and returns its standard output.
func curl(t *testing.T, args ...string) (string, error) {
	t.Helper()
	testutil.Need(t, "curl")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "curl", append([]string{"-sS", "--max-time", "20"}, args...)...).Output()
	return string(out), err
}

// TestWebHTTP1Only: neither listener ever speaks HTTP/2, whatever the client
// offers: curl --http2 over TLS gets HTTP/1.1, a TLS client offering only
// "h2" does not get it, and plain HTTP neither upgrades to h2c nor accepts
// its prior-knowledge preface.
func TestWebHTTP1Only(t *testing.T) {
	ts := startServer(t, nil)
	if got := ts.srv.https.TLSConfig.NextProtos; len(got) != 1 || got[0] != "http/1.1" {
		t.Errorf("TLS NextProtos = %q, want [http/1.1]", got)
	}
	if out, err := curl(t, "--http2", "-k", "-o", "/dev/null", "-w", "%{http_version}", ts.base+"/login"); err != nil || out != "1.1" {
		t.Errorf("curl --http2 over HTTPS: version %q, %v; want 1.1", out, err)
	}

	addr := strings.TrimPrefix(ts.base, "https://")
	for _, offer := range [][]string{{"h2"}, {"h2", "http/1.1"}} {
		d := tls.Dialer{Config: &tls.Config{RootCAs: ts.pool, ServerName: "127.0.0.1", NextProtos: offer}}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		c, err := d.DialContext(ctx, "tcp", addr)
		cancel()
		if err != nil {
			if len(offer) == 1 {
				continue // refused ALPN: no HTTP/2 either
			}
			t.Fatalf("TLS offering %q: %v", offer, err)
		}
		got := c.(*tls.Conn).ConnectionState().NegotiatedProtocol
		c.Close()
		if got == "h2" || len(offer) > 1 && got != "http/1.1" {
			t.Errorf("TLS offering %q negotiated %q", offer, got)
		}
	}

	plain := startServer(t, func(c *config.Config) { c.HTTP.HTTPSPort = 0 })
	if out, err := curl(t, "--http2", "-o", "/dev/null", "-w", "%{http_version}", plain.base+"/login"); err != nil || out != "1.1" {
		t.Errorf("curl --http2 (h2c upgrade) over plain HTTP: version %q, %v; want 1.1", out, err)
	}
	if out, err := curl(t, "--http2-prior-knowledge", "-o", "/dev/null", "-w", "%{http_version}", plain.base+"/login"); err == nil && out == "2" {
		t.Errorf("plain HTTP served h2c with prior knowledge")
	}
}
