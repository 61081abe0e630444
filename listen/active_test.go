package listen

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/ferry-project/ferry/config"
	"github.com/ferry-project/ferry/internal/testutil"
)

// TestDialActiveSharesSourcePort: two data connections at once from the
// one fixed source port, to two listeners, both succeed (SO_REUSEADDR).
func TestDialActiveSharesSourcePort(t *testing.T) {
	src := testutil.FreeRange(t, 1).Low
	p := planWith(t, func(c *config.Config) {
		c.FTP.PassivePorts = "50000-50009"
		c.FTP.ActiveSourcePort = src
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var lns [2]net.Listener
	for i := range lns {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		lns[i] = ln
	}
	type dialed struct {
		c   net.Conn
		err error
	}
	results := make(chan dialed, len(lns))
	for i, ln := range lns {
		svc := []Service{FTP, FTPImplicit}[i]
		go func() {
			c, err := p.DialActive(ctx, svc, loopback, ln.Addr().(*net.TCPAddr).AddrPort())
			results <- dialed{c, err}
		}()
	}
	for range lns {
		d := <-results
		if d.err != nil {
			t.Fatal(d.err)
		}
		defer d.c.Close()
		if got := d.c.LocalAddr().(*net.TCPAddr).Port; got != src {
			t.Errorf("dialled from port %d, want %d", got, src)
		}
	}
	for _, ln := range lns {
		c, err := ln.Accept()
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if got := c.RemoteAddr().(*net.TCPAddr).Port; got != src {
			t.Errorf("connection from port %d, want %d", got, src)
		}
	}
}

func TestDialActiveAnyPortAndOff(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	to := ln.Addr().(*net.TCPAddr).AddrPort()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	anyPort := planWith(t, func(c *config.Config) { c.FTP.ActiveSourcePort = 0 })
	c, err := anyPort.DialActive(ctx, FTP, loopback, to)
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
	if _, err := anyPort.DialActive(ctx, SFTP, loopback, to); !errors.Is(err, ErrNoActive) {
		t.Errorf("SFTP: %v, want ErrNoActive", err)
	}
	off := planWith(t, func(c *config.Config) { c.FTP.Active = false })
	if _, err := off.DialActive(ctx, FTP, netip.Addr{}, to); !errors.Is(err, ErrNoActive) {
		t.Errorf("ftp.active = false: %v, want ErrNoActive", err)
	}
}
