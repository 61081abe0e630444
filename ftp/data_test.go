package ftp

import (
	"errors"
	"net"
	"net/netip"
	"strconv"
	"testing"
)

// TestPortPool: only ports of the range, never one another program holds,
// errExhausted when none is left, and a released port is handed out again.
func TestPortPool(t *testing.T) {
	r := freeRange(t, "127.0.0.1", 3)
	busy, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(r.Low+1))
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	p := newPortPool(r)
	ip := netip.MustParseAddr("127.0.0.1")
	got := map[int]net.Listener{}
	for range 2 {
		ln, port, err := p.listen(ip)
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		if !r.Contains(port) || port == r.Low+1 || got[port] != nil {
			t.Fatalf("port %d from range %s (busy %d, have %v)", port, r, r.Low+1, got)
		}
		got[port] = ln
	}
	if _, _, err := p.listen(ip); !errors.Is(err, errExhausted) {
		t.Fatalf("full range: %v, want errExhausted", err)
	}
	var port int
	for k := range got {
		port = k
	}
	got[port].Close()
	p.release(port)
	ln, again, err := p.listen(ip)
	if err != nil || again != port {
		t.Fatalf("after releasing %d: got %d, %v", port, again, err)
	}
	ln.Close()
}
