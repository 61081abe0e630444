package probe

import (
	"bufio"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ferry-project/ferry/certs"
	"github.com/ferry-project/ferry/config"
	"github.com/ferry-project/ferry/listen"
	"golang.org/x/crypto/ssh"
)

func testCert(t *testing.T) tls.Certificate {
	t.Helper()
	cert, _, err := certs.Load("", "", t.TempDir(), []string{"127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	return cert
}

// fakeFTP is a small FTPS server for the probe to talk to. It insists on
// what ferry's server insists on: TLS before login when configured, and data
// connections that resume the control connection's TLS session.
type fakeFTP struct {
	t         *testing.T
	ln        net.Listener
	tls       *tls.Config // nil: plain FTP
	implicit  bool
	advertise string // the address PASV announces
	user      string
	pass      string
	wg        sync.WaitGroup
	mu        sync.Mutex
	resumed   []bool // per data connection with PROT P: did it resume?
	// perConn gives every control connection its own ticket key, so a data
	// connection resumes only its own control connection's session (as
	// ferry's tls_session_reuse = "connection").
	perConn bool
	// optional allows cleartext logins (tls = "optional"); clearAdvertise,
	// when set, is what PASV says in cleartext, as an FTP ALG rewrites it.
	optional       bool
	clearAdvertise string
}

func startFTP(t *testing.T, f *fakeFTP) *fakeFTP {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f.t, f.ln = t, ln
	f.wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			f.wg.Go(func() { f.serve(c) })
		}
	})
	t.Cleanup(func() { ln.Close(); f.wg.Wait() })
	return f
}

func (f *fakeFTP) port() int { return f.ln.Addr().(*net.TCPAddr).Port }

func (f *fakeFTP) serve(c net.Conn) {
	defer func() { c.Close() }()
	c.SetDeadline(time.Now().Add(20 * time.Second))
	cfg := f.tls
	if f.perConn {
		cfg = f.tls.Clone()
		var key [32]byte
		rand.Read(key[:])
		cfg.SetSessionTicketKeys([][32]byte{key})
	}
	var ctl net.Conn = c
	if f.implicit {
		ctl = tls.Server(c, cfg)
	}
	r := bufio.NewReader(ctl)
	reply := func(s string) { fmt.Fprintf(ctl, "%s\r\n", s) }
	reply("220-fake ferry\r\n220 ready")
	secure, prot, loggedIn := f.implicit, false, false
	var pasv net.Listener
	defer func() {
		if pasv != nil {
			pasv.Close()
		}
	}()
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		verb, arg, _ := strings.Cut(strings.TrimSpace(line), " ")
		switch strings.ToUpper(verb) {
		case "AUTH":
			if f.tls == nil || f.implicit {
				reply("502 no TLS here")
				continue
			}
			reply("234 go ahead")
			tc := tls.Server(c, cfg)
			if tc.Handshake() != nil {
				return
			}
			ctl, r, secure = tc, bufio.NewReader(tc), true
		case "PBSZ":
			reply("200 PBSZ=0")
		case "PROT":
			prot = arg == "P"
			reply("200 ok")
		case "USER":
			if f.tls != nil && !secure && !f.optional {
				reply("530 TLS first")
				continue
			}
			reply("331 password please")
		case "PASS":
			if arg != f.pass {
				reply("530 wrong")
				continue
			}
			loggedIn = true
			reply("230 welcome")
		case "PASV", "EPSV":
			if !loggedIn {
				reply("530 log in first")
				continue
			}
			if pasv != nil {
				pasv.Close()
			}
			pasv, err = net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				reply("425 " + err.Error())
				continue
			}
			p := pasv.Addr().(*net.TCPAddr).Port
			if verb == "EPSV" {
				reply(fmt.Sprintf("229 Entering Extended Passive Mode (|||%d|)", p))
			} else {
				adv := f.advertise
				if !secure && f.clearAdvertise != "" {
					adv = f.clearAdvertise
				}
				ip := strings.ReplaceAll(adv, ".", ",")
				reply(fmt.Sprintf("227 Entering Passive Mode (%s,%d,%d).", ip, p>>8, p&255))
			}
		case "NLST":
			if pasv == nil {
				reply("425 use PASV first")
				continue
			}
			reply("150 here it comes")
			dc, err := pasv.Accept()
			pasv.Close()
			pasv = nil
			if err != nil {
				reply("425 no data connection")
				continue
			}
			var w net.Conn = dc
			if prot {
				tc := tls.Server(dc, cfg)
				err := tc.Handshake()
				f.mu.Lock()
				f.resumed = append(f.resumed, err == nil && tc.ConnectionState().DidResume)
				f.mu.Unlock()
				if err != nil || !tc.ConnectionState().DidResume {
					dc.Close()
					reply("522 data connection must resume the TLS session")
					continue
				}
				w = tc
			}
			fmt.Fprint(w, "a.txt\r\nb.txt\r\n")
			if tc, ok := w.(*tls.Conn); ok {
				tc.CloseWrite()
			}
			dc.Close()
			reply("226 done")
		case "ABOR":
			reply("225 nothing to abort")
		case "QUIT":
			reply("221 bye")
			return
		default:
			reply("502 not here")
		}
	}
}

