package listen

import (
	"errors"
	"net"
	"net/netip"
	"strconv"
	"testing"

	"github.com/ferry-project/ferry/config"
	"github.com/ferry-project/ferry/internal/testutil"
)

var loopback = netip.MustParseAddr("127.0.0.1")

// planWith is the plan of the default configuration changed by mutate.
func planWith(t *testing.T, mutate func(c *config.Config)) *Plan {
	t.Helper()
	c := config.Default()
	mutate(c)
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	return New(c)
}

func mustListen(t *testing.T, p *Pool, owner string) *PassiveListener {
	t.Helper()
	ln, err := p.Listen(loopback, owner)
	if err != nil {
		t.Fatalf("%s: %v", owner, err)
	}
	t.Cleanup(func() { ln.Close() })
	return ln
}

// TestPoolRange: only ports of the range, never one another program holds,
// ErrPassiveExhausted when none is left, and a closed listener's port is
// handed out again.
func TestPoolRange(t *testing.T) {
	r := testutil.FreeRange(t, 3)
	busyPort := r.Low + 1
	busy, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(busyPort)))
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	pool := planWith(t, func(c *config.Config) { c.FTP.PassivePorts = r.String() }).Passive(FTP)
	got := map[int]*PassiveListener{}
	for _, owner := range []string{"alice", "bob"} {
		ln := mustListen(t, pool, owner)
		if !r.Contains(ln.Port) || ln.Port == busyPort || got[ln.Port] != nil {
			t.Fatalf("port %d from range %s (busy %d, have %v)", ln.Port, r, busyPort, got)
		}
		if a := ln.Addr().(*net.TCPAddr); a.Port != ln.Port || !a.IP.Equal(loopback.AsSlice()) {
			t.Fatalf("listening on %s, reported port %d", a, ln.Port)
		}
		got[ln.Port] = ln
	}
	if _, err := pool.Listen(loopback, "carol"); !errors.Is(err, ErrPassiveExhausted) {
		t.Fatalf("full range: %v, want ErrPassiveExhausted", err)
	}
	if n := pool.InUse(); n != 2 {
		t.Fatalf("InUse = %d, want 2", n)
	}
	// The listener is real: a client reaches it.
	var port int
	for p := range got {
		port = p
	}
	c, err := net.Dial("tcp", got[port].Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
	if s, err := got[port].Accept(); err != nil {
		t.Fatal(err)
	} else {
		s.Close()
	}
	// Closing gives the port back, once however often it is called.
	got[port].Close()
	got[port].Close()
	if n := pool.InUse(); n != 1 {
		t.Fatalf("InUse after close = %d, want 1", n)
	}
	if again := mustListen(t, pool, "carol"); again.Port != port {
		t.Fatalf("after closing %d: got port %d", port, again.Port)
	}
}

// TestPoolPerOwner: an owner at ftp.passive_per_user is refused while
// another owner still gets a port, and closing one of the first owner's
// listeners lets it open another.
func TestPoolPerOwner(t *testing.T) {
	r := testutil.FreeRange(t, 4)
	plan := planWith(t, func(c *config.Config) {
		c.FTP.PassivePorts = r.String()
		c.FTP.PassivePerUser = 2
	})
	pool := plan.Passive(FTPImplicit)
	if pool != plan.Passive(FTP) || plan.Passive(SFTP) != nil {
		t.Fatal("FTP and implicit FTPS must share one pool, and SFTP has none")
	}
	a1 := mustListen(t, pool, "alice")
	mustListen(t, pool, "alice")
	_, err := pool.Listen(loopback, "alice")
	if !errors.Is(err, ErrPassivePerUser) || errors.Is(err, ErrPassiveExhausted) {
		t.Fatalf("alice's third port: %v, want ErrPassivePerUser", err)
	}
	mustListen(t, pool, "bob")
	a1.Close()
	mustListen(t, pool, "alice")
	if n := pool.InUse(); n != 3 {
		t.Fatalf("InUse = %d, want 3", n)
	}
	if pool.Range() != r || pool.PerOwner() != 2 {
		t.Fatalf("pool of %s, %d per owner; want %s, 2", pool.Range(), pool.PerOwner(), r)
	}
}
