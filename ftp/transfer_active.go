package ftp

// Active data connections: PORT and EPRT (RFC 959, 2428), dialled from
// the configured source port.

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"

	"github.com/ferry-project/ferry/ftp/wire"
	"github.com/ferry-project/ferry/internal/sock"
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
	case !s.srv.cfg.FTP.Active:
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
		return true
	}
	s.dropData()
	s.active = ap
	s.reply(200, verb+" command successful")
	return true
}

// dialActive connects to the client for PORT/EPRT from the configured
// source port. SO_REUSEADDR lets several transfers share that port at once
// (the four-tuples differ) and lets it be reused while in TIME_WAIT.
func dialActive(ctx context.Context, local netip.Addr, srcPort int, to netip.AddrPort) (net.Conn, error) {
	d := net.Dialer{
		Timeout:   dataTimeout,
		LocalAddr: &net.TCPAddr{IP: local.AsSlice(), Port: srcPort},
		Control:   sock.ReuseAddr,
	}
	c, err := d.DialContext(ctx, "tcp", to.String())
	if err != nil {
		return nil, fmt.Errorf("ftp: active connect to %s from port %d: %w", to, srcPort, err)
	}
	return c, nil
}
