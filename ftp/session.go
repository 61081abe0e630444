package ftp

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/ferry-project/ferry/config"
	"github.com/ferry-project/ferry/core"
	"github.com/ferry-project/ferry/ftp/wire"
	"github.com/ferry-project/ferry/internal/sock"
	"github.com/ferry-project/ferry/vfs"
)

// session is one control connection.
type session struct {
	srv      *Server
	log      *slog.Logger
	raw      net.Conn
	implicit bool
	remote   netip.AddrPort
	local    netip.AddrPort
	start    time.Time
	tlsCfg   *tls.Config // this session's own; nil when TLS is unavailable
	issuer   *issuer     // this control connection in the tickets it issues
	gone     chan struct{}

	wmu    sync.Mutex
	conn   net.Conn // raw, or the TLS connection on top of it
	hungUp bool

	// Owned by the session goroutine.
	br       *bufio.Reader
	partial  []byte
	secure   bool
	user     string
	loggedIn bool
	fs       vfs.FS
	cwd      string
	protP    bool
	epsvAll  bool
	rest     int64
	allo     int64 // the size ALLO announced for the next upload, 0 for none
	rnfr     string
	rnfrPrev string
	pasv     *passive
	active   netip.AddrPort
	facts    map[string]bool
	hashAlgo string // HASH's algorithm, chosen with OPTS HASH
	cn       *core.Conn

	xmu  sync.Mutex
	xfer *transfer
}

func (s *Server) newSession(c net.Conn, implicit bool, cn *core.Conn) *session {
	sess := &session{
		srv:      s,
		raw:      c,
		conn:     c,
		implicit: implicit,
		remote:   addrOf(c.RemoteAddr()),
		local:    addrOf(c.LocalAddr()),
		start:    time.Now(),
		gone:     make(chan struct{}),
		cwd:      "/",
		facts:    defaultFacts(),
		hashAlgo: "SHA-256",
		cn:       cn,
		log:      cn.Log,
	}
	sess.issuer = s.issuers.open(sess.remote.Addr())
	if s.tls != nil {
		sess.tlsCfg = s.sessionTLS(sess.issuer)
	}
	sess.br = bufio.NewReaderSize(c, wire.MaxLine)
	sock.OOBInline(c)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing {
		c.Close()
		return nil
	}
	s.sessions[sess] = struct{}{}
	s.wg.Add(1)
	return sess
}

func (s *session) run() {
	defer s.finish()
	// Admission (core.Admit) ran before this handshake: a flood of
	// handshakes is bounded by the pre-login budgets.
	if s.implicit && !s.startTLS() {
		return
	}
	s.reply(220, "ferry FTP server ready")
	s.loop()
}

// finish tears the session down: any transfer is stopped (an upload in
// progress is discarded), the pending passive port is freed.
func (s *session) finish() {
	close(s.gone)
	s.stopTransfer()
	s.waitTransfer()
	s.dropData()
	s.raw.Close()
	s.cn.Close() // closes the file system too
	s.srv.issuers.end(s.issuer)
	s.srv.mu.Lock()
	delete(s.srv.sessions, s)
	s.srv.mu.Unlock()
	s.srv.wg.Done()
}

var errLineTooLong = fmt.Errorf("command line longer than %d bytes", wire.MaxLine)

func (s *session) loop() {
	for {
		line, err := s.readLine()
		if err != nil {
			var ne net.Error
			switch {
			case errors.As(err, &ne) && ne.Timeout():
				if s.busy() {
					continue // the idle timeout never cuts a running transfer
				}
				if !s.loggedIn {
					s.log.Info("login timeout")
					s.reply(421, "Login timeout: closing the control connection")
				} else {
					s.log.Info("idle timeout")
					s.reply(421, fmt.Sprintf("Idle timeout (%s): closing the control connection", s.srv.cfg.Limits.IdleTimeout.Duration))
				}
			case errors.Is(err, errLineTooLong):
				s.reply(500, "Command line too long")
			}
			return
		}
		cmd, err := wire.ParseCommand(line)
		if err != nil {
			s.reply(500, capital(err.Error()))
			if !s.offend(core.OffenceCommand, "command line", "malformed command") {
				return
			}
			continue
		}
		if !s.handle(cmd) {
			return
		}
	}
}

