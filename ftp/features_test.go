package ftp

import (
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ferry-project/ferry/config"
	"github.com/ferry-project/ferry/ftp/wire"
	"github.com/ferry-project/ferry/internal/testserver"
	"github.com/ferry-project/ferry/internal/testutil"
	"github.com/ferry-project/ferry/store"
)

func TestCommands(t *testing.T) {
	e := newEnv(t, nil)
	c := e.ready()
	os.WriteFile(filepath.Join(e.home, "f.txt"), []byte("12345"), 0o644)
	for _, tc := range []struct {
		line string
		code int
		text string
	}{
		{"SYST", 215, "UNIX Type: L8"},
		{"NOOP", 200, ""},
		{"FEAT", 211, "MLST type*;size*;modify*;perm*;UNIX.mode*;"},
		{"HELP", 214, "MLSD"},
		{"OPTS UTF8 ON", 200, ""},
		{"OPTS BOGUS", 501, ""},
		{"TYPE I", 200, ""},
		{"TYPE A", 200, ""},
		{"TYPE E", 504, ""},
		{"TYPE X", 501, ""},
		{"MODE S", 200, ""},
		{"MODE B", 504, ""},
		{"STRU F", 200, ""},
		{"STRU R", 504, ""},
		{"PWD", 257, `"/" is the current directory`},
		{"MKD sub dir", 257, `"/sub dir" directory created`},
		{"MKD sub dir", 550, "File exists"},
		{"CWD sub dir", 250, ""},
		{"PWD", 257, `"/sub dir"`},
		{"CDUP", 250, ""},
		{"CWD f.txt", 550, "Not a directory"},
		{"CWD nope", 550, "No such file"},
		{"SIZE f.txt", 213, "5"},
		{"SIZE sub dir", 550, "Not a regular file"},
		{"MFMT 20200102030405 f.txt", 213, "Modify=20200102030405; /f.txt"},
		{"MDTM f.txt", 213, "20200102030405"},
		{"MFMT 2020 f.txt", 501, ""},
		{"MLST f.txt", 250, "type=file;size=5;modify=20200102030405;perm=radfw;UNIX.mode=0644; /f.txt"},
		{"OPTS MLST size;type;", 200, "MLST OPTS type;size;"},
		{"MLST sub dir", 250, "type=dir;size="},
		{"RNTO x", 503, ""},
		{"RNFR f.txt", 350, ""},
		{"RNTO g.txt", 250, ""},
		{"RNFR nope", 550, ""},
		{"RMD sub dir", 250, ""},
		{"DELE g.txt", 250, ""},
		{"DELE g.txt", 550, "No such file"},
		{"REST -1", 501, ""},
		{"REST 10", 350, ""},
		{"ALLO 100", 202, ""},
		{"ABOR", 225, ""},
		{"STAT", 211, "Logged in, working directory /"},
		{"RETR nope", 425, "PASV"},
		{"XYZW", 502, ""},
		{"1234", 500, ""},
		{"EPSV 3", 501, ""},
		{"EPSV 2", 522, "(1)"},
		{"PROT S", 536, ""},
		{"PROT C", 534, "PROT P"},
		{"AUTH TLS", 503, ""},
		{"USER alice", 503, ""},
	} {
		r := c.cmd(tc.line)
		if r.Code != tc.code || !strings.Contains(r.Text(), tc.text) {
			t.Errorf("%s: got %d %q, want %d containing %q", tc.line, r.Code, r.Text(), tc.code, tc.text)
		}
	}
	c.do("QUIT", 221)
}

func TestReadOnlyUser(t *testing.T) {
	e := newEnv(t, nil)
	os.WriteFile(filepath.Join(e.Home("carol"), "f"), []byte("x"), 0o644)
	c := e.dial()
	c.secure(clientTLS(0))
	c.login("carol")
	c.do("MKD d", 550)
	c.do("DELE f", 550)
	c.do("PBSZ 0", 200)
	c.do("PROT P", 200)
	c.epsv()
	r := c.do("STOR g", 550)
	if !strings.Contains(r.Text(), "read-only") {
		t.Errorf("STOR by a read-only user: %s", r.Text())
	}
	if got := c.retr("f"); string(got) != "x" {
		t.Errorf("RETR = %q", got)
	}
}

