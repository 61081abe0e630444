package ftp

// Login and security: USER, PASS, AUTH, PBSZ, PROT, QUIT (RFC 959, 2228, 4217).

import (
	"context"
	"errors"
	"strconv"
	"strings"

	"github.com/ferry-project/ferry/auth"
	"github.com/ferry-project/ferry/config"
	"github.com/ferry-project/ferry/core"
)

func (s *session) cmdUSER(arg string) bool {
	if s.loggedIn {
		s.reply(503, "Already logged in")
		return true
	}
	if s.tlsRequired() && !s.secure {
		s.reply(530, "TLS required: send AUTH TLS before USER; this server accepts no passwords in cleartext (ftp.tls = required)")
		return true
	}
	s.user = arg
	s.reply(331, "Password required for "+arg)
	return true
}

func (s *session) cmdPASS(arg string) bool {
	if s.loggedIn {
		s.reply(503, "Already logged in")
		return true
	}
	if s.user == "" {
		s.reply(503, "Send USER first")
		return true
	}
	name := s.user
	s.user = ""
	u, err := s.cn.Password(context.Background(), name, arg)
	switch {
	case errors.Is(err, auth.ErrLocked):
		s.reply(421, "Too many failed logins from your address; try again later")
		return false
	case errors.Is(err, auth.ErrBusy):
		s.reply(421, "Server busy; try again later")
		return false
	case errors.Is(err, auth.ErrDenied):
		s.reply(530, "Login incorrect")
		return true
	case err != nil:
		s.reply(421, "Login failed: server error; try again later")
		return false
	}
	switch err := s.cn.Begin(u, "password"); {
	case errors.Is(err, core.ErrTooMany):
		s.reply(421, capital(err.Error()))
		return false
	case err != nil:
		s.reply(530, "Login failed: your home directory cannot be opened")
		return true
	}
	s.fs, s.loggedIn, s.cwd = s.cn.FS(), true, "/"
	s.srv.issuers.login(s.issuer, u.Name)
	s.log = s.cn.Log
	s.reply(230, "User "+u.Name+" logged in")
	return true
}

func (s *session) cmdAUTH(arg string) bool {
	mech := strings.ToUpper(strings.TrimSpace(arg))
	switch {
	case s.tlsCfg == nil || s.srv.cfg.FTP.TLS == config.TLSOff && !s.implicit:
		s.reply(502, "AUTH is turned off on this server (ftp.tls = off)")
		return true
	case s.secure:
		s.reply(503, "TLS is already on")
		return true
	case s.loggedIn || s.user != "":
		s.reply(503, "AUTH must come before USER")
		return true
	case mech != "TLS" && mech != "TLS-C" && mech != "SSL" && mech != "TLS-P":
		s.reply(504, "Unknown security mechanism; use AUTH TLS")
		return true
	case s.br.Buffered() > 0:
		// Cleartext sent after AUTH but before the handshake would be read
		// as if it had come through TLS (command injection).
		s.log.Warn("cleartext pipelined after AUTH; closing")
		s.reply(500, "Commands pipelined after AUTH are refused")
		return false
	}
	s.reply(234, "AUTH "+mech+" OK; starting TLS")
	return s.startTLS()
}

func (s *session) cmdPBSZ(arg string) bool {
	if !s.secure {
		s.reply(503, "PBSZ needs a TLS control connection: send AUTH TLS first")
		return true
	}
	if _, err := strconv.ParseUint(arg, 10, 32); err != nil {
		s.reply(501, "PBSZ wants a number")
		return true
	}
	s.reply(200, "PBSZ=0")
	return true
}

func (s *session) cmdPROT(arg string) bool {
	if !s.secure {
		s.reply(503, "PROT needs a TLS control connection: send AUTH TLS first")
		return true
	}
	switch strings.ToUpper(arg) {
	case "C":
		if s.tlsRequired() {
			s.reply(534, "Data connections must be protected on this server: use PROT P")
			return true
		}
		s.protP = false
		s.reply(200, "Protection level set to Clear")
	case "P":
		s.protP = true
		s.reply(200, "Protection level set to Private")
	case "S", "E":
		s.reply(536, "Protection level not supported: use C or P")
	default:
		s.reply(504, "Unknown protection level: use C or P")
	}
	return true
}

func (s *session) cmdQUIT(string) bool {
	s.reply(221, "Goodbye")
	return false
}
