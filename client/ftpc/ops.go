package ftpc

import (
	"bufio"
	"errors"
	"fmt"
	"path"
	"strconv"
	"strings"
	"time"
)

// Entry is one line of a listing.
type Entry struct {
	Name    string
	Size    int64
	ModTime time.Time
	Dir     bool
	// Link marks a symbolic link (LIST "l", MLSx OS.unix=slink); Target is
	// where it points when the server says.
	Link   bool
	Target string
	// Special is neither a file, a folder nor a link (LIST "p", "s", ...).
	Special bool
	// ID is the MLSx "unique" fact: the same for two paths to one file.
	ID string
}

// List lists a folder: MLSD when the server offers MLST (exact sizes and
// times), LIST in the Unix "ls -l" layout otherwise.
func (c *Conn) List(p string) ([]Entry, error) {
	_, mlst := c.Feature("MLST")
	command := "LIST -a"
	if mlst {
		command = "MLSD"
	}
	if p != "" && p != "." {
		command += " " + p
	}
	s, err := c.stream(command)
	if err != nil {
		return nil, err
	}
	var out []Entry
	sc := bufio.NewScanner(s)
	for sc.Scan() {
		line := strings.TrimRight(sc.Text(), "\r")
		var e Entry
		var ok bool
		if mlst {
			e, ok = parseMLSx(line)
		} else {
			e, ok = parseLIST(line, time.Now())
		}
		if ok && e.Name != "." && e.Name != ".." {
			out = append(out, e)
		}
	}
	rerr := sc.Err()
	if err := s.Close(); err != nil {
		return nil, err
	}
	if rerr != nil {
		return nil, fmt.Errorf("ftp: reading listing of %s: %w", p, rerr)
	}
	return out, nil
}

// parseMLSx reads one MLSD line or MLST entry: "fact=v;fact=v; name".
func parseMLSx(line string) (Entry, bool) {
	facts, name, ok := strings.Cut(line, " ")
	if !ok || name == "" {
		return Entry{}, false
	}
	e := Entry{Name: path.Base(name)}
	for _, f := range strings.Split(facts, ";") {
		k, v, _ := strings.Cut(f, "=")
		switch strings.ToLower(k) {
		case "type":
			lv := strings.ToLower(v)
			switch {
			case lv == "dir", lv == "cdir", lv == "pdir":
				e.Dir = true
			case strings.HasPrefix(lv, "os.unix=slink"), strings.HasPrefix(lv, "os.unix=symlink"):
				// RFC 3659 leaves links to the OS facts: "OS.unix=slink:TARGET"
				// (pure-ftpd, ProFTPD) or "OS.unix=symlink".
				e.Link = true
				if _, t, ok := strings.Cut(v, ":"); ok {
					e.Target = t
				}
			case lv != "file":
				e.Special = true
			}
			if lv == "cdir" || lv == "pdir" {
				e.Name = "."
			}
		case "unique":
			e.ID = v
		case "size":
			e.Size, _ = strconv.ParseInt(v, 10, 64)
		case "modify":
			e.ModTime, _ = parseMDTM(v)
		}
	}
	return e, true
}

// parseMDTM reads a YYYYMMDDHHMMSS[.sss] UTC time (RFC 3659).
func parseMDTM(v string) (time.Time, error) {
	if i := strings.IndexByte(v, '.'); i >= 0 {
		v = v[:i]
	}
	return time.ParseInLocation("20060102150405", v, time.UTC)
}

// parseLIST reads one line of a Unix-style LIST:
// "drwxr-xr-x 2 owner group 4096 Jan 02 15:04 name". Names may contain
// spaces, so the name is everything after the eighth field.
func parseLIST(line string, now time.Time) (Entry, bool) {
	fields, rest := splitFields(line, 8)
	if len(fields) < 8 || rest == "" || len(fields[0]) < 10 {
		return Entry{}, false
	}
	size, err := strconv.ParseInt(fields[4], 10, 64)
	if err != nil {
		return Entry{}, false
	}
	e := Entry{Name: rest, Size: size}
	switch fields[0][0] {
	case 'd':
		e.Dir = true
	case 'l':
		e.Link = true
		if i := strings.Index(rest, " -> "); i >= 0 {
			e.Name, e.Target = rest[:i], rest[i+4:]
		}
	case '-':
	default:
		e.Special = true
	}
	stamp := fields[5] + " " + fields[6] + " " + fields[7]
	if t, err := time.Parse("Jan 2 2006", stamp); err == nil {
		e.ModTime = t
	} else if t, err := time.Parse("Jan 2 15:04", stamp); err == nil {
		// No year: the most recent such date not in the future.
		t = t.AddDate(now.Year(), 0, 0)
		if t.After(now.Add(24 * time.Hour)) {
			t = t.AddDate(-1, 0, 0)
		}
		e.ModTime = t
	}
	return e, true
}

// splitFields returns the first n space-separated fields and the rest of
// the line after them.
func splitFields(s string, n int) ([]string, string) {
	var out []string
	for len(out) < n {
		s = strings.TrimLeft(s, " ")
		if s == "" {
			return out, ""
		}
		i := strings.IndexByte(s, ' ')
		if i < 0 {
			return append(out, s), ""
		}
		out = append(out, s[:i])
		s = s[i:]
	}
	if len(s) > 0 && s[0] == ' ' {
		s = s[1:]
	}
	return out, s
}