func TestProtectionRequired(t *testing.T) {
	e := newEnv(t, nil)
	c := e.dial()
	c.secure(clientTLS(0))
	c.login("alice")
	c.epsv()
	c.do("LIST", 521)
	// Under tls = "optional", cleartext login and PROT C work.
	o := newEnv(t, func(c *config.Config) { c.FTP.TLS = config.TLSOptional })
	p := o.dial()
	p.login("alice")
	d := p.epsv()
	p.do("STOR plain", 150)
	d.Write([]byte("clear"))
	d.Close()
	p.expect(226)
	if b, _ := os.ReadFile(filepath.Join(o.home, "plain")); string(b) != "clear" {
		t.Fatalf("cleartext upload = %q", b)
	}
	// tls = "off" refuses AUTH.
	off := newEnv(t, func(c *config.Config) { c.FTP.TLS = config.TLSOff })
	off.dial().do("AUTH TLS", 502)
}

func TestImplicit(t *testing.T) {
	e := newEnv(t, nil)
	c := e.dialImplicit(clientTLS(0))
	c.login("alice")
	c.do("PBSZ 0", 200)
	c.do("PROT P", 200)
	c.stor("STOR", "i", []byte("implicit"))
	if got := c.retr("i"); string(got) != "implicit" {
		t.Fatalf("RETR = %q", got)
	}
}

// TestSessionReuse: a protected data connection must resume a TLS session
// that ferry issued. Under "user" (the default) a session issued on any
// control connection of the same user from the same address resumes (a
// client with several connections and one cache, as rclone); a fresh
// handshake, a session of another user, or of a connection that never
// logged in gets 522 and is logged. "connection" accepts only the data
// connection's own control connection; "off" accepts anything.
func TestSessionReuse(t *testing.T) {
	for _, v := range []uint16{tls.VersionTLS12, tls.VersionTLS13} {
		t.Run(tls.VersionName(v), func(t *testing.T) {
			for _, mode := range []string{"user", "connection", "off"} {
				t.Run(mode, func(t *testing.T) { sessionReuse(t, v, mode) })
			}
		})
	}
}

func sessionReuse(t *testing.T, v uint16, mode string) {
	e := newEnv(t, func(c *config.Config) { c.FTP.TLSSessionReuse = mode })
	e.AddUser(store.User{Name: "bob"})                      // with a password instead of his key
	e.srv.issuers.wait.Store(int64(200 * time.Millisecond)) // the stranger below never logs in
	// Each client below holds, in its cache, a ticket of its own session.
	session := func(user string, from ...string) *client {
		var o *client
		if len(from) == 0 {
			o = e.dial()
		} else { // the same user from another client address
			d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from[0])}}
			conn, err := d.Dial("tcp", e.addr)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { conn.Close() })
			o = &client{t: t, e: e, conn: conn, br: bufioReader(conn)}
			o.expect(220)
		}
		o.secure(clientTLS(v))
		if user != "" {
			o.login(user)
		} else {
			o.do("NOOP", 200) // reads the TLS 1.3 ticket
		}
		return o
	}
	sibling, bob, stranger := session("alice"), session("bob"), session("")
	elsewhere := session("alice", "127.0.0.2")

	c := session("alice")
	c.do("PBSZ 0", 200)
	c.do("PROT P", 200)
	want := map[string][5]int{ // own, sibling, bob, stranger, alice elsewhere; then a fresh handshake
		"user":       {226, 226, 522, 522, 522},
		"connection": {226, 522, 522, 522, 522},
		"off":        {226, 226, 226, 226, 226},
	}[mode]
	fresh := map[string]int{"user": 522, "connection": 522, "off": 226}[mode]
	for i, cfg := range []*tls.Config{c.tls, sibling.tls, bob.tls, stranger.tls, elsewhere.tls, clientTLS(v)} {
		code := fresh
		if i < len(want) {
			code = want[i]
		}
		d := c.epsv()
		c.do("LIST", 150)
		tc := tls.Client(d, cfg)
		tc.Handshake()
		io.Copy(io.Discard, tc)
		r := c.read()
		if r.Code != code {
			t.Errorf("data connection %d: got %d %s, want %d", i, r.Code, r.Text(), code)
		}
		if code == 522 && !strings.Contains(r.Text(), "TLS session") {
			t.Errorf("522 text: %s", r.Text())
		}
	}
	if mode != "off" {
		for _, s := range []string{"protected data connection refused", errNoResume.Error(), "tls_session_reuse=" + mode} {
			if !e.waitLog(s) {
				t.Errorf("log lacks %q", s)
			}
		}
	}
	if mode == "user" && !e.waitLog(errOtherUser.Error()) {
		t.Error("another user's session not logged as such")
	}
	c.list("LIST") // the right session still works
}