// freeRange finds a small range of ports where nothing listens.
func freeRange(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	if p > 65000 {
		p -= 1000
	}
	return fmt.Sprintf("%d-%d", p, p+3)
}

// ftpConfig is a configuration whose only service is the fake server.
func ftpConfig(t *testing.T, port, implicitPort int, tlsMode string) *config.Config {
	t.Helper()
	c := config.Default()
	c.FTP.Port, c.FTP.ImplicitPort, c.FTP.TLS = port, implicitPort, tlsMode
	c.FTP.PassivePorts = freeRange(t)
	c.FTP.Active = false
	c.SFTP.Enabled, c.HTTP.Enabled = false, false
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	return c
}

func find(t *testing.T, rep *Report, check string) Result {
	t.Helper()
	for _, r := range rep.Results {
		if r.Check == check {
			return r
		}
	}
	t.Fatalf("no %q check in %+v", check, rep.Results)
	return Result{}
}

func run(c *config.Config, user, pass string) *Report {
	return Run(context.Background(), Options{Host: "127.0.0.1", Plan: listen.New(c), User: user, Password: pass, Timeout: 3 * time.Second})
}

func TestFTPExplicit(t *testing.T) {
	cert := testCert(t)
	f := startFTP(t, &fakeFTP{tls: &tls.Config{Certificates: []tls.Certificate{cert}}, advertise: "127.0.0.1", user: "ann", pass: "s3cret"})
	rep := run(ftpConfig(t, f.port(), 0, config.TLSRequired), "ann", "s3cret")
	if !rep.OK {
		t.Fatalf("report failed: %+v", rep.Results)
	}
	if d := find(t, rep, "AUTH TLS").Detail; !strings.Contains(d, certs.Fingerprint(cert.Leaf.Raw)) {
		t.Errorf("AUTH TLS detail %q lacks the certificate fingerprint", d)
	}
	for _, c := range []string{"login", "PASV", "EPSV"} {
		if r := find(t, rep, c); r.Status != OK {
			t.Errorf("%s: %+v", c, r)
		}
	}
	for _, c := range []string{"PASV data", "EPSV data"} {
		if r := find(t, rep, c); r.Status != OK || !strings.Contains(r.Detail, "listed 14 bytes") {
			t.Errorf("%s: %+v", c, r)
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	// PASV data, EPSV data, then the session-reuse check's own and
	// sibling's data connections.
	if fmt.Sprint(f.resumed) != "[true true true true]" {
		t.Errorf("data connections resumed the TLS session: %v, want [true true true true]", f.resumed)
	}
	if r := find(t, rep, "TLS session reuse"); r.Status != OK || !strings.Contains(r.Detail, "rclone") {
		t.Errorf("TLS session reuse: %+v", r)
	}
	if r := find(t, rep, "passive range "+ftpConfigRange(rep)); r.Status != OK || !strings.Contains(r.Detail, "4 of 4 sampled ports answer") {
		t.Errorf("passive range: %+v", r)
	}
}

func ftpConfigRange(rep *Report) string {
	for _, r := range rep.Results {
		if s, ok := strings.CutPrefix(r.Check, "passive range "); ok {
			return s
		}
	}
	return ""
}

func TestFTPImplicit(t *testing.T) {
	cert := testCert(t)
	f := startFTP(t, &fakeFTP{tls: &tls.Config{Certificates: []tls.Certificate{cert}}, implicit: true, advertise: "127.0.0.1", user: "ann", pass: "pw"})
	// The explicit port is the fake server too, but without implicit TLS it
	// would fail; point it at a closed port and judge only the implicit part.
	c := ftpConfig(t, f.port(), 0, config.TLSRequired)
	c.FTP.Port = closedPort(t)
	c.FTP.ImplicitPort = f.port()
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	rep := run(c, "ann", "pw")
	var implicit []Result
	for _, r := range rep.Results {
		if r.Service == "ftps-implicit" {
			implicit = append(implicit, r)
		}
	}
	want := []string{"connect", "implicit TLS", "greeting", "login", "PASV", "PASV data", "EPSV", "EPSV data", "TLS session reuse"}
	if len(implicit) != len(want) {
		t.Fatalf("implicit checks %+v, want %v", implicit, want)
	}
	for i, r := range implicit {
		if r.Check != want[i] || r.Status != OK {
			t.Errorf("check %d: %+v, want %s ok", i, r, want[i])
		}
	}
	if d := implicit[1].Detail; !strings.Contains(d, certs.Fingerprint(cert.Leaf.Raw)) {
		t.Errorf("implicit TLS detail %q lacks the fingerprint", d)
	}
	// The closed explicit port fails the report and says why.
	if r := rep.Results[0]; r.Service != "ftp" || r.Status != Fail || !strings.Contains(r.Detail, "refused") {
		t.Errorf("closed port: %+v", r)
	}
	if rep.OK {
		t.Error("report OK despite a closed port")
	}
}

func closedPort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	return p
}

func TestFTPPassiveAddressMismatch(t *testing.T) {
	cert := testCert(t)
	// The server announces an address other than the one dialled, as a
	// server behind NAT without public_host does.
	f := startFTP(t, &fakeFTP{tls: &tls.Config{Certificates: []tls.Certificate{cert}}, advertise: "127.0.0.2", user: "ann", pass: "pw"})
	rep := run(ftpConfig(t, f.port(), 0, config.TLSRequired), "ann", "pw")
	if rep.OK {
		t.Fatal("report OK although PASV names another address")
	}
	r := find(t, rep, "PASV")
	for _, w := range []string{"MISMATCH", "127.0.0.2", "127.0.0.1", "public_host"} {
		if r.Status != Fail || !strings.Contains(r.Detail, w) {
			t.Errorf("PASV result %+v lacks %q", r, w)
		}
	}
	// EPSV carries no address, so it still works and the session survives
	// the failed PASV data connection.
	if r := find(t, rep, "EPSV data"); r.Status != OK {
		t.Errorf("EPSV data after the PASV failure: %+v", r)
	}
}

func TestFTPLogin(t *testing.T) {
	cert := testCert(t)
	f := startFTP(t, &fakeFTP{tls: &tls.Config{Certificates: []tls.Certificate{cert}}, advertise: "127.0.0.1", user: "ann", pass: "right"})
	c := ftpConfig(t, f.port(), 0, config.TLSRequired)

	rep := run(c, "ann", "wrong")
	if r := find(t, rep, "login"); r.Status != Fail || !strings.Contains(r.Detail, "530") {
		t.Errorf("wrong password: %+v", r)
	}
	if rep.OK {
		t.Error("report OK with a wrong password")
	}

	rep = run(c, "", "")
	if r := find(t, rep, "login"); r.Status != Skip {
		t.Errorf("no user: %+v", r)
	}
	if !rep.OK {
		t.Errorf("anonymous probe of a healthy server failed: %+v", rep.Results)
	}
}

func TestPlainFTPRefusesNothing(t *testing.T) {
	f := startFTP(t, &fakeFTP{advertise: "127.0.0.1", user: "ann", pass: "pw"})
	rep := run(ftpConfig(t, f.port(), 0, config.TLSOff), "ann", "pw")
	if !rep.OK {
		t.Fatalf("plain FTP: %+v", rep.Results)
	}
	for _, r := range rep.Results {
		if r.Check == "AUTH TLS" {
			t.Errorf("AUTH TLS sent to a server configured without TLS: %+v", r)
		}
	}
}

func TestPassiveSample(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	p := ln.Addr().(*net.TCPAddr).Port
	o, r := Options{Host: "127.0.0.1", Timeout: 2 * time.Second, Sample: 3}, config.PortRange{Low: p, High: p + 2}
	for _, tc := range []struct {
		name    string
		rep     *Report
		status  Status
		details []string
	}{
		// Resets and an accept from an address where no FTP server answered:
		// nothing is proven.
		{"no control connection", &Report{}, Fail, []string{"NOT CHECKED", "reset (reachable, nothing listening): " + strconv.Itoa(p+1)}},
		{"control, no data connection", &Report{ftpControl: true}, Warn, []string{"3 of 3 sampled ports answer", "accepted without PASV (another session waits there, or another program listens): " + strconv.Itoa(p), "log in with --user"}},
		{"control and data", &Report{ftpControl: true, dataPorts: []string{"40001"}}, OK, []string{"accepted a data connection after PASV/EPSV: 40001"}},
	} {
		sampleRange(context.Background(), o, r, tc.rep)
		res := tc.rep.Results[0]
		if res.Status != tc.status {
			t.Errorf("%s: %+v, want %s", tc.name, res, tc.status)
		}
		for _, d := range tc.details {
			if !strings.Contains(res.Detail, d) {
				t.Errorf("%s: %q lacks %q", tc.name, res.Detail, d)
			}
		}
	}
}

func TestParseReplies(t *testing.T) {
	pasv := []struct {
		msg  string
		ip   string
		port int
		bad  bool
	}{
		{"Entering Passive Mode (192,168,1,5,109,96).", "192.168.1.5", 28000, false},
		{"=203,0,113,7,117,48", "203.0.113.7", 30000, false},
		{"Entering Passive Mode (300,1,1,1,1,1)", "", 0, true},
		{"Entering Passive Mode", "", 0, true},
	}
	for _, tc := range pasv {
		ip, port, err := parsePASV(tc.msg)
		if tc.bad != (err != nil) || (!tc.bad && (ip.String() != tc.ip || port != tc.port)) {
			t.Errorf("parsePASV(%q) = %v %d %v", tc.msg, ip, port, err)
		}
	}
	epsv := []struct {
		msg  string
		port int
	}{
		{"Entering Extended Passive Mode (|||28001|)", 28001},
		{"ok (!!!6446!)", 6446},
		{"Entering Extended Passive Mode (|||0|)", 0},
		{"Entering Extended Passive Mode (||28001|)", 0},
		{"nothing", 0},
	}
	for _, tc := range epsv {
		port, err := parseEPSV(tc.msg)
		if (tc.port == 0) != (err != nil) || port != tc.port {
			t.Errorf("parseEPSV(%q) = %d %v", tc.msg, port, err)
		}
	}
}

// startSSH runs an SSH server that accepts one password and the sftp
// subsystem.
func startSSH(t *testing.T, pass string) (int, ssh.PublicKey) {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	cfg := &ssh.ServerConfig{PasswordCallback: func(_ ssh.ConnMetadata, p []byte) (*ssh.Permissions, error) {
		if string(p) != pass {
			return nil, fmt.Errorf("wrong password")
		}
		return nil, nil
	}}
	cfg.AddHostKey(signer)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Go(func() {
				defer c.Close()
				_, chans, reqs, err := ssh.NewServerConn(c, cfg)
				if err != nil {
					return
				}
				go ssh.DiscardRequests(reqs)
				for nc := range chans {
					ch, creqs, err := nc.Accept()
					if err != nil {
						return
					}
					for req := range creqs {
						req.Reply(req.Type == "subsystem" && strings.HasSuffix(string(req.Payload), "sftp"), nil)
					}
					ch.Close()
				}
			})
		}
	})
	return ln.Addr().(*net.TCPAddr).Port, signer.PublicKey()
}