// readLine reads one command line. The deadline is the idle timeout, and
// before login also the login timeout counted from connect. A line cut by
// a deadline is kept and completed by the next call.
func (s *session) readLine() (string, error) {
	lim := s.srv.cfg.Limits
	d := time.Now().Add(lim.IdleTimeout.Duration)
	if !s.loggedIn {
		if ld := s.start.Add(lim.LoginTimeout.Duration); ld.Before(d) {
			d = ld
		}
	}
	s.raw.SetReadDeadline(d)
	for {
		chunk, err := s.br.ReadSlice('\n')
		s.partial = append(s.partial, chunk...)
		if len(s.partial) > wire.MaxLine {
			return "", errLineTooLong
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		if err != nil {
			return "", err
		}
		line := string(s.partial)
		s.partial = s.partial[:0]
		return line, nil
	}
}

func (s *session) handle(cmd wire.Command) bool {
	c, ok := commands[cmd.Verb]
	if !ok {
		s.reply(502, "Command not implemented: "+cmd.Verb)
		return s.offend(core.OffenceCommand, cmd.Verb, "unknown command")
	}
	if !c.anytime {
		s.waitTransfer()
	}
	s.rnfrPrev, s.rnfr = s.rnfr, ""
	switch {
	case c.login && !s.loggedIn:
		s.reply(530, "Please log in with USER and PASS first")
		return true
	case c.arg && cmd.Arg == "":
		s.reply(501, cmd.Verb+" needs an argument")
		return s.offend(core.OffenceCommand, cmd.Verb, "missing argument")
	}
	return c.fn(s, cmd.Arg)
}

// offend reports a refused command or data address to the defender
// (core.Conn.Offend). When that banned the client's address, the session
// ends with a 421 that names the ban, and offend returns false.
func (s *session) offend(offence, what, reason string) bool {
	if err := s.cn.Offend(offence, what, reason); err != nil {
		s.hangUp("Service not available: " + err.Error())
		return false
	}
	return true
}

// reply writes one reply. Text never spans lines of its own: a line break
// inside (from a file name) would let a name forge a reply.
func (s *session) reply(code int, lines ...string) {
	clean := make([]string, len(lines))
	for i, l := range lines {
		clean[i] = lineBreaks.Replace(l)
	}
	s.wmu.Lock()
	defer s.wmu.Unlock()
	if s.hungUp {
		return
	}
	s.conn.SetWriteDeadline(time.Now().Add(writeTimeout))
	if _, err := io.WriteString(s.conn, wire.Reply{Code: code, Lines: clean}.Format()); err != nil {
		s.raw.Close() // a control connection that cannot take a reply is dead
	}
}

var lineBreaks = strings.NewReplacer("\r", "", "\n", " ")

// hangUp sends a last 421 and closes the control connection; the session
// goroutine then ends the session.
func (s *session) hangUp(msg string) {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	if s.hungUp {
		return
	}
	s.hungUp = true
	s.conn.SetWriteDeadline(time.Now().Add(time.Second))
	io.WriteString(s.conn, wire.Reply{Code: 421, Lines: []string{msg}}.Format())
	s.raw.Close()
}

// startTLS runs the server handshake on the control connection.
func (s *session) startTLS() bool {
	tc := tls.Server(s.raw, s.tlsCfg)
	ctx, cancel := context.WithTimeout(context.Background(), s.srv.cfg.Limits.LoginTimeout.Duration)
	defer cancel()
	if err := tc.HandshakeContext(ctx); err != nil {
		s.srv.core.Warn("tls.handshake", "TLS handshake failed", "service", string(s.cn.Service), "remote", s.remote.String(), "err", err.Error())
		return false
	}
	st := tc.ConnectionState()
	s.log.Debug("tls", "version", tls.VersionName(st.Version), "cipher", tls.CipherSuiteName(st.CipherSuite))
	s.wmu.Lock()
	s.conn = tc
	s.wmu.Unlock()
	s.br = bufio.NewReaderSize(tc, wire.MaxLine)
	s.secure = true
	return true
}

// tlsRequired: passwords and data must travel encrypted.
func (s *session) tlsRequired() bool {
	return s.implicit || s.srv.cfg.FTP.TLS == config.TLSRequired
}

func (s *session) busy() bool {
	s.xmu.Lock()
	defer s.xmu.Unlock()
	return s.xfer != nil
}

func (s *session) waitTransfer() {
	s.xmu.Lock()
	x := s.xfer
	s.xmu.Unlock()
	if x != nil {
		<-x.done
	}
}

// stopTransfer aborts the running transfer, if any, and reports whether
// there was one.
func (s *session) stopTransfer() bool {
	s.xmu.Lock()
	x := s.xfer
	s.xmu.Unlock()
	if x == nil {
		return false
	}
	x.abort()
	return true
}

// dropData forgets a prepared data connection and frees its port.
func (s *session) dropData() {
	if s.pasv != nil {
		s.pasv.release()
		s.pasv = nil
	}
	s.active = netip.AddrPort{}
}

// controlGone reports whether the client has closed the control
// connection. An upload whose client went away before it could hear "226"
// is discarded, not published: a killed client closes both connections,
// and the end of the data connection alone does not tell a complete upload
// from a cut one.
func (s *session) controlGone() bool {
	select {
	case <-s.gone:
		return true
	default:
	}
	return sock.PeerClosed(s.raw)
}

func capital(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