func TestPassiveRange(t *testing.T) {
	e := newEnv(t, func(c *config.Config) {
		c.FTP.PassivePorts = testutil.FreeRange(t, 2).String()
		c.PublicHost = "203.0.113.9"
	})
	r := e.Config.FTP.PassiveRange()
	a, b, third := e.ready(), e.ready(), e.ready()
	e.srv.pasvTTL = time.Second
	for _, c := range []*client{a, b} {
		rep := c.do("PASV", 227)
		ap, err := wire.ParsePASV(rep.Text())
		if err != nil || ap.Addr().String() != "203.0.113.9" || !r.Contains(int(ap.Port())) {
			t.Fatalf("227 %s: %v, %v; want public_host and a port in %s", rep.Text(), ap, err, r)
		}
	}
	start := time.Now()
	third.do("EPSV", 425)
	if time.Since(start) > 2*time.Second {
		t.Error("425 for an exhausted range was not immediate")
	}
	// A PASV nobody uses expires and frees its port.
	deadline := time.Now().Add(5 * time.Second)
	for e.srv.pool.InUse() != 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if n := e.srv.pool.InUse(); n != 0 {
		t.Fatalf("%d passive ports still held after expiry", n)
	}
	a.do("RETR x", 425) // the expired port cannot be used
	third.list("LIST")
	// A session that goes away frees its port.
	b.do("EPSV", 229)
	b.do("QUIT", 221)
	for e.srv.pool.InUse() != 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if n := e.srv.pool.InUse(); n != 0 {
		t.Fatalf("%d passive ports still held after QUIT", n)
	}
}

// TestPassivePerUser: a user holding ftp.passive_per_user passive ports
// gets 425 on the next PASV while another user still gets 227; a PASV that
// replaces the session's own pending port, or a data connection that
// arrives, frees a place.
func TestPassivePerUser(t *testing.T) {
	e := newEnv(t, func(c *config.Config) { c.FTP.PassivePerUser = 2 })
	a, b, third := e.ready(), e.ready(), e.ready()
	a.do("PASV", 227)
	b.do("EPSV", 229)
	a.do("PASV", 227) // replaces a's own port: still two
	r := third.do("PASV", 425)
	if !strings.Contains(r.Text(), "already holds 2 passive ports") {
		t.Errorf("425 does not say why: %s", r.Text())
	}
	if !e.waitLog("passive port refused: per-user limit") {
		t.Error("refusal not logged")
	}
	other := e.dial()
	other.secure(clientTLS(0))
	other.login("carol")
	other.do("PASV", 227)
	// The data connection takes b's port out of the pool's count.
	b.list("LIST")
	third.do("PASV", 227)
}

func TestPassiveOverride(t *testing.T) {
	e := newEnv(t, func(c *config.Config) {
		c.PublicHost = "localhost"
		c.FTP.PassiveOverride = []config.PassiveOverride{{Networks: []string{"10.0.0.0/8"}, Address: "198.51.100.1"}}
	})
	c := e.ready()
	ap, _ := wire.ParsePASV(c.do("PASV", 227).Text())
	if ap.Addr().String() != "127.0.0.1" {
		t.Errorf("public_host name localhost resolved to %v", ap.Addr())
	}
	l := newEnv(t, func(c *config.Config) {
		c.PublicHost = "203.0.113.9"
		c.FTP.PassiveOverride = []config.PassiveOverride{{Networks: []string{"127.0.0.0/8"}}}
	})
	c = l.ready()
	ap, _ = wire.ParsePASV(c.do("PASV", 227).Text())
	if ap.Addr().String() != "127.0.0.1" {
		t.Errorf("override with empty address gave %v, want the local address", ap.Addr())
	}
}

