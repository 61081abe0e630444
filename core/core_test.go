package core

import (
	"errors"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/ferry-project/ferry/auth"
	"github.com/ferry-project/ferry/config"
	"github.com/ferry-project/ferry/internal/testutil"
	"github.com/ferry-project/ferry/listen"
	"github.com/ferry-project/ferry/store"
)

func newCore(t *testing.T, mutate func(*config.Config)) (*Core, *testutil.Buffer) {
	t.Helper()
	c := config.Default()
	if mutate != nil {
		mutate(c)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	logs := &testutil.Buffer{}
	a := &auth.Authenticator{Lockout: auth.NewLockout(c.Lockout.MaxFailures, c.Lockout.Window.Duration, c.Lockout.Duration.Duration)}
	cr, err := New(Options{Config: c, Auth: a, Log: slog.New(slog.NewTextHandler(logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	return cr, logs
}

// dialer makes real loopback connections from a chosen 127.x address, so
// that each test connection has the remote address the core counts by.
type dialer struct {
	t  *testing.T
	ln net.Listener
}

func newDialer(t *testing.T) *dialer {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	return &dialer{t: t, ln: ln}
}

// conn returns the server side of a connection from src.
func (d *dialer) conn(src string) net.Conn {
	d.t.Helper()
	nd := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}}
	c, err := nd.Dial("tcp", d.ln.Addr().String())
	if err != nil {
		d.t.Fatal(err)
	}
	d.t.Cleanup(func() { c.Close() })
	s, err := d.ln.Accept()
	if err != nil {
		d.t.Fatal(err)
	}
	d.t.Cleanup(func() { s.Close() })
	return s
}

func TestAdmitPerIPBeforeHandshake(t *testing.T) {
	cr, logs := newCore(t, func(c *config.Config) { c.Limits.MaxPreloginPerIP = 3 })
	d := newDialer(t)
	for range 3 {
		if _, err := cr.Admit(d.conn("127.0.0.2"), listen.FTPImplicit); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := cr.Admit(d.conn("127.0.0.2"), listen.FTPImplicit); !errors.Is(err, ErrTooManyFromIP) {
		t.Fatalf("fourth pre-login connection from one address: %v", err)
	}
	if _, err := cr.Admit(d.conn("127.0.0.3"), listen.SFTP); err != nil {
		t.Fatalf("another address: %v", err)
	}
	if !strings.Contains(logs.String(), "connection refused") {
		t.Errorf("refusal not logged:\n%s", logs)
	}
}

// TestAdmitDropsOldestPrelogin: a full pre-login budget makes room for a
// newcomer by closing the oldest pre-login connection, never a session.
func TestAdmitDropsOldestPrelogin(t *testing.T) {
	cr, _ := newCore(t, func(c *config.Config) { c.Limits.MaxPrelogin, c.Limits.MaxPreloginPerIP = 3, 3 })
	d := newDialer(t)
	session, err := cr.Admit(d.conn("127.0.0.9"), listen.SFTP)
	if err != nil {
		t.Fatal(err)
	}
	if err := session.Begin(store.User{Name: "u", Home: t.TempDir()}, "test"); err != nil {
		t.Fatal(err)
	}
	var raws []net.Conn
	var oldest *Conn
	for i := range 3 {
		raw := d.conn("127.0.1." + string(rune('1'+i)))
		cn, err := cr.Admit(raw, listen.FTP)
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			oldest = cn
		}
		raws = append(raws, raw)
	}
	if _, err := cr.Admit(d.conn("127.0.2.1"), listen.HTTPS); err != nil {
		t.Fatalf("newcomer refused instead of dropping the oldest: %v", err)
	}
	if err := oldest.Begin(store.User{Name: "u", Home: t.TempDir()}, "test"); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("the dropped connection logged in: %v", err)
	}
	raws[0].SetReadDeadline(time.Now().Add(time.Second))
	if _, err := raws[0].Read(make([]byte, 1)); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("oldest pre-login connection still open: %v", err)
	}
	if conns, sessions := cr.Live(); conns != 5 || sessions != 1 {
		t.Fatalf("live %d conns, %d sessions; want 5 (the dropped one until its adapter closes it), 1", conns, sessions)
	}
}

func TestBeginSessionBudget(t *testing.T) {
	cr, _ := newCore(t, func(c *config.Config) { c.Limits.MaxConnections = 1 })
	d := newDialer(t)
	a, _ := cr.Admit(d.conn("127.0.0.2"), listen.FTP)
	b, _ := cr.Admit(d.conn("127.0.0.3"), listen.FTP)
	u := store.User{Name: "u", Home: t.TempDir()}
	if err := a.Begin(u, "test"); err != nil {
		t.Fatal(err)
	}
	if err := b.Begin(u, "test"); !errors.Is(err, ErrTooMany) {
		t.Fatalf("second session over max_connections = 1: %v", err)
	}
	a.Close()
	a.Close()
	if err := b.Begin(u, "test"); err != nil {
		t.Fatalf("after the first session ended: %v", err)
	}
	if b.FS() == nil {
		t.Fatal("no file system after Begin")
	}
}

func TestAdmitAfterCloseAndLockout(t *testing.T) {
	cr, _ := newCore(t, func(c *config.Config) { c.Lockout.MaxFailures = 1 })
	d := newDialer(t)
	cr.auth.Lockout.Fail(net.ParseIP("127.0.0.4"))
	if _, err := cr.Admit(d.conn("127.0.0.4"), listen.SFTP); !errors.Is(err, auth.ErrLocked) {
		t.Fatalf("locked-out address admitted on SFTP: %v", err)
	}
	if _, err := cr.Admit(d.conn("127.0.0.4"), listen.HTTPS); err != nil {
		t.Fatalf("HTTPS answers a lockout per request (429), not at admission: %v", err)
	}
	cr.Close()
	if _, err := cr.Admit(d.conn("127.0.0.5"), listen.FTP); !errors.Is(err, ErrShuttingDown) {
		t.Fatalf("admitted during shutdown: %v", err)
	}
}

// TestLoginTimeoutBackstop: a connection that never logs in is closed by
// the core itself, whatever its adapter does.
func TestLoginTimeoutBackstop(t *testing.T) {
	cr, _ := newCore(t, func(c *config.Config) { c.Limits.LoginTimeout.Duration = 100 * time.Millisecond })
	d := newDialer(t)
	raw := d.conn("127.0.0.6")
	if _, err := cr.Admit(raw, listen.FTP); err != nil {
		t.Fatal(err)
	}
	raw.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := raw.Read(make([]byte, 1)); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("pre-login connection not closed after the login timeout: %v", err)
	}
}

