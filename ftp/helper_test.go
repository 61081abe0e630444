package ftp

import (
	"bufio"
	"bytes"
	crand "crypto/rand"
	"crypto/tls"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ferry-project/ferry/certs"
	"github.com/ferry-project/ferry/config"
	"github.com/ferry-project/ferry/ftp/wire"
	"github.com/ferry-project/ferry/internal/testserver"
	"github.com/ferry-project/ferry/listen"
)

// env is one in-process server on loopback, on the shared test floor.
type env struct {
	*testserver.Server
	t        *testing.T
	srv      *Server
	serving  *testserver.Serving
	addr     string // explicit FTPS control
	implAddr string // implicit FTPS control
	home     string // alice's
}

func newEnv(t *testing.T, mutate func(c *config.Config)) *env {
	return newEnvOn(t, "127.0.0.1", mutate)
}

func newEnvOn(t *testing.T, ip string, mutate func(c *config.Config)) *env {
	t.Helper()
	s := testserver.New(t, func(c *config.Config) {
		c.ListenAddress = ip
		c.SFTP.Enabled, c.HTTP.Enabled = false, false
		c.Lockout.MaxFailures = 0
	}, mutate)
	srv, err := New(Options{
		Config: s.Config,
		Core:   s.Core,
		TLS:    certs.ServerConfig(s.Cert),
		Log:    s.Log,
		Plan:   listen.New(s.Config),
	})
	if err != nil {
		t.Fatal(err)
	}
	ln, iln := s.Listener(listen.FTP), s.Listener(listen.FTPImplicit)
	e := &env{Server: s, t: t, srv: srv, addr: ln.Addr().String(), implAddr: iln.Addr().String(), home: s.Home("alice")}
	e.serving = s.Serve(srv, net.ErrClosed, func() error { return srv.Serve(ln, false) }, func() error { return srv.Serve(iln, true) })
	return e
}

// client is a minimal FTP client for driving the server step by step.
type client struct {
	t    *testing.T
	e    *env
	conn net.Conn
	br   *bufio.Reader
	tls  *tls.Config // shared by control and data: its cache resumes sessions
}

func clientTLS(maxVersion uint16) *tls.Config {
	return &tls.Config{InsecureSkipVerify: true, ServerName: "ferry.test", MaxVersion: maxVersion,
		ClientSessionCache: tls.NewLRUClientSessionCache(8)}
}

func (e *env) dial() *client {
	e.t.Helper()
	c, err := net.Dial("tcp", e.addr)
	if err != nil {
		e.t.Fatal(err)
	}
	cl := &client{t: e.t, e: e, conn: c, br: bufio.NewReader(c), tls: clientTLS(0)}
	e.t.Cleanup(func() { cl.conn.Close() })
	cl.expect(220)
	return cl
}

func (e *env) dialImplicit(cfg *tls.Config) *client {
	e.t.Helper()
	c, err := tls.Dial("tcp", e.implAddr, cfg)
	if err != nil {
		e.t.Fatal(err)
	}
	cl := &client{t: e.t, e: e, conn: c, br: bufio.NewReader(c), tls: cfg}
	e.t.Cleanup(func() { cl.conn.Close() })
	cl.expect(220)
	return cl
}

func (c *client) read() wire.Reply {
	c.t.Helper()
	c.conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	r, err := wire.ReadReply(c.br)
	if err != nil {
		c.t.Fatalf("reading reply: %v", err)
	}
	return r
}

func (c *client) send(line string) {
	c.t.Helper()
	if _, err := io.WriteString(c.conn, line+"\r\n"); err != nil {
		c.t.Fatalf("send %q: %v", line, err)
	}
}

// cmd sends a line and returns the reply.
func (c *client) cmd(line string) wire.Reply {
	c.t.Helper()
	c.send(line)
	return c.read()
}

