package ftp

// Passive data connections: PASV and EPSV (RFC 959, 2428), listening on
// ports of the listener plan's passive pool.

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"time"

	"github.com/ferry-project/ferry/ftp/wire"
	"github.com/ferry-project/ferry/listen"
)

func (s *session) cmdPASV(string) bool {
	if s.epsvAll {
		s.reply(501, "EPSV ALL is in effect: use EPSV")
		return true
	}
	ip, err := s.srv.plan.Advertise(context.Background(), s.log, s.remote.Addr(), s.local.Addr())
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
	text, _ := wire.FormatPASV(netip.AddrPortFrom(ip, uint16(p.ln.Port)))
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
	s.reply(229, wire.FormatEPSV(uint16(p.ln.Port)))
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
	p, err := s.srv.openPassive(s.local.Addr(), s.remote.Addr(), s.cn.User().Name)
	pool := s.srv.pool
	switch {
	case errors.Is(err, listen.ErrPassivePerUser):
		s.log.Warn("passive port refused: per-user limit", "limit", pool.PerOwner())
		s.reply(425, fmt.Sprintf("Your account already holds %d passive ports waiting for data connections, the most one user may hold at once; use them or close other sessions, then try again", pool.PerOwner()))
		return nil
	case errors.Is(err, listen.ErrPassiveExhausted):
		s.log.Warn("passive range exhausted", "range", pool.Range().String(), "held_by_ferry", pool.InUse())
		s.reply(425, "No free passive port ("+pool.Range().String()+" all in use); try again later")
		return nil
	case err != nil:
		s.log.Error("passive listen", "err", err)
		s.reply(425, "Cannot open a passive port")
		return nil
	}
	s.pasv = p
	return p
}

// passive is the listener of one PASV/EPSV. Its port goes back to the pool
// when the data connection arrives, when the transfer that was to use it
// ends without one, when the session ends, or after passiveTimeout if no
// transfer claims it.
type passive struct {
	ln    *listen.PassiveListener
	timer *time.Timer
}

func (s *Server) openPassive(local, client netip.Addr, owner string) (*passive, error) {
	ln, err := s.pool.Listen(local, client, owner)
	if err != nil {
		return nil, err
	}
	p := &passive{ln: ln}
	p.timer = time.AfterFunc(s.pasvTTL, p.release)
	return p, nil
}

// claim stops the expiry timer; false means the listener already expired.
func (p *passive) claim() bool { return p.timer.Stop() }

// accept waits for the client's data connection. The pool hands over only
// a connection from the control connection's IP; one from any other is
// closed and logged there: it is someone racing for the port (passive
// hijack), not our client.
func (p *passive) accept(ctx context.Context) (net.Conn, error) {
	p.ln.SetDeadline(time.Now().Add(dataTimeout))
	stop := context.AfterFunc(ctx, p.release)
	defer stop()
	c, err := p.ln.Accept()
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, fmt.Errorf("no data connection on port %d: %w", p.ln.Port, err)
	}
	p.release()
	return c, nil
}

// release closes the listener, which gives the port back to the pool.
func (p *passive) release() { p.ln.Close() }