func sshConfig(t *testing.T, port int) *config.Config {
	t.Helper()
	c := config.Default()
	c.FTP.Enabled, c.HTTP.Enabled = false, false
	c.SFTP.Port = port
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	return c
}

func TestSSH(t *testing.T) {
	port, key := startSSH(t, "pw")
	c := sshConfig(t, port)
	tests := []struct {
		user, pass string
		login      Status
		ok         bool
	}{
		{"ann", "pw", OK, true},
		{"ann", "nope", Fail, false},
		{"", "", Skip, true},
	}
	for _, tc := range tests {
		rep := run(c, tc.user, tc.pass)
		if r := find(t, rep, "SSH"); r.Status != OK || !strings.Contains(r.Detail, ssh.FingerprintSHA256(key)) {
			t.Errorf("%s/%s: SSH %+v lacks the host key fingerprint", tc.user, tc.pass, r)
		}
		if r := find(t, rep, "login"); r.Status != tc.login {
			t.Errorf("%s/%s: login %+v, want %s", tc.user, tc.pass, r, tc.login)
		}
		if rep.OK != tc.ok {
			t.Errorf("%s/%s: report OK = %v, want %v: %+v", tc.user, tc.pass, rep.OK, tc.ok, rep.Results)
		}
	}
	if r := find(t, run(c, "ann", "pw"), "SFTP"); r.Status != OK {
		t.Errorf("SFTP subsystem: %+v", r)
	}
}

