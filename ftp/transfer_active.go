package ftp

// Active data connections: PORT and EPRT (RFC 959, 2428), dialled through
// the listener plan from its active source port.

import (
	"context"
	"errors"
	"net"
	"net/netip"

	"github.com/ferry-project/ferry/core"
	"github.com/ferry-project/ferry/ftp/wire"
	"github.com/ferry-project/ferry/listen"
)

func (s *session) cmdPORT(arg string) bool {
	if !s.activeAllowed() {
		return true
	}
	ap, err := wire.ParsePORT(arg)
	if err != nil {
		s.reply(501, capital(err.Error()))
		return true
	}
	return s.setActive(ap, "PORT")
}

func (s *session) cmdEPRT(arg string) bool {
	if !s.activeAllowed() {
		return true
	}
	ap, err := wire.ParseEPRT(arg)
	switch {
	case errors.Is(err, wire.ErrProtocol):
		s.reply(522, "Network protocol not supported, use (1,2)")
		return true
	case err != nil:
		s.reply(501, capital(err.Error()))
		return true
	}
	return s.setActive(ap, "EPRT")
}

func (s *session) activeAllowed() bool {
	switch {
	case !s.activeOn():
		s.reply(502, "Active mode is turned off on this server (ftp.active = false): use PASV or EPSV")
		return false
	case s.epsvAll:
		s.reply(501, "EPSV ALL is in effect: use EPSV")
		return false
	}
	return true
}

// setActive accepts an active address only when it is the client's own IP
// and an unprivileged port: anything else would make the server connect
// to a third party on the client's behalf (FTP bounce, RFC 2577).
func (s *session) setActive(ap netip.AddrPort, verb string) bool {
	if ap.Addr().Unmap() != s.remote.Addr() || ap.Port() < 1024 {
		s.log.Warn("active address refused (bounce)", "verb", verb, "to", ap.String())
		s.reply(500, "Illegal "+verb+": the data address must be your own IP and a port of 1024 or above")
		return s.offend(core.OffenceData, ap.String(), "data address not the client's")
	}
	s.dropData()
	s.active = ap
	s.reply(200, verb+" command successful")
	return true
}

// service is the plan's name for this session's control listener: the
// active source port follows from it (RFC 959's L-1: 20 or 989).
func (s *session) service() listen.Service {
	if s.implicit {
		return listen.FTPImplicit
	}
	return listen.FTP
}

// activeOn reports whether the plan dials active data connections for
// this session's service (ftp.active).
func (s *session) activeOn() bool {
	_, ok := s.srv.plan.Find(s.service(), listen.Active)
	return ok
}

// dialActive connects to the client for PORT/EPRT, within dataTimeout.
func (s *session) dialActive(ctx context.Context, to netip.AddrPort) (net.Conn, error) {
	ctx, cancel := context.WithTimeout(ctx, dataTimeout)
	defer cancel()
	return s.srv.plan.DialActive(ctx, s.service(), s.local.Addr(), to)
}
