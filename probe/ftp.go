package probe

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/textproto"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/ferry-project/ferry/listen"
)

// ftpConn is the client end of an FTP control connection.
type ftpConn struct {
	raw  net.Conn // current transport: TCP, or TLS over it
	tp   *textproto.Conn
	tls  *tls.Config
	prot bool // PROT P: data connections use TLS too
	wait time.Duration
}

func newFTPConn(c net.Conn, cfg *tls.Config, wait time.Duration) *ftpConn {
	return &ftpConn{raw: c, tp: textproto.NewConn(c), tls: cfg, wait: wait}
}

// cmd sends one command and reads its reply; expect is the leading digit or
// digits of the accepted codes (as textproto.ReadResponse takes them).
func (f *ftpConn) cmd(expect int, format string, a ...any) (int, string, error) {
	if err := f.raw.SetDeadline(time.Now().Add(f.wait)); err != nil {
		return 0, "", err
	}
	if format != "" {
		if err := f.tp.PrintfLine(format, a...); err != nil {
			return 0, "", err
		}
	}
	return f.tp.ReadResponse(expect)
}

func (f *ftpConn) startTLS() (tls.ConnectionState, error) {
	tc := tls.Client(f.raw, f.tls)
	if err := tc.SetDeadline(time.Now().Add(f.wait)); err != nil {
		return tls.ConnectionState{}, err
	}
	if err := tc.Handshake(); err != nil {
		return tls.ConnectionState{}, err
	}
	f.raw = tc
	f.tp = textproto.NewConn(tc)
	return tc.ConnectionState(), nil
}

func (f *ftpConn) close() {
	f.cmd(2, "QUIT") //nolint:errcheck // best effort goodbye
	f.raw.Close()
}

// pasvRe finds h1,h2,h3,h4,p1,p2 in a 227 reply.
var pasvRe = regexp.MustCompile(`(\d{1,3}),(\d{1,3}),(\d{1,3}),(\d{1,3}),(\d{1,3}),(\d{1,3})`)

// parsePASV reads the address of a 227 reply.
func parsePASV(msg string) (net.IP, int, error) {
	m := pasvRe.FindStringSubmatch(msg)
	if m == nil {
		return nil, 0, fmt.Errorf("no address in %q", msg)
	}
	var n [6]int
	for i := range n {
		v, err := strconv.Atoi(m[i+1])
		if err != nil || v > 255 {
			return nil, 0, fmt.Errorf("bad number in %q", msg)
		}
		n[i] = v
	}
	return net.IPv4(byte(n[0]), byte(n[1]), byte(n[2]), byte(n[3])), n[4]<<8 | n[5], nil
}

// parseEPSV reads the port of a 229 reply: "(|||port|)" with any delimiter.
func parseEPSV(msg string) (int, error) {
	i := strings.IndexByte(msg, '(')
	j := strings.LastIndexByte(msg, ')')
	if i < 0 || j < i+5 {
		return 0, fmt.Errorf("no port in %q", msg)
	}
	inner := msg[i+1 : j]
	d := inner[:1]
	parts := strings.Split(inner, d)
	if len(parts) != 5 {
		return 0, fmt.Errorf("malformed %q", msg)
	}
	port, err := strconv.Atoi(parts[3])
	if err != nil || port < 1 || port > 65535 {
		return 0, fmt.Errorf("bad port in %q", msg)
	}
	return port, nil
}

