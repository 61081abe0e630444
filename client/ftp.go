package client

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"path"
	"time"

	"github.com/ferry-project/ferry/client/ftpc"
)

// ftpConn is a Conn over FTP or FTPS.
type ftpConn struct {
	c *ftpc.Conn
	t Target
	o *Options
	// noStat: the server refused STAT PATH, so MLSD listings cannot be
	// checked for symbolic links.
	noStat bool
	pwd    string
}

func dialFTP(t Target, o *Options) (Conn, error) {
	cfg := ftpc.Config{
		Addr:          t.Addr(),
		Active:        o.Active,
		ActivePortLow: o.ActivePorts.Low, ActivePortHigh: o.ActivePorts.High,
		Timeout: o.timeout(),
		Trace:   o.Trace,
	}
	switch t.Scheme {
	case "ftps":
		cfg.Security = ftpc.Implicit
	case "ftpes":
		cfg.Security = ftpc.Explicit
	default:
		cfg.Security = ftpc.Opportunistic
		if o.NoTLS {
			cfg.Security = ftpc.Plain
		}
	}
	if cfg.Security != ftpc.Plain {
		cfg.TLS = o.tlsConfig(t)
	}
	if o.ActiveAddress != "" {
		a, err := resolveActive(o.ActiveAddress)
		if err != nil {
			return nil, err
		}
		cfg.ActiveAddress = a
	}
	if lo, hi := o.ActivePorts.Low, o.ActivePorts.High; lo != 0 || hi != 0 {
		if lo < 1 || hi > 65535 || lo > hi {
			return nil, withKind(ErrUsage, fmt.Errorf("active ports %d-%d: want LOW-HIGH within 1-65535", lo, hi))
		}
	}
	c, err := ftpc.Dial(cfg)
	if err != nil {
		return nil, ftpErr(ErrConnect, err)
	}
	user, pass, err := o.credentials(t, true)
	if err != nil {
		c.Quit()
		return nil, err
	}
	if err := c.Login(user, pass); err != nil {
		c.Quit()
		if code := ftpc.Code(err); code == 530 || code == 331 || code == 332 {
			return nil, withKind(ErrAuth, fmt.Errorf("login as %s refused: %w", user, err))
		}
		return nil, ftpErr(ErrConnect, err)
	}
	return &ftpConn{c: c, t: t, o: o}, nil
}

// resolveActive reads --active-address: an IP address or a host name.
func resolveActive(s string) (netip.Addr, error) {
	if a, err := netip.ParseAddr(s); err == nil {
		return a, nil
	}
	ips, err := net.LookupIP(s)
	if err != nil || len(ips) == 0 {
		return netip.Addr{}, withKind(ErrUsage, fmt.Errorf("active address %q: not an IP address or resolvable name", s))
	}
	a, _ := netip.AddrFromSlice(ips[0])
	return a.Unmap(), nil
}

// ftpErr classifies an FTP failure: a server reply is a refusal, anything
// else (network, TLS) is kind.
func ftpErr(kind, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, ErrTrust) {
		return err
	}
	if errors.Is(err, ftpc.ErrTLSRequired) {
		return withKind(ErrConnect, err)
	}
	if ftpc.Code(err) != 0 {
		return withKind(ErrRemote, err)
	}
	return withKind(kind, err)
}

func fromFTP(e ftpc.Entry) Entry {
	return Entry{Name: e.Name, Size: e.Size, ModTime: e.ModTime, Dir: e.Dir,
		Link: e.Link, Target: e.Target, Special: e.Special, id: e.ID}
}

// List lists a folder. MLSD describes a symbolic link as its target (RFC
// 3659 leaves links out), so when a listing holds folders and the server
// gives no "unique" fact to tell a loop by, the client asks STAT for the
// same folder, which shows links as ls does, and marks them.
func (f *ftpConn) List(p string) ([]Entry, error) {
	es, err := f.c.List(p)
	if err != nil {
		return nil, ftpErr(ErrConnect, err)
	}
	out := make([]Entry, len(es))
	check := false
	for i, e := range es {
		out[i] = fromFTP(e)
		_, mlst := f.c.Feature("MLST")
		check = check || mlst && e.Dir && e.ID == ""
	}
	if check && !f.noStat {
		f.markLinks(p, out)
	}
	return out, nil
}

func (f *ftpConn) markLinks(p string, es []Entry) {
	arg := p
	if arg == "" || arg == "." {
		arg = "."
	}
	ls, err := f.c.StatList(arg)
	if err != nil {
		if ftpc.Code(err) >= 500 {
			f.noStat = true
		}
		return
	}
	links := map[string]string{}
	for _, l := range ls {
		if l.Link {
			links[l.Name] = l.Target
		}
	}
	for i := range es {
		if t, ok := links[es[i].Name]; ok && !es[i].Link {
			es[i].Link, es[i].Target, es[i].resolved = true, t, true
		}
	}
}

func (f *ftpConn) Stat(p string) (Entry, error) {
	e, err := f.c.Stat(p)
	return fromFTP(e), ftpErr(ErrConnect, err)
}

func (f *ftpConn) Open(p string, offset int64) (io.ReadCloser, error) {
	r, err := f.c.Retr(p, offset)
	if err != nil {
		return nil, ftpErr(ErrConnect, err)
	}
	return r, nil
}

func (f *ftpConn) Create(p string, offset int64) (io.WriteCloser, error) {
	w, err := f.c.Stor(p, offset)
	if err != nil {
		return nil, ftpErr(ErrConnect, err)
	}
	return w, nil
}

// openSection reads n bytes from off: REST and RETR, and the data
// connection is dropped after the n-th byte.
func (f *ftpConn) openSection(p string, off, n int64) (io.ReadCloser, error) {
	r, err := f.Open(p, off)
	if err != nil {
		return nil, err
	}
	return &limitedReadCloser{r: io.LimitReader(r, n), c: r}, nil
}

func (f *ftpConn) setModTime(p string, t time.Time) error {
	err := f.c.SetModTime(p, t)
	if errors.Is(err, ftpc.ErrUnsupported) {
		return errNoModTime
	}
	return ftpErr(ErrConnect, err)
}

func (f *ftpConn) canSetTimes() bool {
	_, ok := f.c.Feature("MFMT")
	return ok
}

func (f *ftpConn) clone() (Conn, error) { return dialFTP(f.t, f.o) }

func (f *ftpConn) rtt() time.Duration { return f.c.ConnectTime() }

// realpath makes p absolute against the login folder, without resolving
// links: FTP has no command for that.
func (f *ftpConn) realpath(p string) (string, error) {
	if path.IsAbs(p) {
		return path.Clean(p), nil
	}
	if f.pwd == "" {
		wd, err := f.c.Pwd()
		if err != nil {
			return "", ftpErr(ErrConnect, err)
		}
		f.pwd = wd
	}
	return path.Join(f.pwd, p), nil
}

func (f *ftpConn) Remove(p string) error        { return ftpErr(ErrConnect, f.c.Delete(p)) }
func (f *ftpConn) RemoveDir(p string) error     { return ftpErr(ErrConnect, f.c.RemoveDir(p)) }
func (f *ftpConn) Mkdir(p string) error         { return ftpErr(ErrConnect, f.c.MakeDir(p)) }
func (f *ftpConn) Rename(from, to string) error { return ftpErr(ErrConnect, f.c.Rename(from, to)) }
func (f *ftpConn) Close() error                 { return f.c.Quit() }

func (f *ftpConn) target() Target { return f.t }

func (f *ftpConn) abort() { f.c.Abort() }
