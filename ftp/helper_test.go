package ftp

import (
	"bufio"
	"bytes"
	"context"
	crand "crypto/rand"
	"crypto/tls"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ferry-project/ferry/auth"
	"github.com/ferry-project/ferry/certs"
	"github.com/ferry-project/ferry/config"
	"github.com/ferry-project/ferry/core"
	"github.com/ferry-project/ferry/ftp/wire"
	"github.com/ferry-project/ferry/internal/testutil"
	"github.com/ferry-project/ferry/listen"
	"github.com/ferry-project/ferry/store"
	"golang.org/x/crypto/bcrypt"
)

const testPass = "s3cret pass"

// memStore is an in-memory user store.
type memStore struct {
	mu    sync.Mutex
	users map[string]store.User
}

func (m *memStore) Add(_ context.Context, u store.User) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.users[u.Name] = u
	return nil
}

func (m *memStore) Get(_ context.Context, name string) (store.User, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	u, ok := m.users[name]
	if !ok {
		return store.User{}, store.ErrNotFound
	}
	return u, nil
}

func (m *memStore) List(context.Context) ([]store.User, error)        { return nil, nil }
func (m *memStore) Delete(context.Context, string) error              { return nil }
func (m *memStore) SetPassword(context.Context, string, string) error { return nil }
func (m *memStore) AddKey(context.Context, string, string) error      { return nil }
func (m *memStore) DeleteKey(context.Context, string, string) error   { return nil }
func (m *memStore) Close() error                                      { return nil }

var (
	certOnce sync.Once
	testCert tls.Certificate
	hashOnce sync.Once
	testHash string
)

// env is one in-process server on loopback.
type env struct {
	t        *testing.T
	srv      *Server
	cfg      *config.Config
	addr     string // explicit FTPS control
	implAddr string // implicit FTPS control
	home     string
	users    *memStore
	logs     *testutil.Buffer
	served   chan error
}

// freeRange finds n consecutive free ports on ip below the ephemeral range.
func freeRange(t *testing.T, ip string, n int) config.PortRange {
	t.Helper()
	for range 200 {
		lo := 20000 + rand.IntN(12000-n)
		ok := true
		for p := lo; p < lo+n && ok; p++ {
			ln, err := net.Listen("tcp", net.JoinHostPort(ip, strconv.Itoa(p)))
			if ok = err == nil; ok {
				ln.Close()
			}
		}
		if ok {
			return config.PortRange{Low: lo, High: lo + n - 1}
		}
	}
	t.Fatal("no free port range")
	return config.PortRange{}
}

func newEnv(t *testing.T, mutate func(c *config.Config)) *env {
	return newEnvOn(t, "127.0.0.1", mutate)
}

func newEnvOn(t *testing.T, ip string, mutate func(c *config.Config)) *env {
	t.Helper()
	dir := t.TempDir()
	certOnce.Do(func() {
		var err error
		testCert, _, err = certs.Load("", "", os.TempDir()+"/ferry-ftp-test-cert", nil)
		if err != nil {
			panic(err)
		}
	})
	hashOnce.Do(func() {
		h, err := bcrypt.GenerateFromPassword([]byte(testPass), bcrypt.MinCost)
		if err != nil {
			panic(err)
		}
		testHash = string(h)
	})
	ln, err := net.Listen("tcp", net.JoinHostPort(ip, "0"))
	if err != nil {
		t.Fatal(err)
	}
	iln, err := net.Listen("tcp", net.JoinHostPort(ip, "0"))
	if err != nil {
		t.Fatal(err)
	}
	c := config.Default()
	c.DataDir = dir
	c.ListenAddress = ip
	c.FTP.Port = ln.Addr().(*net.TCPAddr).Port
	c.FTP.ImplicitPort = iln.Addr().(*net.TCPAddr).Port
	c.FTP.PassivePorts = freeRange(t, ip, 20).String()
	c.FTP.ActiveSourcePort = 0
	c.SFTP.Enabled, c.HTTP.Enabled = false, false
	c.Lockout.MaxFailures = 0
	if mutate != nil {
		mutate(c)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	home := filepath.Join(dir, "home")
	os.MkdirAll(home, 0o755)
	st := &memStore{users: map[string]store.User{
		"alice": {Name: "alice", PasswordHash: testHash, Home: home},
		"ro":    {Name: "ro", PasswordHash: testHash, Home: home, ReadOnly: true},
	}}
	logs := &testutil.Buffer{}
	lock := auth.NewLockout(c.Lockout.MaxFailures, c.Lockout.Window.Duration, c.Lockout.Duration.Duration)
	log := slog.New(slog.NewTextHandler(logs, nil))
	cr, err := core.New(core.Options{Config: c, Auth: auth.New(st, lock, auth.Options{Hashes: c.Limits.PasswordHashes, Wait: c.Limits.PasswordWait.Duration}), Log: log})
	if err != nil {
		t.Fatal(err)
	}
	srv, err := New(Options{
		Config: c,
		Core:   cr,
		TLS:    certs.ServerConfig(testCert),
		Log:    log,
		Plan:   listen.New(c),
	})
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, srv: srv, cfg: c, addr: ln.Addr().String(), implAddr: iln.Addr().String(), home: home, users: st, logs: logs, served: make(chan error, 2)}
	go func() { e.served <- srv.Serve(ln, false) }()
	go func() { e.served <- srv.Serve(iln, true) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
		if t.Failed() {
			t.Logf("server log:\n%s", logs)
		}
	})
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
	c.do("PASS "+testPass, 230)
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
		if strings.Contains(e.logs.String(), s) {
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
