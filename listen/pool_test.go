package listen

import (
	"errors"
	"net"
	"net/netip"
	"os"
	"strconv"
	"testing"
	"time"

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
	ln, err := p.Listen(loopback, loopback, owner)
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
	if _, err := pool.Listen(loopback, loopback, "carol"); !errors.Is(err, ErrPassiveExhausted) {
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
	_, err := pool.Listen(loopback, loopback, "alice")
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

// TestPoolSharing: with every port open, a wait from another client
// address joins an open port; two waits from one address never share one;
// each data connection reaches the wait of its own address, and one from
// an address nobody waits for is closed and logged. Without sharing the
// second address finds the range exhausted. The per-owner cap still holds.
func TestPoolSharing(t *testing.T) {
	r := testutil.FreeRange(t, 1)
	a2, a3 := netip.MustParseAddr("127.0.0.2"), netip.MustParseAddr("127.0.0.3")
	alone := planWith(t, func(c *config.Config) { c.FTP.PassivePorts = r.String(); c.FTP.PassiveSharing = false }).Passive(FTP)
	l, err := alone.Listen(loopback, a2, "alice")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := alone.Listen(loopback, a3, "bob"); !errors.Is(err, ErrPassiveExhausted) {
		t.Fatalf("second address without sharing: %v, want ErrPassiveExhausted", err)
	}
	l.Close()

	pool := planWith(t, func(c *config.Config) { c.FTP.PassivePorts = r.String(); c.FTP.PassivePerUser = 1 }).Passive(FTP)
	refused := make(chan netip.AddrPort, 1)
	pool.OnRefused(func(port int, from netip.AddrPort) { refused <- from })
	w2, err := pool.Listen(loopback, a2, "alice")
	if err != nil {
		t.Fatal(err)
	}
	defer w2.Close()
	w3, err := pool.Listen(loopback, a3, "bob")
	if err != nil || w3.Port != w2.Port {
		t.Fatalf("second address: %v on port %d, want a share of port %d", err, w3.Port, w2.Port)
	}
	defer w3.Close()
	if _, err := pool.Listen(loopback, a2, "carol"); !errors.Is(err, ErrPassiveExhausted) {
		t.Fatalf("a second wait from one address: %v, want ErrPassiveExhausted", err)
	}
	if _, err := pool.Listen(loopback, netip.MustParseAddr("127.0.0.9"), "alice"); !errors.Is(err, ErrPassivePerUser) {
		t.Fatalf("alice's second wait: %v, want ErrPassivePerUser", err)
	}
	dial := func(from netip.Addr) net.Conn {
		d := net.Dialer{LocalAddr: net.TCPAddrFromAddrPort(netip.AddrPortFrom(from, 0))}
		c, err := d.Dial("tcp", w2.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	stranger := dial(netip.MustParseAddr("127.0.0.4"))
	c3 := dial(a3)
	c3.Write([]byte("3"))
	w3.SetDeadline(time.Now().Add(5 * time.Second))
	got, err := w3.Accept()
	if err != nil {
		t.Fatal(err)
	}
	b := make([]byte, 1)
	got.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := got.Read(b); err != nil || b[0] != '3' || addrPort(got.RemoteAddr()).Addr() != a3 {
		t.Fatalf("127.0.0.3's wait got a connection from %v (%q, %v)", got.RemoteAddr(), b, err)
	}
	got.Close()
	stranger.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := stranger.Read(b); err == nil {
		t.Fatal("the connection from an address nobody waits for was not closed")
	}
	select {
	case from := <-refused:
		if from.Addr() != netip.MustParseAddr("127.0.0.4") {
			t.Errorf("refusal reported for %v, want 127.0.0.4", from)
		}
	case <-time.After(5 * time.Second):
		t.Error("refusal not reported")
	}
	w2.SetDeadline(time.Now().Add(100 * time.Millisecond))
	if _, err := w2.Accept(); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("127.0.0.2's wait: %v, want a timeout (no connection of its own)", err)
	}
	w2.Close()
	w3.Close()
	if n := pool.InUse(); n != 0 {
		t.Fatalf("InUse after the last wait = %d", n)
	}
}
