package listen

import (
	"errors"
	"io"
	"net"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/ferry-project/ferry/config"
	"github.com/ferry-project/ferry/internal/testutil"
	proxyproto "github.com/pires/go-proxyproto"
)

// proxyPlan is a plan that trusts PROXY headers from 127.0.0.1 only.
func proxyPlan(t *testing.T, required bool, prelogin int) *Plan {
	t.Helper()
	return planWith(t, func(c *config.Config) {
		c.ListenAddress = "127.0.0.1"
		c.ProxyProtocol.Trusted = []string{"127.0.0.1/32"}
		c.ProxyProtocol.Required = required
		c.Limits.MaxPrelogin, c.Limits.MaxPreloginPerIP = prelogin, prelogin
		c.FTP.PassivePorts = testutil.FreeRange(t, 2).String()
	})
}

func proxyListen(t *testing.T, p *Plan) net.Listener {
	t.Helper()
	ln, err := p.Listen(Entry{Service: FTP, Kind: Control})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	return ln
}

// dialFrom connects to addr from the loopback address src.
func dialFrom(t *testing.T, src, addr string) net.Conn {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}, Timeout: 5 * time.Second}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func header(version byte, client string) *proxyproto.Header {
	return &proxyproto.Header{Version: version, Command: proxyproto.PROXY, TransportProtocol: proxyproto.TCPv4,
		SourceAddr:      net.TCPAddrFromAddrPort(netip.MustParseAddrPort(client)),
		DestinationAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 21}}
}

// acceptOne accepts within d, or fails.
func acceptOne(t *testing.T, ln net.Listener, d time.Duration) net.Conn {
	t.Helper()
	got := make(chan net.Conn, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			got <- nil
			return
		}
		got <- c
	}()
	select {
	case c := <-got:
		if c == nil {
			t.Fatal("accept failed")
		}
		t.Cleanup(func() { c.Close() })
		return c
	case <-time.After(d):
		t.Fatalf("nothing accepted within %s", d)
	}
	return nil
}