func TestForeignDataConnection(t *testing.T) {
	e := newEnv(t, nil)
	c := e.ready()
	port, _ := wire.ParseEPSV(c.do("EPSV", 229).Text())
	target := net.JoinHostPort("127.0.0.1", strconv.Itoa(int(port)))
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP("127.0.0.2")}}
	foreign, err := d.Dial("tcp", target)
	if err != nil {
		t.Fatal(err)
	}
	defer foreign.Close()
	c.send("LIST")
	c.expect(150)
	foreign.SetReadDeadline(time.Now().Add(5 * time.Second))
	if n, err := foreign.Read(make([]byte, 1)); err == nil {
		t.Fatalf("foreign connection got data (%d bytes)", n)
	}
	if !e.waitLog("passive data connection from an address no session waits for") || !e.waitLog("scored=true") {
		t.Error("foreign connection not logged")
	}
	own, err := net.Dial("tcp", target)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadAll(c.protect(own)); err != nil {
		t.Fatal(err)
	}
	c.expect(226)
}

func TestActive(t *testing.T) {
	src := testutil.FreeRange(t, 1).Low
	e := newEnv(t, func(c *config.Config) { c.FTP.ActiveSourcePort = src })
	c := e.ready()
	os.WriteFile(filepath.Join(e.home, "f"), []byte("active data"), 0o644)
	for _, format := range []func(p int) string{
		func(p int) string { return fmt.Sprintf("PORT 127,0,0,1,%d,%d", p>>8, p&255) },
		func(p int) string { return fmt.Sprintf("EPRT |1|127.0.0.1|%d|", p) },
	} {
		// A new client port each time: the last connection's four-tuple
		// is in TIME_WAIT.
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		c.do(format(ln.Addr().(*net.TCPAddr).Port), 200)
		c.do("RETR f", 150)
		d, err := ln.Accept()
		if err != nil {
			t.Fatal(err)
		}
		if got := d.RemoteAddr().(*net.TCPAddr).Port; got != src {
			t.Errorf("active data from port %d, want %d", got, src)
		}
		b, err := io.ReadAll(c.protect(d))
		if err != nil || string(b) != "active data" {
			t.Fatalf("active RETR = %q, %v", b, err)
		}
		c.expect(226)
	}
	// Bounce: another IP, a privileged port, another family.
	c.do("PORT 127,0,0,2,4,1", 500)
	c.do("PORT 127,0,0,1,0,80", 500)
	c.do("EPRT |2|::1|5000|", 500)
	c.do("EPRT |3|x|5000|", 522)
	c.do("PORT 1,2,3", 501)
	if !e.waitLog("bounce") {
		t.Error("bounce not logged")
	}
	// Nobody listening: 425 and no 150.
	ln2, _ := net.Listen("tcp", "127.0.0.1:0")
	dead := ln2.Addr().(*net.TCPAddr).Port
	ln2.Close()
	c.do(fmt.Sprintf("EPRT |1|127.0.0.1|%d|", dead), 200)
	c.do("LIST", 425)

	// Two transfers at once from the one source port (SO_REUSEADDR).
	os.WriteFile(filepath.Join(e.home, "big"), randBytes(16<<20), 0o644)
	var conns []net.Conn
	for _, cl := range []*client{c, e.ready()} {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		p := ln.Addr().(*net.TCPAddr).Port
		cl.do(fmt.Sprintf("PORT 127,0,0,1,%d,%d", p>>8, p&255), 200)
		cl.do("RETR big", 150)
		d, err := ln.Accept()
		if err != nil {
			t.Fatal(err)
		}
		defer d.Close()
		if got := d.RemoteAddr().(*net.TCPAddr).Port; got != src {
			t.Errorf("concurrent active data from port %d, want %d", got, src)
		}
		conns = append(conns, d)
	}
	if len(conns) != 2 {
		t.Fatal("no two concurrent active connections")
	}

	off := newEnv(t, func(c *config.Config) { c.FTP.Active = false })
	off.ready().do("PORT 127,0,0,1,4,1", 502)
}