func TestThrottleCounts(t *testing.T) {
	logs := &testutil.Buffer{}
	th := newThrottle(slog.New(slog.NewTextHandler(logs, nil)), 50*time.Millisecond)
	for range 100 {
		th.log(slog.LevelWarn, "k", "flood", "remote", "x")
	}
	time.Sleep(200 * time.Millisecond)
	out := logs.String()
	if n := strings.Count(out, "flood"); n != 2 {
		t.Fatalf("%d lines for 100 warnings, want 2:\n%s", n, out)
	}
	if !strings.Contains(out, "repeated=99") {
		t.Fatalf("count of held-back lines missing:\n%s", out)
	}
}

// TestSetLimits: a reload's new budgets hold from the next admission on.
func TestSetLimits(t *testing.T) {
	cr, _ := newCore(t, nil)
	d := newDialer(t)
	if _, err := cr.Admit(d.conn("127.0.0.7"), listen.FTP); err != nil {
		t.Fatal(err)
	}
	l := *cr.limits.Load()
	l.MaxPreloginPerIP = 1
	cr.SetLimits(l)
	if _, err := cr.Admit(d.conn("127.0.0.7"), listen.FTP); !errors.Is(err, ErrTooManyFromIP) {
		t.Fatalf("after lowering max_prelogin_per_ip to 1: %v", err)
	}
}