// do sends a line and requires the reply code.
func (c *client) do(line string, code int) wire.Reply {
	c.t.Helper()
	r := c.cmd(line)
	if r.Code != code {
		c.t.Fatalf("%s: got %d %s, want %d", line, r.Code, r.Text(), code)
	}
	return r
}

func (c *client) expect(code int) wire.Reply {
	c.t.Helper()
	r := c.read()
	if r.Code != code {
		c.t.Fatalf("got %d %s, want %d", r.Code, r.Text(), code)
	}
	return r
}

// secure runs AUTH TLS.
func (c *client) secure(cfg *tls.Config) {
	c.t.Helper()
	c.do("AUTH TLS", 234)
	tc := tls.Client(c.conn, cfg)
	if err := tc.Handshake(); err != nil {
		c.t.Fatal(err)
	}
	c.conn, c.br, c.tls = tc, bufio.NewReader(tc), cfg
}

func (c *client) login(user string) {
	c.t.Helper()
	c.do("USER "+user, 331)
	c.do("PASS "+testserver.Password, 230)
}

// ready is AUTH TLS, login, PBSZ 0, PROT P.
func (e *env) ready() *client {
	c := e.dial()
	c.secure(clientTLS(0))
	c.login("alice")
	c.do("PBSZ 0", 200)
	c.do("PROT P", 200)
	return c
}

// epsv opens a passive data connection (not yet TLS).
func (c *client) epsv() net.Conn {
	c.t.Helper()
	r := c.do("EPSV", 229)
	port, err := wire.ParseEPSV(r.Text())
	if err != nil {
		c.t.Fatal(err)
	}
	host, _, _ := net.SplitHostPort(c.e.addr)
	d, err := net.Dial("tcp", net.JoinHostPort(host, strconv.Itoa(int(port))))
	if err != nil {
		c.t.Fatal(err)
	}
	c.t.Cleanup(func() { d.Close() })
	return d
}

// protect wraps a data connection in TLS with the client's config (which
// resumes the control session from its cache).
func (c *client) protect(d net.Conn) *tls.Conn {
	c.t.Helper()
	tc := tls.Client(d, c.tls)
	if err := tc.Handshake(); err != nil {
		c.t.Fatalf("data TLS handshake: %v", err)
	}
	return tc
}

// retr downloads a file over a protected passive connection.
func (c *client) retr(name string) []byte {
	c.t.Helper()
	d := c.epsv()
	c.do("RETR "+name, 150)
	b, err := io.ReadAll(c.protect(d))
	if err != nil {
		c.t.Fatalf("RETR %s: %v", name, err)
	}
	c.expect(226)
	return b
}

// stor uploads over a protected passive connection.
func (c *client) stor(verb, name string, data []byte) {
	c.t.Helper()
	d := c.epsv()
	c.do(verb+" "+name, 150)
	tc := c.protect(d)
	if _, err := tc.Write(data); err != nil {
		c.t.Fatal(err)
	}
	tc.Close()
	c.expect(226)
}

// list runs LIST/NLST/MLSD and returns the text.
func (c *client) list(verb string) string {
	c.t.Helper()
	d := c.epsv()
	c.do(verb, 150)
	b, err := io.ReadAll(c.protect(d))
	if err != nil {
		c.t.Fatal(err)
	}
	c.expect(226)
	return string(b)
}

func (e *env) waitLog(s string) bool {
	for range 200 {
		if strings.Contains(e.Logs.String(), s) {
			return true
		}
		time.Sleep(10 * time.Millisecond)
	}
	return false
}

var (
	blobOnce sync.Once
	blob     []byte
)

// randBytes returns n random bytes (a slice of one shared random blob:
// generating them anew under the race detector is slow).
func randBytes(n int) []byte {
	blobOnce.Do(func() {
		blob = make([]byte, 16<<20)
		crand.Read(blob)
	})
	return bytes.Clone(blob[:n])
}

func bufioReader(c net.Conn) *bufio.Reader {
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	return bufio.NewReader(c)
}