func TestResume(t *testing.T) {
	e := newEnv(t, nil)
	c := e.ready()
	data := randBytes(300000)
	c.stor("STOR", "r", data[:100000])
	c.do("REST 100000", 350)
	c.stor("STOR", "r", data[100000:200000])
	c.stor("APPE", "r", data[200000:])
	if b, _ := os.ReadFile(filepath.Join(e.home, "r")); !bytes.Equal(b, data) {
		t.Fatalf("resumed upload: %d bytes, not byte-exact", len(b))
	}
	c.do("REST 250000", 350)
	if got := c.retr("r"); !bytes.Equal(got, data[250000:]) {
		t.Fatalf("REST+RETR gave %d bytes", len(got))
	}
	c.do("REST 400000", 350)
	c.epsv()
	c.do("RETR r", 554)
	c.do("REST 400000", 350)
	c.epsv()
	c.do("STOR r", 554)
	c.do("STOU", 425)
	d := c.epsv()
	r := c.do("STOU", 150)
	name := strings.TrimPrefix(r.Text(), "FILE: /")
	tc := c.protect(d)
	tc.Write([]byte("unique"))
	tc.Close()
	c.expect(226)
	if b, _ := os.ReadFile(filepath.Join(e.home, name)); string(b) != "unique" {
		t.Fatalf("STOU file %q = %q", name, b)
	}
}

func TestAbort(t *testing.T) {
	e := newEnv(t, nil)
	c := e.ready()
	os.WriteFile(filepath.Join(e.home, "big"), randBytes(16<<20), 0o644)
	d := c.epsv()
	c.do("RETR big", 150)
	tc := c.protect(d)
	tc.Read(make([]byte, 1000)) // start, then stall: the server blocks on a full socket
	r := c.do("STAT", 211)
	if !strings.Contains(r.Text(), "Transfer in progress: RETR /big") {
		t.Errorf("STAT during transfer: %s", r.Text())
	}
	c.send("ABOR")
	c.expect(426)
	c.expect(226)
	c.do("NOOP", 200)
	if !e.waitLog("result=aborted") {
		t.Error("abort not logged")
	}
	// Aborted upload: nothing under the final name.
	d = c.epsv()
	c.do("STOR up", 150)
	tc = c.protect(d)
	tc.Write(randBytes(100000))
	c.send("ABOR")
	c.expect(426)
	c.expect(226)
	if _, err := os.Stat(filepath.Join(e.home, "up")); !os.IsNotExist(err) {
		t.Fatalf("aborted upload left a file: %v", err)
	}
}

// TestAbortUrgent: ABOR sent as TCP urgent data, as Python's ftplib does
// on a cleartext control connection.
func TestAbortUrgent(t *testing.T) {
	e := newEnv(t, func(c *config.Config) { c.FTP.TLS = config.TLSOptional })
	os.WriteFile(filepath.Join(e.home, "big"), randBytes(16<<20), 0o644)
	c := e.dial()
	c.login("alice")
	d := c.epsv()
	c.do("RETR big", 150)
	d.Read(make([]byte, 1000))
	raw, err := c.conn.(*net.TCPConn).SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var serr error
	raw.Write(func(fd uintptr) bool {
		serr = syscall.Sendto(int(fd), []byte("ABOR\r\n"), syscall.MSG_OOB, nil)
		return true
	})
	if serr != nil {
		t.Fatal(serr)
	}
	c.expect(426)
	c.expect(226)
	c.do("NOOP", 200)
}