func TestHTTPS(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /", func(w http.ResponseWriter, r *http.Request) { fmt.Fprintln(w, "hello") })
	mux.HandleFunc("POST /api/v1/token", func(w http.ResponseWriter, r *http.Request) {
		if u, p, ok := r.BasicAuth(); !ok || u != "ann" || p != "pw" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		json.NewEncoder(w).Encode(map[string]string{"token": "t"})
	})
	srv := httptest.NewTLSServer(mux)
	defer srv.Close()
	redirect := httptest.NewServer(http.RedirectHandler("https://example.test/", http.StatusMovedPermanently))
	defer redirect.Close()
	portOf := func(s *httptest.Server) int { return s.Listener.Addr().(*net.TCPAddr).Port }

	c := config.Default()
	c.FTP.Enabled, c.SFTP.Enabled = false, false
	c.HTTP.Port, c.HTTP.HTTPSPort = portOf(redirect), portOf(srv)
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	rep := run(c, "ann", "pw")
	if !rep.OK {
		t.Fatalf("report failed: %+v", rep.Results)
	}
	if r := find(t, rep, "TLS"); !strings.Contains(r.Detail, certs.Fingerprint(srv.Certificate().Raw)) {
		t.Errorf("TLS %+v lacks the fingerprint", r)
	}
	var sawRedirect bool
	for _, r := range rep.Results {
		if r.Service == "http" && r.Check == "GET /" && strings.Contains(r.Detail, "redirect to https://example.test/") {
			sawRedirect = true
		}
	}
	if !sawRedirect {
		t.Errorf("the HTTP redirect is not reported: %+v", rep.Results)
	}
	if r := find(t, rep, "login"); r.Status != OK {
		t.Errorf("token: %+v", r)
	}
	if r := find(t, run(c, "ann", "bad"), "login"); r.Status != Fail || !strings.Contains(r.Detail, "401") {
		t.Errorf("bad password: %+v", r)
	}
}

