package ftp

// Transfer commands: RETR, STOR, APPE, STOU, the listings, ABOR.

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/ferry-project/ferry/vfs"
)

func (s *session) cmdRETR(arg string) bool {
	p := s.path(arg)
	offset := s.rest
	s.rest = 0
	x := s.prepare("RETR", p)
	if x == nil {
		return true
	}
	f, err := s.fs.Open(p)
	if err != nil {
		x.release()
		s.fsFail(err)
		return true
	}
	fi, err := f.Stat()
	if err == nil && offset > fi.Size() {
		err = vfs.ErrBadOffset
	}
	if err == nil && offset > 0 {
		_, err = f.Seek(offset, io.SeekStart)
	}
	if err != nil {
		f.Close()
		x.release()
		s.fsFail(err)
		return true
	}
	s.launch(x, job{
		opening: fmt.Sprintf("Opening BINARY mode data connection for %s (%d bytes)", p, fi.Size()-offset),
		send:    f,
		whole:   offset == 0,
		finish:  func(*transfer, error) error { return f.Close() },
		ok:      "Transfer complete",
	})
	return true
}

func (s *session) cmdSTOR(arg string) bool {
	offset := s.rest
	s.rest = 0
	p := s.path(arg)
	if offset > 0 {
		return s.store("STOR", p, false, func() (vfs.Upload, error) { return s.fs.OpenAt(p, offset) })
	}
	return s.store("STOR", p, true, func() (vfs.Upload, error) { return s.fs.Create(p) })
}

func (s *session) cmdAPPE(arg string) bool {
	s.rest = 0
	p := s.path(arg)
	return s.store("APPE", p, false, func() (vfs.Upload, error) { return s.fs.OpenAt(p, -1) })
}

func (s *session) cmdSTOU(string) bool {
	s.rest = 0
	for range 10 {
		name := "ferry-" + strconv.FormatInt(time.Now().Unix(), 10) + "-" + strings.ToLower(rand.Text()[:8])
		p := s.path(name)
		if _, err := s.fs.Lstat(p); err == nil {
			continue
		}
		return s.store("STOU", p, true, func() (vfs.Upload, error) { return s.fs.Create(p) })
	}
	s.reply(450, "Cannot find a unique name")
	return true
}

// store receives an upload. Create uploads are published by Commit only
// when the data connection ended normally and the client is still there to
// hear "226"; otherwise Abort discards them.
func (s *session) store(verb, p string, whole bool, open func() (vfs.Upload, error)) bool {
	x := s.prepare(verb, p)
	if x == nil {
		return true
	}
	allo := s.allo
	s.allo = 0
	up, err := open()
	if err == nil {
		if err = s.cn.Expect(up, allo); err != nil {
			up.Abort()
		}
	}
	if err != nil {
		x.release()
		s.fsFail(err)
		return true
	}
	opening := "Ok to send data for " + p
	if verb == "STOU" {
		opening = "FILE: " + p
	}
	s.launch(x, job{
		opening: opening,
		recv:    up,
		whole:   whole,
		finish: func(x *transfer, err error) error {
			gone := s.controlGone() // the session ended: it aborts the transfer too
			if (gone || err != nil && !x.aborted.Load()) && s.cn.KeepInterrupted(err) {
				// uploads.interrupted = "keep": the client's connection
				// dropped; what arrived is published for REST+STOR or APPE.
				// An ABOR still discards: the client asked for it.
				s.log.Info("interrupted upload kept", "path", p)
				if cerr := up.Commit(); cerr != nil {
					return cerr
				}
				if err == nil {
					x.aborted.Store(true)
				}
				return nil
			}
			if err != nil || x.aborted.Load() || s.controlGone() {
				up.Abort()
				if err == nil && !x.aborted.Load() {
					x.aborted.Store(true)
				}
				return nil
			}
			return up.Commit()
		},
		ok: "Transfer complete",
	})
	return true
}

// sendListing sends a listing as it is read from the directory; errors
// that can be known before the data connection opens are answered
// before it.
func (s *session) sendListing(verb, arg string) bool {
	s.rest = 0
	x := s.prepare(verb, s.cwd)
	if x == nil {
		return true
	}
	l, err := s.openListing(arg, verb)
	if err != nil {
		x.release()
		if verb == "MLSD" && errors.Is(err, vfs.ErrNotDir) {
			s.reply(501, "Not a directory") // MLSD lists directories; MLST describes a file
			return true
		}
		s.fsFail(err)
		return true
	}
	x.path = l.path
	s.launch(x, job{
		opening: "Here comes the directory listing",
		send:    l,
		finish:  func(*transfer, error) error { return l.Close() },
		ok:      "Directory send OK",
	})
	return true
}

func (s *session) cmdABOR(string) bool {
	if !s.stopTransfer() {
		s.reply(225, "No transfer to abort")
		return true
	}
	s.waitTransfer()
	s.reply(226, "ABOR successful")
	return true
}