func TestKilledUpload(t *testing.T) {
	for _, secure := range []bool{true, false} {
		t.Run(fmt.Sprintf("tls=%v", secure), func(t *testing.T) {
			e := newEnv(t, func(c *config.Config) { c.FTP.TLS = config.TLSOptional })
			c := e.dial()
			if secure {
				c.secure(clientTLS(0))
			}
			c.login("alice")
			if secure {
				c.do("PBSZ 0", 200)
				c.do("PROT P", 200)
			}
			d := c.epsv()
			c.do("STOR cut", 150)
			var w io.Writer = d
			if secure {
				w = c.protect(d)
			}
			w.Write(randBytes(200000))
			// The client dies: both connections close, the control one
			// first as a killed process's lower descriptor does.
			c.conn.Close()
			d.Close()
			if !e.waitLog("event=upload path=/cut") {
				t.Fatal("upload end not logged")
			}
			if !strings.Contains(e.Logs.String(), "result=aborted") {
				t.Errorf("cut upload not logged as aborted:\n%s", e.Logs)
			}
			entries := testutil.Home(t, e.home)
			if len(entries) != 0 {
				t.Fatalf("a cut upload left %v", entries)
			}
		})
	}
}

func TestTimeouts(t *testing.T) {
	e := newEnv(t, func(c *config.Config) {
		c.Limits.LoginTimeout = config.Duration{Duration: 300 * time.Millisecond}
		c.Limits.IdleTimeout = config.Duration{Duration: 400 * time.Millisecond}
	})
	c := e.dial()
	c.conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	r := c.read()
	if r.Code != 421 || !strings.Contains(r.Text(), "Login timeout") {
		t.Fatalf("login timeout: %d %s", r.Code, r.Text())
	}
	// A transfer that runs longer than the idle timeout is not cut.
	os.WriteFile(filepath.Join(e.home, "f"), randBytes(2<<20), 0o644)
	c = e.dial()
	c.secure(clientTLS(0))
	c.login("alice")
	c.do("PBSZ 0", 200)
	c.do("PROT P", 200)
	d := c.epsv()
	c.do("RETR f", 150)
	tc := c.protect(d)
	var got int
	buf := make([]byte, 64<<10)
	for {
		n, err := tc.Read(buf)
		got += n
		if err != nil {
			break
		}
		time.Sleep(10 * time.Millisecond) // >1.2 s in all (TLS reads return a 16 KiB record): three idle timeouts
	}
	if got != 2<<20 {
		t.Fatalf("slow download got %d bytes", got)
	}
	c.expect(226)
	c.conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	if r := c.read(); r.Code != 421 || !strings.Contains(r.Text(), "Idle timeout") {
		t.Fatalf("idle timeout: %d %s", r.Code, r.Text())
	}
}

