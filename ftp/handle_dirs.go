package ftp

// Directories and file metadata: PWD, CWD, MKD, RMD, DELE, RNFR/RNTO,
// SIZE, MDTM, MFMT, ALLO, REST.

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/ferry-project/ferry/vfs"
)

// path is the virtual path arg names: "../" past the home stays in it, so
// the file system refuses it as the escape it is (vfs.Join).
func (s *session) path(arg string) string { return vfs.Join(s.cwd, arg) }

func quote(p string) string { return `"` + strings.ReplaceAll(p, `"`, `""`) + `"` }

func (s *session) cmdPWD(string) bool {
	s.reply(257, quote(s.cwd)+" is the current directory")
	return true
}

// cmdCWD changes directory. ".." past the home stays at the home, as in
// a chroot: clients climb to the top with CDUP until it stops changing.
func (s *session) cmdCWD(arg string) bool {
	p := vfs.Clean(s.cwd, arg)
	fi, err := s.fs.Stat(p)
	switch {
	case err != nil:
		s.fsFail(err)
	case !fi.IsDir():
		s.reply(550, "Not a directory")
	default:
		s.cwd = p
		s.reply(250, "Directory changed to "+p)
	}
	return true
}

func (s *session) cmdCDUP(string) bool { return s.cmdCWD("..") }

func (s *session) cmdMKD(arg string) bool {
	p := s.path(arg)
	if err := s.fs.Mkdir(p); err != nil {
		s.fsFail(err)
		return true
	}
	s.reply(257, quote(p)+" directory created")
	return true
}

func (s *session) cmdRMD(arg string) bool {
	return s.simple(s.fs.Rmdir(s.path(arg)), "Directory removed")
}

func (s *session) cmdDELE(arg string) bool {
	return s.simple(s.fs.Remove(s.path(arg)), "File deleted")
}

func (s *session) simple(err error, ok string) bool {
	if err != nil {
		s.fsFail(err)
		return true
	}
	s.reply(250, ok)
	return true
}

func (s *session) cmdRNFR(arg string) bool {
	p := s.path(arg)
	if _, err := s.fs.Lstat(p); err != nil {
		s.fsFail(err)
		return true
	}
	s.rnfr = p
	s.reply(350, "Ready for RNTO")
	return true
}

func (s *session) cmdRNTO(arg string) bool {
	if s.rnfrPrev == "" {
		s.reply(503, "Send RNFR first")
		return true
	}
	return s.simple(s.fs.Rename(s.rnfrPrev, s.path(arg)), "Rename successful")
}

func (s *session) cmdSIZE(arg string) bool {
	fi, err := s.fs.Stat(s.path(arg))
	switch {
	case err != nil:
		s.fsFail(err)
	case !fi.Mode().IsRegular():
		s.reply(550, "Not a regular file")
	default:
		s.reply(213, strconv.FormatInt(fi.Size(), 10))
	}
	return true
}

const mdtmLayout = "20060102150405"

func (s *session) cmdMDTM(arg string) bool {
	fi, err := s.fs.Stat(s.path(arg))
	if err != nil {
		s.fsFail(err)
		return true
	}
	s.reply(213, fi.ModTime().UTC().Format(mdtmLayout))
	return true
}

// cmdMFMT sets a modification time (draft-somers-ftp-mfxx): "MFMT
// YYYYMMDDHHMMSS[.sss] path", in UTC.
func (s *session) cmdMFMT(arg string) bool {
	ts, name, ok := strings.Cut(arg, " ")
	if !ok || name == "" {
		s.reply(501, "MFMT wants YYYYMMDDHHMMSS and a path")
		return true
	}
	ts, _, _ = strings.Cut(ts, ".")
	t, err := time.Parse(mdtmLayout, ts)
	if err != nil {
		s.reply(501, "MFMT wants the time as YYYYMMDDHHMMSS")
		return true
	}
	p := s.path(name)
	if err := s.fs.Chtimes(p, t); err != nil {
		s.fsFail(err)
		return true
	}
	s.reply(213, "Modify="+t.Format(mdtmLayout)+"; "+p)
	return true
}

func (s *session) cmdALLO(arg string) bool {
	// ALLO n: the size of the next upload, checked against the quota by
	// that STOR, APPE or STOU before any data: only there is the file
	// known, and with it the size it replaces.
	s.allo = 0
	if n, err := strconv.ParseInt(strings.Fields(arg + " 0")[0], 10, 64); err == nil && n > 0 {
		s.allo = n
	}
	s.reply(202, "No storage allocation necessary")
	return true
}

func (s *session) cmdREST(arg string) bool {
	n, err := strconv.ParseInt(arg, 10, 64)
	if err != nil || n < 0 {
		s.reply(501, "REST wants a byte offset")
		return true
	}
	s.rest = n
	s.reply(350, fmt.Sprintf("Restarting at %d; send RETR or STOR", n))
	return true
}
