package ftp

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/ferry-project/ferry/vfs"
)

var errNotDir = errors.New("not a directory")

// listPath drops the ls options ("-la") that clients put before the path
// of LIST and NLST.
func listPath(arg string) string {
	arg = strings.TrimLeft(arg, " ")
	for strings.HasPrefix(arg, "-") {
		_, rest, _ := strings.Cut(arg, " ")
		arg = strings.TrimLeft(rest, " ")
	}
	return arg
}

func (s *session) cmdLIST(arg string) bool { return s.sendListing("LIST", arg) }
func (s *session) cmdNLST(arg string) bool { return s.sendListing("NLST", arg) }
func (s *session) cmdMLSD(arg string) bool { return s.sendListing("MLSD", arg) }

// listing renders a directory (or one file) for LIST, NLST and MLSD.
func (s *session) listing(arg, verb string) ([]byte, error) {
	name := arg
	if verb != "MLSD" {
		name = listPath(arg)
	}
	p := s.path(name)
	fi, err := s.fs.Stat(p)
	if err != nil {
		return nil, err
	}
	var entries []fs.FileInfo
	dir := p
	if fi.IsDir() {
		if entries, err = s.fs.ReadDir(p); err != nil {
			return nil, err
		}
	} else {
		if verb == "MLSD" {
			return nil, &fs.PathError{Op: "MLSD", Path: p, Err: errNotDir}
		}
		if fi, err = s.fs.Lstat(p); err != nil {
			return nil, err
		}
		entries, dir = []fs.FileInfo{fi}, path.Dir(p)
	}
	var b bytes.Buffer
	now := time.Now()
	for _, e := range entries {
		full := path.Join(dir, e.Name())
		switch verb {
		case "NLST":
			if fi.IsDir() {
				b.WriteString(e.Name())
			} else {
				b.WriteString(name)
			}
		case "MLSD":
			b.WriteString(s.factLine(e, full) + " " + e.Name())
		default:
			b.WriteString(s.lsLine(e, full, now))
		}
		b.WriteString("\r\n")
	}
	return b.Bytes(), nil
}

// lsLine is one line in the `ls -l` format that clients parse.
func (s *session) lsLine(fi fs.FileInfo, full string, now time.Time) string {
	_, _, nlink, _ := vfs.Owner(fi)
	t := fi.ModTime().UTC()
	date := t.Format("Jan _2 15:04")
	if now.Sub(t) > 182*24*time.Hour || t.After(now.Add(time.Hour)) {
		date = t.Format("Jan _2  2006")
	}
	name := fi.Name()
	if fi.Mode()&fs.ModeSymlink != 0 {
		if target, err := s.fs.Readlink(full); err == nil {
			name += " -> " + target
		}
	}
	return fmt.Sprintf("%s %3d %-8s %-8s %12d %s %s", lsMode(fi.Mode()), nlink, "ftp", "ftp", fi.Size(), date, name)
}

// lsMode renders permission bits as ls does ("drwxr-xr-x").
func lsMode(m fs.FileMode) string {
	b := []byte("----------")
	switch {
	case m.IsDir():
		b[0] = 'd'
	case m&fs.ModeSymlink != 0:
		b[0] = 'l'
	case m&fs.ModeNamedPipe != 0:
		b[0] = 'p'
	case m&fs.ModeSocket != 0:
		b[0] = 's'
	case m&fs.ModeCharDevice != 0:
		b[0] = 'c'
	case m&fs.ModeDevice != 0:
		b[0] = 'b'
	}
	const rwx = "rwxrwxrwx"
	for i := range 9 {
		if m&(1<<uint(8-i)) != 0 {
			b[i+1] = rwx[i]
		}
	}
	special := func(set bool, at int, lower, upper byte) {
		if !set {
			return
		}
		if b[at] == '-' {
			b[at] = upper
		} else {
			b[at] = lower
		}
	}
	special(m&fs.ModeSetuid != 0, 3, 's', 'S')
	special(m&fs.ModeSetgid != 0, 6, 's', 'S')
	special(m&fs.ModeSticky != 0, 9, 't', 'T')
	return string(b)
}

// The MLSx facts ferry offers (RFC 3659 §7), in FEAT order.
var allFacts = []string{"type", "size", "modify", "perm", "UNIX.mode"}

func defaultFacts() map[string]bool {
	m := map[string]bool{}
	for _, f := range allFacts {
		m[f] = true
	}
	return m
}

// factList is "type*;size*;..." for FEAT (marked = the selected ones get a
// star) or "type;size;" for OPTS MLST.
func factList(sel map[string]bool, marked bool) string {
	var b strings.Builder
	for _, f := range allFacts {
		switch {
		case marked && sel[f]:
			b.WriteString(f + "*;")
		case marked || sel[f]:
			b.WriteString(f + ";")
		}
	}
	return b.String()
}

// factLine renders the selected facts of one entry. A symbolic link is
// described by its target when the target is inside the home.
func (s *session) factLine(fi fs.FileInfo, full string) string {
	typ := "file"
	if fi.Mode()&fs.ModeSymlink != 0 {
		if t, err := s.fs.Stat(full); err == nil {
			fi = t
		} else {
			typ = "OS.unix=slink"
		}
	}
	if fi.IsDir() {
		typ = "dir"
	}
	ro := s.fs.ReadOnly()
	perm := "r"
	if fi.IsDir() {
		perm = "el"
		if !ro {
			perm += "cdfmp"
		}
	} else if !ro {
		perm += "adfw"
	}
	vals := map[string]string{
		"type":      typ,
		"size":      strconv.FormatInt(fi.Size(), 10),
		"modify":    fi.ModTime().UTC().Format(mdtmLayout),
		"perm":      perm,
		"UNIX.mode": fmt.Sprintf("0%o", fi.Mode().Perm()),
	}
	var b strings.Builder
	for _, f := range allFacts {
		if s.facts[f] {
			b.WriteString(f + "=" + vals[f] + ";")
		}
	}
	return b.String()
}

// cmdMLST describes one entry on the control connection (RFC 3659 §7.2).
func (s *session) cmdMLST(arg string) bool {
	p := s.path(arg)
	fi, err := s.fs.Lstat(p)
	if err != nil {
		s.reply(550, fsError(err))
		return true
	}
	s.reply(250, "Listing "+p, s.factLine(fi, p)+" "+p, "End")
	return true
}
