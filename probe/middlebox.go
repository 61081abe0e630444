package probe

// Checks that name what stands between the client and the server: an FTP
// ALG or conntrack helper that rewrites cleartext replies or breaks AUTH
// TLS, and the binding of data connections to TLS sessions that clients
// with one shared session cache (rclone) run into.

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"strconv"
	"time"

	"github.com/ferry-project/ferry/listen"
)

// session opens one more logged-in control connection to the prober's
// port. With clear it stays in cleartext (only where the server allows
// it); otherwise it is secured with cfg, with PBSZ 0 and PROT P.
func (p *prober) session(ctx context.Context, cfg *tls.Config, clear bool) (*ftpConn, error) {
	c, err := p.dial(ctx, p.addr())
	if err != nil {
		return nil, fmt.Errorf("connect: %s", explain(err))
	}
	f := newFTPConn(c, cfg, p.o.Timeout)
	fail := func(err error) (*ftpConn, error) { f.close(); return nil, err }
	if p.e.TLS == "implicit" {
		if _, err := f.startTLS(); err != nil {
			return fail(err)
		}
	}
	if _, _, err := f.cmd(220, ""); err != nil {
		return fail(err)
	}
	if !clear && p.e.TLS != "implicit" {
		if _, _, err := f.cmd(234, "AUTH TLS"); err != nil {
			return fail(err)
		}
		if _, err := f.startTLS(); err != nil {
			return fail(err)
		}
	}
	code, _, err := f.cmd(3, "USER %s", p.o.User)
	if err != nil && code != 230 {
		return fail(err)
	}
	if code != 230 {
		if _, _, err := f.cmd(2, "PASS %s", p.o.Password); err != nil {
			return fail(err)
		}
	}
	if !clear {
		for _, c := range []string{"PBSZ 0", "PROT P"} {
			if _, _, err := f.cmd(2, "%s", c); err != nil {
				return fail(err)
			}
		}
		f.prot = true
	}
	return f, nil
}

// comparePASV logs in over cleartext (the server allows it: tls =
// optional or off) and compares the PASV address with the one seen inside
// TLS. An FTP ALG or the conntrack ftp helper rewrites cleartext replies
// only, so a difference names it.
func (p *prober) comparePASV(ctx context.Context, inTLS net.IP) {
	const check = "FTP ALG"
	f, err := p.session(ctx, nil, true)
	if err != nil {
		p.add(check, Skip, "cleartext login for the comparison failed: %v", err)
		return
	}
	defer f.close()
	_, msg, err := f.cmd(227, "PASV")
	if err != nil {
		p.add(check, Skip, "cleartext PASV: %v", err)
		return
	}
	clear, _, err := parsePASV(msg)
	if err != nil {
		p.add(check, Skip, "cleartext PASV: %v", err)
		return
	}
	if clear.Equal(inTLS) {
		p.add(check, OK, "PASV says %s in cleartext and inside TLS: nothing on the way rewrites FTP", clear)
		return
	}
	p.add(check, Fail, "REWRITTEN: PASV says %s in cleartext but %s inside TLS: a middlebox (a router's FTP ALG or the Linux conntrack ftp helper) rewrites cleartext FTP. It cannot read FTPS, so FTPS clients get %s: set public_host on the server and forward the passive range on the router", clear, inTLS, inTLS)
}

// resumeCheck opens two control connections with separate TLS session
// caches and opens a data connection of the second that resumes the first
// one's session: what a client does that keeps several connections and
// one cache (rclone, and other libraries with a shared cache). The server
// accepts it under tls_session_reuse = "user" and refuses it (522) under
// "connection".
func (p *prober) resumeCheck(ctx context.Context) {
	const check = "TLS session reuse"
	first, second := p.tlsConfig(), p.tlsConfig()
	f1, err := p.session(ctx, first, false)
	if err != nil {
		p.add(check, Skip, "first control connection: %v", err)
		return
	}
	defer f1.close()
	f2, err := p.session(ctx, second, false)
	if err != nil {
		p.add(check, Skip, "second control connection: %v", err)
		return
	}
	defer f2.close()
	own, _, err := p.nlst(ctx, f2, second)
	if err != nil || own != 226 {
		p.add(check, Skip, "a data connection that resumes its own control connection's session failed (%d, %v): cannot compare", own, err)
		return
	}
	code, msg, err := p.nlst(ctx, f2, first)
	switch {
	case err == nil && code == 226:
		p.add(check, OK, "a data connection may resume the session of another control connection of the same login: clients that share one TLS session cache across connections (rclone) work")
	case code == 522:
		p.add(check, Warn, "REFUSED (522 %s): the server binds a data connection to its own control connection (tls_session_reuse = \"connection\"). Clients that share one TLS session cache across connections fail with 522 — rclone with its defaults, unless --ftp-concurrency 1. Set tls_session_reuse = \"user\" on the server", firstLine(msg))
	default:
		p.add(check, Warn, "a data connection resuming another control connection's session: %d %v", code, err)
	}
}

// nlst lists over an EPSV data connection secured with cfg and returns the
// final reply.
func (p *prober) nlst(ctx context.Context, f *ftpConn, cfg *tls.Config) (int, string, error) {
	_, msg, err := f.cmd(229, "EPSV")
	if err != nil {
		return 0, msg, err
	}
	port, err := parseEPSV(msg)
	if err != nil {
		return 0, msg, err
	}
	host := f.raw.RemoteAddr().(*net.TCPAddr).IP.String()
	dc, err := p.dial(ctx, net.JoinHostPort(host, strconv.Itoa(port)))
	if err != nil {
		return 0, "", err
	}
	defer dc.Close()
	if _, msg, err := f.cmd(1, "NLST"); err != nil {
		return 0, msg, err
	}
	dc.SetDeadline(time.Now().Add(p.o.Timeout))
	tc := tls.Client(dc, cfg)
	if tc.Handshake() == nil {
		io.Copy(io.Discard, tc)
	}
	dc.Close()
	return f.cmd(0, "")
}

// middlebox reads the results of both FTP ports together: explicit FTPS
// that fails at AUTH TLS while implicit FTPS works points at something on
// the way that inspects the FTP port.
func middlebox(rep *Report, plan *listen.Plan) {
	var authFailed, implicitOK bool
	implicitPort := 0
	for _, r := range rep.Results {
		switch {
		case r.Service == string(listen.FTP) && r.Check == "AUTH TLS" && r.Status == Fail:
			authFailed = true
		case r.Service == string(listen.FTPImplicit) && r.Check == "greeting" && r.Status == OK:
			implicitOK, implicitPort = true, r.Port
		}
	}
	if !authFailed || !implicitOK {
		return
	}
	port := 0
	if e, ok := plan.Find(listen.FTP, listen.Control); ok {
		port = e.Ports.Low
	}
	rep.Results = append(rep.Results, Result{Service: string(listen.FTP), Port: port, Check: "middlebox", Status: Fail,
		Detail: fmt.Sprintf("explicit FTPS fails at AUTH TLS while implicit FTPS on port %d works: a middlebox on the way (a router's FTP ALG, a firewall inspecting FTP) breaks explicit FTPS. Use implicit FTPS (ftps://HOST:%d) in passive mode, which no FTP inspection touches", implicitPort, implicitPort)})
}