// TestProxyHeaders: v1 and v2 headers from a trusted address give the
// client's address, and the bytes sent right behind the header arrive
// whole; a direct client from an untrusted address keeps its own address
// and bytes, and one that sends a header is refused at its first read.
func TestProxyHeaders(t *testing.T) {
	p := proxyPlan(t, true, 8)
	ln := proxyListen(t, p)
	var mu sync.Mutex
	var refused []error
	p.OnProxyRefused(func(_ Service, _ int, _ netip.AddrPort, err error) {
		mu.Lock()
		refused = append(refused, err)
		mu.Unlock()
	})
	for _, v := range []byte{1, 2} {
		c := dialFrom(t, "127.0.0.1", ln.Addr().String())
		if _, err := header(v, "127.0.0.7:40000").WriteTo(c); err != nil {
			t.Fatal(err)
		}
		c.Write([]byte("USER alice\r\n"))
		s := acceptOne(t, ln, 5*time.Second)
		if got := s.RemoteAddr().String(); got != "127.0.0.7:40000" {
			t.Errorf("v%d: remote %s, want the header's 127.0.0.7:40000", v, got)
		}
		if got := s.LocalAddr().String(); got != ln.Addr().String() {
			t.Errorf("v%d: local %s, want the socket's %s", v, got, ln.Addr())
		}
		buf := make([]byte, 12)
		if _, err := io.ReadFull(s, buf); err != nil || string(buf) != "USER alice\r\n" {
			t.Errorf("v%d: read %q, %v", v, buf, err)
		}
	}

	direct := dialFrom(t, "127.0.0.2", ln.Addr().String())
	direct.Write([]byte("PROT P\r\n"))
	s := acceptOne(t, ln, 5*time.Second)
	if got := s.RemoteAddr().(*net.TCPAddr).IP.String(); got != "127.0.0.2" {
		t.Errorf("direct client: remote %s, want 127.0.0.2", got)
	}
	if b, err := io.ReadAll(io.LimitReader(s, 8)); err != nil || string(b) != "PROT P\r\n" {
		t.Errorf("direct client read %q, %v", b, err)
	}

	for _, v := range []byte{1, 2} {
		spoof := dialFrom(t, "127.0.0.2", ln.Addr().String())
		header(v, "10.9.9.9:1").WriteTo(spoof)
		s := acceptOne(t, ln, 5*time.Second)
		if got := s.RemoteAddr().(*net.TCPAddr).IP.String(); got != "127.0.0.2" {
			t.Errorf("untrusted v%d header: remote %s, want the socket's 127.0.0.2", v, got)
		}
		if _, err := s.Read(make([]byte, 64)); !errors.Is(err, ErrProxyUntrusted) {
			t.Errorf("untrusted v%d header: read error %v, want ErrProxyUntrusted", v, err)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if len(refused) != 2 {
		t.Errorf("%d refusals reported, want 2: %v", len(refused), refused)
	}
}

// TestProxyRequired: with proxy_protocol.required a trusted address
// without a header is refused; without it, such a client is served as
// direct, whether it speaks first or waits to be greeted.
func TestProxyRequired(t *testing.T) {
	req := proxyPlan(t, true, 8)
	ln := proxyListen(t, req)
	refused := make(chan error, 4)
	req.OnProxyRefused(func(_ Service, _ int, _ netip.AddrPort, err error) { refused <- err })
	c := dialFrom(t, "127.0.0.1", ln.Addr().String())
	c.Write([]byte("USER alice\r\n"))
	select {
	case err := <-refused:
		if !errors.Is(err, ErrProxyMissing) {
			t.Errorf("refused with %v, want ErrProxyMissing", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("a trusted client without a header was not refused")
	}
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Read(make([]byte, 1)); err == nil {
		t.Error("the refused connection is still open")
	}

	opt := proxyPlan(t, false, 8)
	ln = proxyListen(t, opt)
	talker := dialFrom(t, "127.0.0.1", ln.Addr().String())
	talker.Write([]byte("SSH-2.0-x\r\n"))
	s := acceptOne(t, ln, 5*time.Second)
	if b, err := io.ReadAll(io.LimitReader(s, 11)); err != nil || string(b) != "SSH-2.0-x\r\n" {
		t.Errorf("optional header, direct talker: read %q, %v", b, err)
	}
	dialFrom(t, "127.0.0.1", ln.Addr().String()) // waits to be greeted
	s = acceptOne(t, ln, 5*time.Second)
	if got := s.RemoteAddr().(*net.TCPAddr).IP.String(); got != "127.0.0.1" {
		t.Errorf("optional header, silent direct client: remote %s", got)
	}
}

// TestProxyHostile: peers at a trusted address that send nothing, half a
// header or garbage are dropped within the header timeout, never hold more
// than limits.max_prelogin slots, and never keep a real header waiting.
func TestProxyHostile(t *testing.T) {
	defer func(d time.Duration) { headerTimeout = d }(headerTimeout)
	headerTimeout = 500 * time.Millisecond
	const slots = 6
	p := proxyPlan(t, true, slots)
	ln := proxyListen(t, p)
	var mu sync.Mutex
	why := map[string]int{}
	p.OnProxyRefused(func(_ Service, _ int, _ netip.AddrPort, err error) {
		mu.Lock()
		switch {
		case errors.Is(err, ErrProxyMissing):
			why["missing"]++
		case errors.Is(err, ErrProxyHeader):
			why["header"]++
		}
		mu.Unlock()
	})
	sends := []string{"", "PROXY TCP4 127.0.0.9", "\r\n\r\n\x00\r\nQUIT\n\x21\x11\xff\xff", "PROXY " + string(make([]byte, 200))}
	var hostile []net.Conn
	for i := range 20 {
		c := dialFrom(t, "127.0.0.1", ln.Addr().String())
		c.Write([]byte(sends[i%len(sends)]))
		hostile = append(hostile, c)
	}
	start := time.Now()
	good := dialFrom(t, "127.0.0.1", ln.Addr().String())
	time.Sleep(50 * time.Millisecond)
	header(2, "127.0.0.7:1234").WriteTo(good)
	// The slots may all be held by silent peers when good arrives: it is
	// then refused at once, and its retry after the timeout gets through.
	deadline := time.Now().Add(5 * time.Second)
	var s net.Conn
	got := make(chan net.Conn, 4)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			got <- c
		}
	}()
	for s == nil && time.Now().Before(deadline) {
		select {
		case s = <-got:
		case <-time.After(time.Second):
			good = dialFrom(t, "127.0.0.1", ln.Addr().String())
			header(2, "127.0.0.7:1234").WriteTo(good)
		}
	}
	if s == nil {
		t.Fatal("a real header never got through the hostile peers")
	}
	defer s.Close()
	if got := s.RemoteAddr().String(); got != "127.0.0.7:1234" {
		t.Errorf("remote %s", got)
	}
	for i, c := range hostile {
		c.SetReadDeadline(time.Now().Add(3 * time.Second))
		if _, err := c.Read(make([]byte, 1)); err == nil || isTimeout(err) {
			t.Errorf("hostile peer %d (%q...) still connected after %s: %v", i, sends[i%len(sends)][:min(8, len(sends[i%len(sends)]))], time.Since(start), err)
		}
	}
	if el := time.Since(start); el > 4*time.Second {
		t.Errorf("the hostile peers were dropped only after %s", el)
	}
	if n := len(p.proxy.pending); n != 0 {
		t.Errorf("%d header slots still held", n)
	}
	mu.Lock()
	defer mu.Unlock()
	if why["header"]+why["missing"] < len(hostile) || why["missing"] == 0 {
		t.Errorf("refusals %v: want every hostile peer refused, the silent ones as missing", why)
	}
}

// TestProxyPassive: a passive data connection through the balancer is
// handed to the wait of the client the header names; one whose header
// names another client is closed, and so is one with a header from an
// untrusted address on its first read.
func TestProxyPassive(t *testing.T) {
	p := proxyPlan(t, true, 8)
	pool := p.Passive(FTP)
	client := netip.MustParseAddr("127.0.0.7")
	w, err := pool.Listen(loopback, client, "alice")
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	addr := w.Addr().String()

	other := dialFrom(t, "127.0.0.1", addr)
	header(2, "127.0.0.9:5000").WriteTo(other)
	other.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := other.Read(make([]byte, 1)); err == nil || isTimeout(err) {
		t.Errorf("a data connection for another client was not closed: %v", err)
	}

	c := dialFrom(t, "127.0.0.1", addr)
	header(1, "127.0.0.7:5001").WriteTo(c)
	c.Write([]byte("payload"))
	w.SetDeadline(time.Now().Add(5 * time.Second))
	s, err := w.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if got := s.RemoteAddr().String(); got != "127.0.0.7:5001" {
		t.Errorf("data connection remote %s", got)
	}
	if b, err := io.ReadAll(io.LimitReader(s, 7)); err != nil || string(b) != "payload" {
		t.Errorf("read %q, %v", b, err)
	}
}

// TestProxyPassiveHostile: peers at a trusted address that open a passive
// port and send nothing do not hold back the real data connection behind
// them, and are dropped within the header timeout.
func TestProxyPassiveHostile(t *testing.T) {
	defer func(d time.Duration) { headerTimeout = d }(headerTimeout)
	headerTimeout = 500 * time.Millisecond
	p := proxyPlan(t, true, 8)
	w, err := p.Passive(FTP).Listen(loopback, netip.MustParseAddr("127.0.0.7"), "alice")
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	var silent []net.Conn
	for range 5 {
		silent = append(silent, dialFrom(t, "127.0.0.1", w.Addr().String()))
	}
	c := dialFrom(t, "127.0.0.1", w.Addr().String())
	header(2, "127.0.0.7:6000").WriteTo(c)
	w.SetDeadline(time.Now().Add(300 * time.Millisecond)) // before any silent peer times out
	s, err := w.Accept()
	if err != nil {
		t.Fatalf("the data connection waited behind silent peers: %v", err)
	}
	s.Close()
	for i, c := range silent {
		c.SetReadDeadline(time.Now().Add(3 * time.Second))
		if _, err := c.Read(make([]byte, 1)); err == nil || isTimeout(err) {
			t.Errorf("silent peer %d still connected: %v", i, err)
		}
	}
}
