package privsep

import (
	"context"
	"net"
	"net/netip"
	"os"
	"strings"
	"testing"
	"time"
)

// TestMain lets the test binary be its own helper, as ferry is.
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == HelperArg {
		if err := Serve(os.Args[2:]); err != nil {
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// TestHelperDials: the helper dials from an allowed port below 1024 and
// hands the connection over; it refuses another source port and a
// destination below 1024 (FTP bounce).
func TestHelperDials(t *testing.T) {
	if os.Geteuid() != 0 {
		if os.Getenv("CI") == "true" {
			t.Fatal("the helper test needs root, and CI runs as root")
		}
		t.Skip("the helper test needs root")
	}
	h, err := Start([]int{20})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	local := netip.MustParseAddr("127.0.0.1")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var to netip.AddrPort
	for range 2 { // two clients at once from the same source port (SO_REUSEADDR)
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		to = ln.Addr().(*net.TCPAddr).AddrPort()
		c, err := h.Dial(ctx, local, 20, to)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		s, err := ln.Accept()
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		if from := s.RemoteAddr().(*net.TCPAddr).Port; from != 20 {
			t.Fatalf("connection from port %d, want 20", from)
		}
		c.Write([]byte("x"))
		b := make([]byte, 1)
		if _, err := s.Read(b); err != nil || b[0] != 'x' {
			t.Fatalf("the handed-over connection does not carry data: %v", err)
		}
	}
	if _, err := h.Dial(ctx, local, 21, to); err == nil || !strings.Contains(err.Error(), "not in the listener plan") {
		t.Errorf("source port 21: %v", err)
	}
	if _, err := h.Dial(ctx, local, 20, netip.AddrPortFrom(local, 22)); err == nil || !strings.Contains(err.Error(), "below 1024") {
		t.Errorf("destination port 22: %v", err)
	}
}
