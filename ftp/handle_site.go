package ftp

// SITE and its subcommands: CHMOD and HELP, as lftp, FileZilla and
// WinSCP send them (SITE is RFC 959 §4.1.3; its subcommands are each
// server's own, these are the ones every common server has).

import (
	"io/fs"
	"strconv"
	"strings"
)

func (s *session) cmdSITE(arg string) bool {
	sub, rest, _ := strings.Cut(strings.TrimSpace(arg), " ")
	switch strings.ToUpper(sub) {
	case "CHMOD":
		return s.siteChmod(strings.TrimSpace(rest))
	case "HELP":
		s.reply(214, "The following SITE commands are recognized:", "CHMOD HELP", "Help OK")
	default:
		s.reply(504, "Unknown SITE command: see SITE HELP")
	}
	return true
}

// siteChmod: "SITE CHMOD MODE PATH", MODE in octal (chmod(1)'s numeric
// form); the permission bits only, as SFTP's setstat takes them.
func (s *session) siteChmod(arg string) bool {
	mode, name, _ := strings.Cut(arg, " ")
	m, err := strconv.ParseUint(mode, 8, 32)
	if err != nil || m > 0o7777 || strings.TrimSpace(name) == "" {
		s.reply(501, "Usage: SITE CHMOD MODE PATH (MODE in octal)")
		return true
	}
	return s.simpleCode(s.fs.Chmod(s.path(strings.TrimSpace(name)), fs.FileMode(m).Perm()), 200, "SITE CHMOD command successful")
}

// simpleCode replies code and ok, or the table's reply to err.
func (s *session) simpleCode(err error, code int, ok string) bool {
	if err != nil {
		s.fsFail(err)
		return true
	}
	s.reply(code, ok)
	return true
}
