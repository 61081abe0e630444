package ftp

import (
	"context"
	crand "crypto/rand"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/netip"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/ferry-project/ferry/config"
	"golang.org/x/sys/unix"
)

// errExhausted means every port of the passive range is taken.
var errExhausted = errors.New("no free port in the passive range")

// portPool hands out the ports of ftp.passive_ports, never one outside.
type portPool struct {
	r    config.PortRange
	mu   sync.Mutex
	used map[int]bool
}

func newPortPool(r config.PortRange) *portPool {
	return &portPool{r: r, used: map[int]bool{}}
}

// listen opens a listener on ip at a free port of the range. It starts at
// a random port so that a port is not reused at once by the next session
// (which would invite confusion with a late connection of the previous).
func (p *portPool) listen(ip netip.Addr) (net.Listener, int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := p.r.Size()
	if len(p.used) >= n {
		return nil, 0, errExhausted
	}
	start := rand.IntN(n)
	for i := range n {
		port := p.r.Low + (start+i)%n
		if p.used[port] {
			continue
		}
		ln, err := net.Listen("tcp", net.JoinHostPort(ip.String(), strconv.Itoa(port)))
		if err != nil {
			if errors.Is(err, syscall.EADDRINUSE) {
				continue // another program holds it
			}
			return nil, 0, fmt.Errorf("ftp: passive listen on %d: %w", port, err)
		}
		p.used[port] = true
		return ln, port, nil
	}
	return nil, 0, errExhausted
}

func (p *portPool) release(port int) {
	p.mu.Lock()
	delete(p.used, port)
	p.mu.Unlock()
}

// inUse is the number of ports handed out.
func (p *portPool) inUse() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.used)
}

// passive is the listener of one PASV/EPSV. Its port goes back to the pool
// when the transfer that used it ends, when the session ends, or after
// passiveTimeout if no transfer claims it.
type passive struct {
	ln      net.Listener
	port    int
	pool    *portPool
	timer   *time.Timer
	lnOnce  sync.Once
	relOnce sync.Once
}

func (s *Server) openPassive(ip netip.Addr) (*passive, error) {
	ln, port, err := s.pool.listen(ip)
	if err != nil {
		return nil, err
	}
	p := &passive{ln: ln, port: port, pool: s.pool}
	p.timer = time.AfterFunc(s.pasvTTL, p.release)
	return p, nil
}

// claim stops the expiry timer; false means the listener already expired.
func (p *passive) claim() bool { return p.timer.Stop() }

func (p *passive) closeListener() { p.lnOnce.Do(func() { p.ln.Close() }) }

// release closes the listener and returns the port to the pool.
func (p *passive) release() {
	p.closeListener()
	p.relOnce.Do(func() { p.pool.release(p.port) })
}

// accept waits for the client's data connection. A connection from any IP
// but the control connection's is closed and logged: it is someone racing
// for the port (passive hijack), not our client.
func (p *passive) accept(ctx context.Context, want netip.Addr, log *slog.Logger) (net.Conn, error) {
	if tl, ok := p.ln.(*net.TCPListener); ok {
		tl.SetDeadline(time.Now().Add(dataTimeout))
	}
	stop := context.AfterFunc(ctx, p.closeListener)
	defer stop()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			return nil, fmt.Errorf("no data connection on port %d: %w", p.port, err)
		}
		from := addrOf(c.RemoteAddr())
		if from.Addr() != want {
			log.Warn("data connection from a foreign address refused", "port", p.port, "from", from.String(), "want", want.String())
			c.Close()
			continue
		}
		p.closeListener()
		return c, nil
	}
}

// dialActive connects to the client for PORT/EPRT from the configured
// source port. SO_REUSEADDR lets several transfers share that port at once
// (the four-tuples differ) and lets it be reused while in TIME_WAIT.
func dialActive(ctx context.Context, local netip.Addr, srcPort int, to netip.AddrPort) (net.Conn, error) {
	d := net.Dialer{
		Timeout:   dataTimeout,
		LocalAddr: &net.TCPAddr{IP: local.AsSlice(), Port: srcPort},
		Control: func(_, _ string, c syscall.RawConn) error {
			var serr error
			err := c.Control(func(fd uintptr) {
				serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_REUSEADDR, 1)
			})
			if err != nil {
				return err
			}
			return serr
		},
	}
	c, err := d.DialContext(ctx, "tcp", to.String())
	if err != nil {
		return nil, fmt.Errorf("ftp: active connect to %s from port %d: %w", to, srcPort, err)
	}
	return c, nil
}

// errNoReuse refuses a PROT P data connection that did not resume the
// control connection's TLS session.
var errNoReuse = errors.New("the data connection's TLS session must resume the control connection's session")

// secureData runs the TLS handshake on a data connection (the server is
// always the TLS server, RFC 4217 §7) and enforces session reuse.
func secureData(ctx context.Context, c net.Conn, cfg *tls.Config, reuse bool) (*tls.Conn, error) {
	tc := tls.Server(c, cfg)
	hctx, cancel := context.WithTimeout(ctx, dataTimeout)
	defer cancel()
	if err := tc.HandshakeContext(hctx); err != nil {
		return nil, fmt.Errorf("TLS handshake on the data connection: %w", err)
	}
	if reuse && !tc.ConnectionState().DidResume {
		return nil, errNoReuse
	}
	return tc, nil
}

// sessionTLS is a session's own TLS configuration: a clone of the base
// with a fresh session ticket key, so that only tickets this session's
// control connection issued can resume on its data connections.
func sessionTLS(base *tls.Config) *tls.Config {
	cfg := base.Clone()
	var key [32]byte
	crand.Read(key[:])
	cfg.SessionTicketsDisabled = false
	cfg.DynamicRecordSizingDisabled = true // bulk data: full records from the start
	cfg.SetSessionTicketKeys([][32]byte{key})
	return cfg
}

func addrOf(a net.Addr) netip.AddrPort {
	if ta, ok := a.(*net.TCPAddr); ok {
		ap := ta.AddrPort()
		return netip.AddrPortFrom(ap.Addr().Unmap().WithZone(""), ap.Port())
	}
	ap, _ := netip.ParseAddrPort(a.String())
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
}
