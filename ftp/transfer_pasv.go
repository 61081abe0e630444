package ftp

// Passive data connections: PASV and EPSV (RFC 959, 2428) and the pool of
// ports of ftp.passive_ports they listen on.

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/ferry-project/ferry/config"
	"github.com/ferry-project/ferry/ftp/wire"
)

func (s *session) cmdPASV(string) bool {
	if s.epsvAll {
		s.reply(501, "EPSV ALL is in effect: use EPSV")
		return true
	}
	ip, err := s.srv.passiveAddr(context.Background(), s.remote.Addr(), s.local.Addr())
	if err != nil {
		s.log.Error("passive address", "err", err)
		s.reply(425, "Cannot tell the passive address: "+err.Error())
		return true
	}
	if !ip.Is4() {
		s.reply(425, "PASV carries IPv4 addresses only: use EPSV")
		return true
	}
	p := s.listenPassive()
	if p == nil {
		return true
	}
	text, _ := wire.FormatPASV(netip.AddrPortFrom(ip, uint16(p.port)))
	s.reply(227, text)
	return true
}

func (s *session) cmdEPSV(arg string) bool {
	switch a := strings.ToUpper(strings.TrimSpace(arg)); a {
	case "ALL":
		s.epsvAll = true
		s.reply(200, "EPSV ALL ok")
		return true
	case "", "1", "2":
		if a != "" && a != s.family() {
			s.reply(522, "Network protocol not supported, use ("+s.family()+")")
			return true
		}
	default:
		s.reply(501, "EPSV wants no argument, 1, 2 or ALL")
		return true
	}
	p := s.listenPassive()
	if p == nil {
		return true
	}
	s.reply(229, wire.FormatEPSV(uint16(p.port)))
	return true
}

// family is the RFC 2428 protocol number of the control connection.
func (s *session) family() string {
	if s.local.Addr().Is4() {
		return "1"
	}
	return "2"
}

func (s *session) listenPassive() *passive {
	s.dropData()
	p, err := s.srv.openPassive(s.local.Addr())
	if err != nil {
		if errors.Is(err, errExhausted) {
			s.log.Warn("passive range exhausted", "range", s.srv.cfg.FTP.PassiveRange().String())
			s.reply(425, "No free passive port ("+s.srv.cfg.FTP.PassiveRange().String()+" all in use); try again later")
			return nil
		}
		s.log.Error("passive listen", "err", err)
		s.reply(425, "Cannot open a passive port")
		return nil
	}
	s.pasv = p
	return p
}

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

// release closes the listener and returns the port to the pool.
func (p *passive) release() {
	p.closeListener()
	p.relOnce.Do(func() { p.pool.release(p.port) })
}