func TestReportOutputs(t *testing.T) {
	rep := &Report{Host: "h", OK: false, Results: []Result{
		{Service: "ftp", Port: 21, Check: "PASV", Status: Fail, Detail: "MISMATCH"},
		{Service: "sftp", Port: 22, Check: "SSH", Status: OK, Detail: "host key"},
	}}
	var b strings.Builder
	if err := rep.WriteTable(&b); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "1 check(s) FAILED") || !strings.Contains(b.String(), "MISMATCH") {
		t.Errorf("table:\n%s", b.String())
	}
	b.Reset()
	if err := rep.WriteJSON(&b); err != nil {
		t.Fatal(err)
	}
	var back Report
	if err := json.Unmarshal([]byte(b.String()), &back); err != nil || back.OK || len(back.Results) != 2 || back.Results[0].Status != Fail {
		t.Errorf("json round trip: %v %+v", err, back)
	}
}

// TestSilentServer: a port that accepts but never speaks is reported as
// such, not as a firewall drop.
func TestSilentServer(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var held []net.Conn
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				for _, c := range held {
					c.Close()
				}
				return
			}
			held = append(held, c)
		}
	}()
	defer func() { ln.Close(); <-done }()
	port := ln.Addr().(*net.TCPAddr).Port
	c := config.Default()
	c.FTP.Enabled, c.SFTP.Enabled = false, false
	c.HTTP.Port, c.HTTP.HTTPSPort = 0, port
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	rep := Run(context.Background(), Options{Host: "127.0.0.1", Plan: listen.New(c), Timeout: time.Second})
	if r := find(t, rep, "GET /"); r.Status != Fail || !strings.Contains(r.Detail, "connected to") {
		t.Errorf("silent HTTPS server: %+v", r)
	}
	c = ftpConfig(t, port, 0, config.TLSRequired)
	rep = Run(context.Background(), Options{Host: "127.0.0.1", Plan: listen.New(c), Timeout: time.Second})
	if r := find(t, rep, "greeting"); r.Status != Fail || !strings.Contains(r.Detail, "timeout") {
		t.Errorf("silent FTP server: %+v", r)
	}
}

