package ftp

import (
	"fmt"
	"io"
	"io/fs"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/ferry-project/ferry/vfs"
)

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

// listing renders a directory (or one file) for LIST, NLST, MLSD and
// STAT as it is read: one batch of entries is in memory at a time,
// however large the directory.
type listing struct {
	s    *session
	verb string
	name string // the argument as given: NLST of one file echoes it
	path string // the listed path
	dir  string // the directory of the entries
	ls   vfs.Lister
	one  fs.FileInfo // the file listed when ls is nil
	now  time.Time
	buf  []byte
	off  int
	err  error
}

// listBatch is how many entries are read from a directory at a time.
const listBatch = 256

// openListing opens what LIST, NLST or MLSD arg names: a directory's
// entries, or one file (not for MLSD: vfs.ErrNotDir).
func (s *session) openListing(arg, verb string) (*listing, error) {
	name := arg
	if verb != "MLSD" {
		name = listPath(arg)
	}
	p := s.path(name)
	fi, err := s.fs.Stat(p)
	if err != nil {
		return nil, err
	}
	l := &listing{s: s, verb: verb, name: name, path: p, dir: p, now: time.Now()}
	if fi.IsDir() {
		l.ls, err = s.fs.ReadDir(p)
		return l, err
	}
	if verb == "MLSD" {
		return nil, &fs.PathError{Op: "MLSD", Path: p, Err: vfs.ErrNotDir}
	}
	if l.one, err = s.fs.Lstat(p); err != nil {
		return nil, err
	}
	l.dir = path.Dir(p)
	return l, nil
}

// lines renders the next batch of entries; io.EOF at the end.
func (l *listing) lines() ([]string, error) {
	if l.ls == nil {
		if l.one == nil {
			return nil, io.EOF
		}
		fi := l.one
		l.one = nil
		return []string{l.line(fi)}, nil
	}
	infos, err := l.ls.Next(listBatch)
	if err != nil {
		return nil, err
	}
	out := make([]string, len(infos))
	for i, fi := range infos {
		out[i] = l.line(fi)
	}
	return out, nil
}

func (l *listing) line(e fs.FileInfo) string {
	full := path.Join(l.dir, e.Name())
	switch l.verb {
	case "NLST":
		if l.ls == nil {
			return l.name
		}
		return e.Name()
	case "MLSD":
		return l.s.factLine(e, full) + " " + e.Name()
	}
	return l.s.lsLine(e, full, l.now)
}

// Read gives the listing to the data connection, CRLF after each line.
func (l *listing) Read(p []byte) (int, error) {
	for l.off == len(l.buf) {
		if l.err != nil {
			return 0, l.err
		}
		var lines []string
		lines, l.err = l.lines()
		l.buf, l.off = l.buf[:0], 0
		for _, ln := range lines {
			l.buf = append(append(l.buf, ln...), "\r\n"...)
		}
	}
	n := copy(p, l.buf[l.off:])
	l.off += n
	return n, nil
}

func (l *listing) Close() error {
	if l.ls == nil {
		return nil
	}
	return l.ls.Close()
}

// statListing answers STAT with a path: the LIST lines as a 213 reply on
// the control connection (RFC 959 §4.1.3), written as they are read, in
// the layout of wire.Reply (continuation lines indented, line breaks in
// names removed so that a name cannot forge a reply).
func (s *session) statListing(arg string) {
	l, err := s.openListing(arg, "LIST")
	if err != nil {
		s.fsFail(err)
		return
	}
	defer l.Close()
	s.wmu.Lock()
	defer s.wmu.Unlock()
	if s.hungUp {
		return
	}
	write := func(text string) bool {
		s.conn.SetWriteDeadline(time.Now().Add(writeTimeout))
		if _, err := io.WriteString(s.conn, text); err != nil {
			s.raw.Close() // a control connection that cannot take a reply is dead
			return false
		}
		return true
	}
	if !write("213-Status of " + lineBreaks.Replace(arg) + ":\r\n") {
		return
	}
	end := "End of status"
	for {
		lines, err := l.lines()
		if err == io.EOF {
			break
		}
		if err != nil {
			_, text := s.fsReply(err)
			end = "End of status, cut short: " + text
			break
		}
		var b strings.Builder
		for _, ln := range lines {
			b.WriteString(" " + lineBreaks.Replace(ln) + "\r\n")
		}
		if !write(b.String()) {
			return
		}
	}
	write("213 " + end + "\r\n")
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
		s.fsFail(err)
		return true
	}
	s.reply(250, "Listing "+p, s.factLine(fi, p)+" "+p, "End")
	return true
}