func TestLockoutAndLimits(t *testing.T) {
	e := newEnv(t, func(c *config.Config) {
		c.Lockout.MaxFailures = 2
		c.Limits.MaxConnectionsPerIP = 2
	})
	c := e.dial()
	c.secure(clientTLS(0))
	c.do("USER alice", 331)
	c.do("PASS bad", 530)
	c.do("USER alice", 331)
	c.do("PASS bad", 530)
	c.do("USER alice", 331)
	c.do("PASS "+testserver.Password, 421)
	conn, err := net.Dial("tcp", e.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	r, _ := wire.ReadReply(bufioReader(conn))
	if r.Code != 421 {
		t.Fatalf("connect from a locked-out address: %v", r)
	}

	l := newEnv(t, func(c *config.Config) { c.Limits.MaxConnectionsPerIP = 2 })
	l.dial()
	l.dial()
	conn, err = net.Dial("tcp", l.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if r, _ := wire.ReadReply(bufioReader(conn)); r.Code != 421 || !strings.Contains(r.Text(), "from your address") {
		t.Fatalf("third connection from one IP: %v", r)
	}
}

func TestIPv6(t *testing.T) {
	if ln, err := net.Listen("tcp", "[::1]:0"); err != nil {
		t.Fatalf("no IPv6 loopback: %v", err)
	} else {
		ln.Close()
	}
	e := newEnvOn(t, "::1", nil)
	c := e.ready()
	c.do("PASV", 425)
	c.stor("STOR", "six", []byte("over ::1"))
	ln, err := net.Listen("tcp", "[::1]:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	c.do(fmt.Sprintf("EPRT |2|::1|%d|", ln.Addr().(*net.TCPAddr).Port), 200)
	c.do("RETR six", 150)
	d, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := io.ReadAll(c.protect(d)); string(b) != "over ::1" {
		t.Fatalf("EPRT RETR = %q", b)
	}
	c.expect(226)
	c.do("EPRT |1|127.0.0.1|5000|", 500)
}

func TestEscape(t *testing.T) {
	e := newEnv(t, nil)
	outside := t.TempDir()
	os.WriteFile(filepath.Join(outside, "secret"), []byte("secret"), 0o644)
	os.Symlink(outside, filepath.Join(e.home, "out"))
	os.Symlink(filepath.Join(outside, "secret"), filepath.Join(e.home, "s"))
	c := e.ready()
	c.do("CWD ../../..", 250)
	c.do("PWD", 257)
	c.do("CWD out", 550)
	c.do("SIZE s", 550)
	c.do("SIZE ../../"+filepath.Base(outside)+"/secret", 550)
	c.epsv()
	c.do("RETR s", 550)
	c.epsv()
	c.do("RETR out/secret", 550)
	c.epsv()
	c.do("STOR out/new", 550)
	if _, err := os.Stat(filepath.Join(outside, "new")); err == nil {
		t.Fatal("a write escaped the home")
	}
}

func TestShutdownLetsTransferFinish(t *testing.T) {
	e := newEnv(t, nil)
	idle := e.ready()
	c := e.ready()
	os.WriteFile(filepath.Join(e.home, "f"), randBytes(4<<20), 0o644)
	d := c.epsv()
	c.do("RETR f", 150)
	tc := c.protect(d)
	done := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		done <- e.srv.Shutdown(ctx)
	}()
	if r := idle.read(); r.Code != 421 {
		t.Fatalf("idle session at shutdown: %v", r)
	}
	time.Sleep(200 * time.Millisecond)
	b, err := io.ReadAll(tc)
	if err != nil || len(b) != 4<<20 {
		t.Fatalf("transfer during shutdown: %d bytes, %v", len(b), err)
	}
	c.expect(226)
	if err := <-done; err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	if _, err := net.Dial("tcp", e.addr); err == nil {
		t.Fatal("still accepting after Shutdown")
	}
	for _, err := range e.serving.Wait() {
		if err != net.ErrClosed {
			t.Fatalf("Serve returned %v", err)
		}
	}
}

func TestLsMode(t *testing.T) {
	for _, tc := range []struct {
		m    fs.FileMode
		want string
	}{
		{0o644, "-rw-r--r--"},
		{fs.ModeDir | 0o755, "drwxr-xr-x"},
		{fs.ModeSymlink | 0o777, "lrwxrwxrwx"},
		{fs.ModeSetuid | 0o755, "-rwsr-xr-x"},
		{fs.ModeSetgid | 0o640, "-rw-r-S---"},
		{fs.ModeDir | fs.ModeSticky | 0o777, "drwxrwxrwt"},
		{fs.ModeNamedPipe | 0o600, "prw-------"},
	} {
		if got := lsMode(tc.m); got != tc.want {
			t.Errorf("lsMode(%v) = %s, want %s", tc.m, got, tc.want)
		}
	}
}

func TestListPath(t *testing.T) {
	for _, tc := range []struct{ arg, want string }{
		{"", ""}, {"-la", ""}, {"-l -a dir", "dir"}, {"dir name", "dir name"}, {"  -a x", "x"},
	} {
		if got := listPath(tc.arg); got != tc.want {
			t.Errorf("listPath(%q) = %q, want %q", tc.arg, got, tc.want)
		}
	}
}

// TestSessionReuseEndedSibling: rclone closes idle control connections
// while their tickets stay in its cache; under "user" a data connection
// still resumes the session of a sibling that has ended.
func TestSessionReuseEndedSibling(t *testing.T) {
	e := newEnv(t, nil)
	sibling := e.dial()
	sibling.secure(clientTLS(0))
	sibling.login("alice")
	sibling.do("QUIT", 221)
	c := e.ready()
	c.tls = sibling.tls
	c.list("NLST") // 226, not 522
}