// Stat describes one path: MLST when offered; otherwise SIZE tells a file
// and a successful CWD a folder.
func (c *Conn) Stat(p string) (Entry, error) {
	if _, ok := c.Feature("MLST"); ok {
		rep, err := c.expect("MLST "+p, 250)
		if err != nil {
			return Entry{}, err
		}
		if len(rep.Lines) >= 2 {
			if e, ok := parseMLSx(strings.TrimSpace(rep.Lines[1])); ok {
				e.Name = path.Base(p)
				return e, nil
			}
		}
		return Entry{}, fmt.Errorf("ftp: MLST %s: unreadable reply %q", p, rep.Text())
	}
	// SIZE and MDTM go out together (RFC 959 section 4.2: replies come
	// in order), one round trip for both.
	if err := c.sendLines("SIZE "+p, "MDTM "+p); err != nil {
		return Entry{}, err
	}
	srep, err := c.readFinal()
	if err != nil {
		return Entry{}, err
	}
	mrep, err := c.readFinal()
	if err != nil {
		return Entry{}, err
	}
	if srep.Code == 213 {
		size, err := strconv.ParseInt(strings.TrimSpace(srep.Text()), 10, 64)
		if err != nil {
			return Entry{}, fmt.Errorf("ftp: SIZE %s: %q is not a size", p, srep.Text())
		}
		e := Entry{Name: path.Base(p), Size: size}
		if mrep.Code == 213 {
			e.ModTime, _ = parseMDTM(mrep.Text())
		}
		return e, nil
	}
	serr := &Error{Cmd: "SIZE", Reply: srep}
	rep, err := c.expect("PWD", 257)
	if err != nil {
		return Entry{}, err
	}
	cwd, err := parsePWD(rep.Text())
	if err != nil {
		return Entry{}, err
	}
	if _, err := c.expect("CWD "+p, 250); err != nil {
		return Entry{}, serr
	}
	if _, err := c.expect("CWD "+cwd, 250); err != nil {
		return Entry{}, err
	}
	return Entry{Name: path.Base(p), Dir: true}, nil
}

// parsePWD reads the quoted path of a 257 reply; "" inside it stands for
// one quote (RFC 959).
func parsePWD(text string) (string, error) {
	start := strings.IndexByte(text, '"')
	if start < 0 {
		return "", fmt.Errorf("ftp: no path in PWD reply %q", text)
	}
	var b strings.Builder
	for i := start + 1; i < len(text); i++ {
		if text[i] == '"' {
			if i+1 < len(text) && text[i+1] == '"' {
				b.WriteByte('"')
				i++
				continue
			}
			return b.String(), nil
		}
		b.WriteByte(text[i])
	}
	return "", fmt.Errorf("ftp: unterminated path in PWD reply %q", text)
}

// Size returns a file's size in bytes (SIZE, RFC 3659).
func (c *Conn) Size(p string) (int64, error) {
	rep, err := c.expect("SIZE "+p, 213)
	if err != nil {
		return 0, err
	}
	n, err := strconv.ParseInt(strings.TrimSpace(rep.Text()), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("ftp: SIZE %s: %q is not a size", p, rep.Text())
	}
	return n, nil
}

// Delete removes a file.
func (c *Conn) Delete(p string) error { _, err := c.expect("DELE "+p, 250); return err }

// RemoveDir removes an empty folder.
func (c *Conn) RemoveDir(p string) error { _, err := c.expect("RMD "+p, 250); return err }

// MakeDir creates a folder.
func (c *Conn) MakeDir(p string) error { _, err := c.expect("MKD "+p, 257, 250); return err }

// Rename moves a file or folder.
func (c *Conn) Rename(from, to string) error {
	if _, err := c.expect("RNFR "+from, 350); err != nil {
		return err
	}
	_, err := c.expect("RNTO "+to, 250)
	return err
}

// StatList lists a folder over the control connection (STAT PATH, RFC
// 959), in the LIST layout. It costs one round trip and no data
// connection, and shows symbolic links that MLSD describes as their
// targets.
func (c *Conn) StatList(p string) ([]Entry, error) {
	if c.busy {
		return nil, ErrBusy
	}
	rep, err := c.expect("STAT "+p, 211, 212, 213)
	if err != nil {
		return nil, err
	}
	var out []Entry
	now := time.Now()
	for i, l := range rep.Lines {
		if i == 0 || i == len(rep.Lines)-1 {
			continue // "Status of ...", "End of status"
		}
		if e, ok := parseLIST(strings.TrimLeft(l, " "), now); ok && e.Name != "." && e.Name != ".." {
			out = append(out, e)
		}
	}
	return out, nil
}

// Pwd returns the current folder (PWD).
func (c *Conn) Pwd() (string, error) {
	rep, err := c.expect("PWD", 257)
	if err != nil {
		return "", err
	}
	return parsePWD(rep.Text())
}

// ErrUnsupported is returned for an operation the server does not offer.
var ErrUnsupported = errors.New("ftp: the server does not offer this")

// SetModTime sets a file's modification time with MFMT (draft-somers-
// ftp-mfxx), when FEAT lists it.
func (c *Conn) SetModTime(p string, t time.Time) error {
	if _, ok := c.Feature("MFMT"); !ok {
		return ErrUnsupported
	}
	_, err := c.expect("MFMT "+t.UTC().Format("20060102150405")+" "+p, 213)
	return err
}