// TestSessionReuseConnection: against a server that binds each data
// connection to its own control connection (tls_session_reuse =
// "connection"), the check predicts that rclone with its defaults fails.
func TestSessionReuseConnection(t *testing.T) {
	cert := testCert(t)
	f := startFTP(t, &fakeFTP{tls: &tls.Config{Certificates: []tls.Certificate{cert}}, advertise: "127.0.0.1", user: "ann", pass: "pw", perConn: true})
	rep := run(ftpConfig(t, f.port(), 0, config.TLSRequired), "ann", "pw")
	r := find(t, rep, "TLS session reuse")
	if r.Status != Warn || !strings.Contains(r.Detail, "REFUSED (522") || !strings.Contains(r.Detail, "rclone") {
		t.Fatalf("TLS session reuse: %+v", r)
	}
	for _, c := range []string{"PASV data", "EPSV data"} {
		if r := find(t, rep, c); r.Status != OK {
			t.Errorf("%s: %+v (a data connection that resumes its own session must work)", c, r)
		}
	}
}

// TestFTPALG: with tls = "optional" the probe compares the PASV address in
// cleartext with the one inside TLS; a rewrite names the middlebox.
func TestFTPALG(t *testing.T) {
	cert := testCert(t)
	for _, tc := range []struct {
		clear  string
		status Status
		detail string
	}{
		{"", OK, "nothing on the way rewrites FTP"},
		{"127.0.0.9", Fail, "PASV says 127.0.0.9 in cleartext but 127.0.0.1 inside TLS"},
	} {
		f := startFTP(t, &fakeFTP{tls: &tls.Config{Certificates: []tls.Certificate{cert}}, advertise: "127.0.0.1", user: "ann", pass: "pw", optional: true, clearAdvertise: tc.clear})
		rep := run(ftpConfig(t, f.port(), 0, config.TLSOptional), "ann", "pw")
		r := find(t, rep, "FTP ALG")
		if r.Status != tc.status || !strings.Contains(r.Detail, tc.detail) {
			t.Errorf("cleartext PASV %q: %+v", tc.clear, r)
		}
	}
}

// TestMiddleboxAuthTLS: explicit FTPS failing at AUTH TLS while implicit
// FTPS works is reported as a middlebox, with the advice to use implicit
// FTPS; either alone is not.
func TestMiddleboxAuthTLS(t *testing.T) {
	plan := listen.New(ftpConfig(t, 2121, 9990, config.TLSRequired))
	auth := Result{Service: "ftp", Port: 2121, Check: "AUTH TLS", Status: Fail}
	implicit := Result{Service: "ftps-implicit", Port: 9990, Check: "greeting", Status: OK}
	for _, tc := range []struct {
		results []Result
		want    bool
	}{
		{[]Result{auth, implicit}, true},
		{[]Result{auth}, false},
		{[]Result{implicit}, false},
	} {
		rep := &Report{Results: tc.results}
		middlebox(rep, plan)
		got := len(rep.Results) > len(tc.results)
		if got != tc.want {
			t.Errorf("%+v: middlebox reported %v, want %v", tc.results, got, tc.want)
		}
		if got && !strings.Contains(rep.Results[len(rep.Results)-1].Detail, "implicit FTPS (ftps://HOST:9990)") {
			t.Errorf("advice: %+v", rep.Results[len(rep.Results)-1])
		}
	}
}
