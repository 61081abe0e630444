package e2e

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ferry-project/ferry/config"
	"github.com/ferry-project/ferry/internal/testutil"
	proxyproto "github.com/pires/go-proxyproto"
)

// The addresses of TestHAProxy, all on loopback: ferry listens on
// 127.0.0.1, HAProxy's frontends on 127.0.0.2 (the public address ferry
// advertises) and connects to ferry from 127.0.0.1, and the clients
// connect from 127.0.0.7, the address ferry must see.
const (
	haproxyFront  = "127.0.0.2"
	haproxyClient = "127.0.0.7"
)

// startHAProxy runs HAProxy in the foreground on the configuration that
// `ferry firewall --cluster --format haproxy` prints for one node, s, and
// waits until its frontends accept connections.
func startHAProxy(t *testing.T, s *server) *testutil.Buffer {
	t.Helper()
	c := s.Cfg
	cluster := fmt.Sprintf(`[balancer]
public_host = %q
listen      = %q
sources     = ["127.0.0.1"]

[ports]
ftp           = %d
ftps_implicit = %d
sftp          = %d
https         = %d

[[node]]
name          = "a"
address       = "127.0.0.1"
passive_ports = %q
`, haproxyFront, haproxyFront, c.FTP.Port, c.FTP.ImplicitPort, c.SFTP.Port, c.HTTP.HTTPSPort, c.FTP.PassivePorts)
	dir := t.TempDir()
	cpath := filepath.Join(dir, "cluster.toml")
	if err := os.WriteFile(cpath, []byte(cluster), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(ferryBin, "firewall", "--cluster", cpath, "--format", "haproxy").Output()
	if err != nil {
		t.Fatalf("ferry firewall --cluster: %v", err)
	}
	hpath := filepath.Join(dir, "haproxy.cfg")
	if err := os.WriteFile(hpath, out, 0o644); err != nil {
		t.Fatal(err)
	}
	logs := &testutil.Buffer{}
	cmd := exec.Command("haproxy", "-db", "-f", hpath)
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		if t.Failed() {
			t.Logf("haproxy log:\n%s\nconfiguration:\n%s", logs, out)
		}
	})
	addr := net.JoinHostPort(haproxyFront, strconv.Itoa(c.FTP.Port))
	deadline := time.Now().Add(10 * time.Second)
	for {
		conn, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			conn.Close()
			return logs
		}
		if time.Now().After(deadline) {
			t.Fatalf("haproxy does not listen on %s: %v\n%s", addr, err, logs)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestHAProxy puts real HAProxy, configured by `ferry firewall --cluster`,
// in front of `ferry serve` with the PROXY protocol required: explicit
// FTPS in passive mode (PASV and EPSV, control and data through the
// balancer), implicit FTPS, SFTP and HTTPS move files byte-exact, and the
// server's log, audit log and status show the client's own address, not
// the balancer's. HAProxy's health checks reach /healthz. A PROXY header
// from an address that is not trusted is refused, and so is a trusted
// connection without one.
func TestHAProxy(t *testing.T) {
	testutil.Need(t, "haproxy", "curl", "sftp", "sshpass")
	const pw = "Proxy-S3cret-pw"
	s := newServer(t, func(c *config.Config) {
		c.PublicHost = haproxyFront
		c.ProxyProtocol.Trusted = []string{"127.0.0.1/32"}
		c.ProxyProtocol.Required = true
		c.LogLevel = "debug"
	})
	home := s.addUser("alice", pw)
	s.start()
	hlogs := startHAProxy(t, s)

	dir := t.TempDir()
	data := testutil.RandomBytes(3<<20+5, 14)
	local := filepath.Join(dir, "up.bin")
	if err := os.WriteFile(local, data, 0o644); err != nil {
		t.Fatal(err)
	}
	front := func(port int) string { return net.JoinHostPort(haproxyFront, strconv.Itoa(port)) }
	curl := func(args ...string) {
		t.Helper()
		args = append([]string{"-sS", "--fail-with-body", "-k", "--interface", haproxyClient, "--max-time", "60"}, args...)
		if out, err := run(t, "", "curl", args...); err != nil {
			t.Fatalf("curl %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	same := func(what, path string) {
		t.Helper()
		got, err := os.ReadFile(path)
		if err != nil || !bytes.Equal(got, data) {
			t.Fatalf("%s: %d bytes differ from the %d sent (%v)", what, len(got), len(data), err)
		}
	}

	// Explicit FTPS, PASV (the reply's address is the balancer's) then EPSV.
	ftpURL := "ftp://alice:" + pw + "@" + front(s.Cfg.FTP.Port) + "/"
	curl("--ssl-reqd", "--disable-epsv", "--no-ftp-skip-pasv-ip", "-T", local, ftpURL+"pasv.bin")
	same("explicit FTPS upload (PASV)", filepath.Join(home, "pasv.bin"))
	curl("--ssl-reqd", "-o", filepath.Join(dir, "epsv.bin"), ftpURL+"pasv.bin")
	same("explicit FTPS download (EPSV)", filepath.Join(dir, "epsv.bin"))
	// Implicit FTPS.
	curl("--disable-epsv", "--no-ftp-skip-pasv-ip", "-T", local, "ftps://alice:"+pw+"@"+front(s.Cfg.FTP.ImplicitPort)+"/implicit.bin")
	same("implicit FTPS upload", filepath.Join(home, "implicit.bin"))
	// HTTPS, and the health check.
	curl("-u", "alice:"+pw, "-o", filepath.Join(dir, "https.bin"), "https://"+front(s.Cfg.HTTP.HTTPSPort)+"/api/v1/files/implicit.bin")
	same("HTTPS download", filepath.Join(dir, "https.bin"))
	healthz := filepath.Join(dir, "healthz")
	curl("-o", healthz, "https://"+front(s.Cfg.HTTP.HTTPSPort)+"/healthz")
	if b, _ := os.ReadFile(healthz); string(b) != "ok\n" {
		t.Errorf("/healthz through the balancer: %q", b)
	}
	// SFTP.
	known := filepath.Join(dir, "known_hosts")
	batch := filepath.Join(dir, "batch")
	os.WriteFile(batch, []byte("put "+local+" sftp.bin\nget sftp.bin "+filepath.Join(dir, "sftp-down.bin")+"\n"), 0o600)
	if out, err := run(t, "", "sshpass", "-p", pw, "sftp", "-F", "/dev/null", "-o", "BindAddress="+haproxyClient,
		"-o", "UserKnownHostsFile="+known, "-o", "StrictHostKeyChecking=accept-new", "-o", "BatchMode=no",
		"-o", "PubkeyAuthentication=no", "-o", "NumberOfPasswordPrompts=1", "-P", strconv.Itoa(s.Cfg.SFTP.Port),
		"-b", batch, "alice@"+haproxyFront); err != nil {
		t.Fatalf("sftp through haproxy: %v\n%s", err, out)
	}
	same("SFTP upload", filepath.Join(home, "sftp.bin"))
	same("SFTP download", filepath.Join(dir, "sftp-down.bin"))

	// A session held open, logged in, to see in `ferry status`.
	raw, err := (&net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(haproxyClient)}}).Dial("tcp", front(s.Cfg.FTP.ImplicitPort))
	if err != nil {
		t.Fatal(err)
	}
	held := tls.Client(raw, &tls.Config{InsecureSkipVerify: true})
	defer held.Close()
	held.SetDeadline(time.Now().Add(10 * time.Second))
	rd := bufio.NewReader(held)
	for _, step := range []struct{ send, want string }{{"", "220"}, {"USER alice\r\n", "331"}, {"PASS " + pw + "\r\n", "230"}} {
		held.Write([]byte(step.send))
		line, err := rd.ReadString('\n')
		if err != nil || !strings.HasPrefix(line, step.want) {
			t.Fatalf("implicit FTPS through the balancer: sent %q, got %q (%v)", step.send, line, err)
		}
	}
	st, err := s.ferry("", "status", "--json")
	if err != nil {
		t.Fatalf("ferry status: %v\n%s", err, st)
	}
	var status struct {
		Sessions []struct {
			Remote string `json:"remote"`
		} `json:"sessions"`
	}
	if err := json.Unmarshal([]byte(st), &status); err != nil {
		t.Fatalf("ferry status --json: %v\n%s", err, st)
	}
	seen := false
	for _, ss := range status.Sessions {
		seen = seen || strings.HasPrefix(ss.Remote, haproxyClient+":")
		if strings.HasPrefix(ss.Remote, "127.0.0.1:") {
			t.Errorf("ferry status shows the balancer's address: %s", st)
		}
	}
	if !seen {
		t.Errorf("ferry status does not show the client's %s: %s", haproxyClient, st)
	}

	// The logs and the audit log name the client, never the balancer, for
	// every login (health checks carry a LOCAL header: the balancer's).
	for _, proto := range []string{"ftp", "ftps-implicit", "sftp", "https"} {
		if !strings.Contains(s.Logs(), "service="+proto+" remote="+haproxyClient+":") {
			t.Errorf("no %s session from %s in the log", proto, haproxyClient)
		}
	}
	b, err := os.ReadFile(filepath.Join(s.Cfg.DataDir, "audit.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	logins := 0
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		var l struct{ Event, Remote, Protocol string }
		if json.Unmarshal([]byte(line), &l) != nil {
			t.Fatalf("audit line is not JSON: %q", line)
		}
		if l.Event == "login.ok" {
			logins++
			if !strings.HasPrefix(l.Remote, haproxyClient+":") {
				t.Errorf("audit login from %s, want %s: %s", l.Remote, haproxyClient, line)
			}
		}
	}
	if logins < 5 {
		t.Errorf("%d logins in the audit log, want one per client run (5)", logins)
	}
	// HAProxy's checks (option log-health-checks) fetch /healthz over TLS
	// with a PROXY header of their own (LOCAL) every 2 s.
	for _, backend := range []string{"ftp", "ftps-implicit", "sftp", "https", "passive_a"} {
		want := "Health check for server " + backend + "/a succeeded, reason: Layer7 check passed, code: 200"
		deadline := time.Now().Add(10 * time.Second)
		for !strings.Contains(hlogs.String(), want) && time.Now().Before(deadline) {
			time.Sleep(100 * time.Millisecond)
		}
		if !strings.Contains(hlogs.String(), want) {
			t.Errorf("no passed /healthz check of %s in HAProxy's log", backend)
		}
	}
	if strings.Contains(hlogs.String(), "failed") {
		t.Errorf("a health check failed:\n%s", hlogs)
	}

	// Straight to ferry from an untrusted address, with a header that
	// claims another client: refused, and the claimed address never shows.
	direct := net.JoinHostPort("127.0.0.1", strconv.Itoa(s.Cfg.FTP.Port))
	spoof, err := (&net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(haproxyClient)}}).Dial("tcp", direct)
	if err != nil {
		t.Fatal(err)
	}
	defer spoof.Close()
	h := &proxyproto.Header{Version: 2, Command: proxyproto.PROXY, TransportProtocol: proxyproto.TCPv4,
		SourceAddr: &net.TCPAddr{IP: net.IPv4(10, 66, 66, 66), Port: 1}, DestinationAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 21}}
	h.WriteTo(spoof)
	spoof.Write([]byte("USER alice\r\n"))
	if !closedWithin(spoof, 10*time.Second) {
		t.Error("a PROXY header from an untrusted address was not refused")
	}
	// From the trusted address, without a header: refused (required).
	bare, err := net.Dial("tcp", direct)
	if err != nil {
		t.Fatal(err)
	}
	defer bare.Close()
	bare.Write([]byte("USER alice\r\n"))
	if !closedWithin(bare, 10*time.Second) {
		t.Error("a trusted connection without a header was not refused (proxy_protocol.required)")
	}
	if !s.waitLog(`err="PROXY header from an address not in proxy_protocol.trusted"`, 5*time.Second) {
		t.Error("the refused header is not in the log")
	}
	if strings.Contains(s.Logs(), "10.66.66.66") {
		t.Error("the spoofed address reached the log")
	}
}

// closedWithin reads c until the server closes it, and reports whether it
// did within d without ever logging the client in.
func closedWithin(c net.Conn, d time.Duration) bool {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	c.SetReadDeadline(time.Now().Add(d))
	var got []byte
	buf := make([]byte, 512)
	for ctx.Err() == nil {
		n, err := c.Read(buf)
		got = append(got, buf[:n]...)
		if err != nil {
			return !strings.Contains(string(got), "331") && !isTimeout(err)
		}
	}
	return false
}

func isTimeout(err error) bool {
	ne, ok := err.(net.Error)
	return ok && ne.Timeout()
}