func (p *prober) ftp(ctx context.Context, plan *listen.Plan) {
	c, err := p.dial(ctx, p.addr())
	if err != nil {
		p.add("connect", Fail, "%s: %s", p.addr(), explain(err))
		return
	}
	dialled := c.RemoteAddr().(*net.TCPAddr).IP
	f := newFTPConn(c, p.tlsConfig(), p.o.Timeout)
	defer f.close()
	p.add("connect", OK, "connected to %s", c.RemoteAddr())

	if p.e.TLS == "implicit" {
		st, err := f.startTLS()
		if err != nil {
			p.add("implicit TLS", Fail, "handshake: %v", err)
			return
		}
		p.addTLS("implicit TLS", st)
	}
	if _, msg, err := f.cmd(220, ""); err != nil {
		p.add("greeting", Fail, "%v", err)
		return
	} else {
		p.add("greeting", OK, "220 %s", firstLine(msg))
		p.rep.ftpControl = true
	}
	secure := p.e.TLS == "implicit"
	if p.e.TLS == "explicit" || p.e.TLS == "optional" {
		if _, msg, err := f.cmd(234, "AUTH TLS"); err != nil {
			p.add("AUTH TLS", Fail, "refused: %v %s", err, msg)
			return
		}
		st, err := f.startTLS()
		if err != nil {
			p.add("AUTH TLS", Fail, "handshake: %v (a router's FTP ALG can break explicit FTPS here)", err)
			return
		}
		p.addTLS("AUTH TLS", st)
		secure = true
	}
	if p.o.User == "" {
		p.add("login", Skip, "give --user and FERRY_PASSWORD to log in and test PASV, EPSV and a listing")
		return
	}
	if secure {
		if _, msg, err := f.cmd(2, "PBSZ 0"); err != nil {
			p.add("PROT P", Fail, "PBSZ 0: %v %s", err, msg)
			return
		}
		if _, msg, err := f.cmd(2, "PROT P"); err != nil {
			p.add("PROT P", Fail, "%v %s", err, msg)
			return
		}
		f.prot = true
	}
	code, msg, err := f.cmd(3, "USER %s", p.o.User)
	if err != nil && code != 230 {
		p.add("login", Fail, "USER: %v", err)
		return
	}
	if code != 230 {
		if _, msg, err = f.cmd(2, "PASS %s", p.o.Password); err != nil {
			p.add("login", Fail, "%v", err)
			return
		}
	}
	p.add("login", OK, "logged in as %s: %s", p.o.User, firstLine(msg))

	// PASV: the address the server advertises is the one NAT breaks. It
	// carries only IPv4 addresses; over IPv6 clients use EPSV alone.
	if dialled.To4() == nil {
		p.add("PASV", Skip, "PASV carries only IPv4 addresses; dialled over IPv6, so EPSV is what clients use")
	} else if _, msg, err := f.cmd(227, "PASV"); err != nil {
		p.add("PASV", Fail, "%v", err)
	} else if ip, port, err := parsePASV(msg); err != nil {
		p.add("PASV", Fail, "%v", err)
	} else {
		adv := net.JoinHostPort(ip.String(), strconv.Itoa(port))
		if !ip.Equal(dialled) {
			kind := ""
			if ip.IsPrivate() {
				kind = " (a private address)"
			}
			p.add("PASV", Fail, "MISMATCH: PASV advertises %s%s, but the server was dialled at %s: clients cannot reach it. Behind NAT set public_host = %q on the server and forward the passive range", adv, kind, dialled, dialled.String())
		} else if ip.IsPrivate() {
			p.add("PASV", Warn, "advertises %s, the address dialled, which is private: clients outside this network need public_host set to the address they reach", adv)
		} else {
			p.add("PASV", OK, "advertises %s (the address dialled)", adv)
		}
		p.list(ctx, f, "PASV data", adv)
		if p.e.TLS == "optional" {
			p.comparePASV(ctx, ip)
		}
	}
	if _, msg, err := f.cmd(229, "EPSV"); err != nil {
		p.add("EPSV", Fail, "%v", err)
	} else if port, err := parseEPSV(msg); err != nil {
		p.add("EPSV", Fail, "%v", err)
	} else {
		p.add("EPSV", OK, "port %d", port)
		p.list(ctx, f, "EPSV data", net.JoinHostPort(dialled.String(), strconv.Itoa(port)))
	}
	if secure {
		p.resumeCheck(ctx)
	}
}

// list opens the passive data connection at addr and reads a name listing
// over it, which proves the data path end to end.
func (p *prober) list(ctx context.Context, f *ftpConn, check, addr string) {
	dc, err := p.dial(ctx, addr)
	if err != nil {
		p.add(check, Fail, "connect %s: %s", addr, explain(err))
		// The server still waits for a data connection; ABOR it so the
		// session stays usable for the next check.
		f.cmd(0, "ABOR") //nolint:errcheck // best effort
		return
	}
	defer dc.Close()
	if _, msg, err := f.cmd(1, "NLST"); err != nil {
		p.add(check, Fail, "NLST: %v %s", err, msg)
		return
	}
	var r io.Reader = dc
	if f.prot {
		tc := tls.Client(dc, f.tls)
		if err := tc.SetDeadline(time.Now().Add(p.o.Timeout)); err != nil {
			p.add(check, Fail, "%v", err)
			return
		}
		if err := tc.Handshake(); err != nil {
			p.add(check, Fail, "TLS on the data connection: %v", err)
			return
		}
		r = tc
	}
	if err := dc.SetDeadline(time.Now().Add(p.o.Timeout)); err != nil {
		p.add(check, Fail, "%v", err)
		return
	}
	n, err := io.Copy(io.Discard, r)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) {
		p.add(check, Fail, "reading the listing from %s: %v", addr, err)
		return
	}
	dc.Close()
	if _, msg, err := f.cmd(2, ""); err != nil {
		p.add(check, Fail, "after the listing: %v %s", err, msg)
		return
	}
	p.add(check, OK, "listed %d bytes over %s", n, addr)
	if _, port, err := net.SplitHostPort(addr); err == nil {
		p.rep.dataPorts = append(p.rep.dataPorts, port)
	}
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}
