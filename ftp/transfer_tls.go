package ftp

// TLS on data connections (RFC 4217) and the binding of a data connection
// to the TLS sessions ferry issued (ftp.tls_session_reuse).
//
// RFC 4217 lets the client resume the control connection's TLS session on
// the data connection; requiring it is what keeps a stranger who races to a
// passive port from taking the transfer: he has no session ferry issued.
// Every ticket ferry issues names its issuer, the control connection it
// was issued on or that owns the data connection it was issued on (an
// entry in SessionState.Extra, inside the encrypted ticket, so a client
// cannot forge it). A data connection then resumes
//
//   - under "user", a session whose issuer is logged in as the same user
//     from the same client address. Clients that keep several control
//     connections and one session cache (rclone, measured: 29 of 29 files
//     refused under "connection") resume a sibling's session;
//   - under "connection", a session of its own control connection only
//     (vsftpd's require_ssl_reuse);
//   - under "off", anything, or no session at all.

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ferry-project/ferry/config"
)

// Why a protected data connection is refused (522, RFC 4217).
var (
	errNoResume     = errors.New("the data connection's TLS handshake resumed no session: it must resume the TLS session of a control connection")
	errOtherSession = errors.New("the data connection resumed the TLS session of another control connection")
	errOtherUser    = errors.New("the data connection resumed a TLS session issued to another user or client address")
)

// issuerTag starts ferry's entry in SessionState.Extra; crypto/tls asks
// every layer to append entries it can recognise by a prefix.
var issuerTag = []byte("ferry-ftp-issuer/1:")

// issuerMemory is how long the issuer of a session is remembered after
// its control connection ended: rclone closes idle control connections
// after a minute (--ftp-idle-timeout) while a sibling may still resume a
// session they issued. A ticket of a forgotten issuer resumes nothing.
const issuerMemory = time.Hour

// issuerLogin bounds how long a data connection waits for the issuer of
// the session it resumes to log in. rclone opens control connections in
// parallel and its shared cache hands out the newest ticket, often one of
// a sibling that has finished AUTH TLS but not PASS yet (measured: 2 and 3
// of 200 uploads refused without the wait).
const issuerLogin = 5 * time.Second

// issuer is a control connection as far as the tickets it issued go.
type issuer struct {
	id      uint64
	addr    netip.Addr
	settled chan struct{} // closed at login or at the end, whichever is first
	user    string        // set once at login, under issuers.mu
	ended   time.Time     // zero while the control connection lives
}

// issuers is the server's book of the control connections that tickets
// name, and the server-wide ticket keys: a tls.Config used only to encrypt
// and decrypt tickets, whose automatic keys crypto/tls rotates every 24
// hours and accepts for 7 days.
type issuers struct {
	keys *tls.Config
	wait atomic.Int64 // issuerLogin in nanoseconds; shorter in tests

	mu sync.Mutex
	m  map[uint64]*issuer
}

func newIssuers(keys *tls.Config) *issuers {
	if keys == nil {
		keys = &tls.Config{}
	}
	b := &issuers{keys: keys, m: map[uint64]*issuer{}}
	b.wait.Store(int64(issuerLogin))
	return b
}

// open registers a new control connection and forgets those that ended
// more than issuerMemory ago.
func (b *issuers) open(addr netip.Addr) *issuer {
	b.mu.Lock()
	defer b.mu.Unlock()
	now := time.Now()
	for id, is := range b.m {
		if !is.ended.IsZero() && now.Sub(is.ended) > issuerMemory {
			delete(b.m, id)
		}
	}
	// Random ids, not a counter: with ticket keys shared by a cluster's
	// nodes, a ticket issued on one node must not name a control
	// connection of another by chance.
	id := randomID()
	for _, taken := b.m[id]; taken || id == 0; _, taken = b.m[id] {
		id = randomID()
	}
	is := &issuer{id: id, addr: addr, settled: make(chan struct{})}
	b.m[is.id] = is
	return is
}

func (b *issuers) login(is *issuer, user string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	is.user = user
	close(is.settled)
}

func (b *issuers) end(is *issuer) {
	b.mu.Lock()
	defer b.mu.Unlock()
	is.ended = time.Now()
	if is.user == "" {
		close(is.settled)
	}
}

// check says whether the data connection of control connection own may
// resume a session that issuer id issued, under mode.
func (b *issuers) check(mode string, id uint64, own *issuer) error {
	if mode == config.ReuseOff {
		return nil
	}
	if id == own.id {
		return nil
	}
	if mode == config.ReuseConnection {
		return errOtherSession
	}
	b.mu.Lock()
	is, ok := b.m[id]
	b.mu.Unlock()
	if !ok || is.addr != own.addr {
		return errOtherUser
	}
	select {
	case <-is.settled:
	case <-time.After(time.Duration(b.wait.Load())):
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if is.user == "" || is.user != own.user {
		return errOtherUser
	}
	return nil
}

// sessionTLS is a control connection's TLS configuration: the base with
// tickets that name is as their issuer. It also serves the session's data
// connections (through dataTLS), which issue tickets in its name too.
func (s *Server) sessionTLS(is *issuer) *tls.Config {
	cfg := s.tls.Clone()
	cfg.SessionTicketsDisabled = false
	cfg.DynamicRecordSizingDisabled = true // bulk data: full records from the start
	cfg.WrapSession = func(cs tls.ConnectionState, ss *tls.SessionState) ([]byte, error) {
		ss.Extra = append(withoutIssuer(ss.Extra), binary.BigEndian.AppendUint64(bytes.Clone(issuerTag), is.id))
		return s.issuers.keys.EncryptTicket(cs, ss)
	}
	cfg.UnwrapSession = func(identity []byte, cs tls.ConnectionState) (*tls.SessionState, error) {
		// A control connection may resume any session ferry issued: the
		// login that follows decides who it is.
		return s.issuers.keys.DecryptTicket(identity, cs)
	}
	return cfg
}

// dataTLS is the configuration of one protected data connection of this
// session; *why is set to the reason a session it was offered was not
// resumed.
func (s *session) dataTLS(mode string, why *error) *tls.Config {
	cfg := s.tlsCfg.Clone()
	*why = errNoResume
	cfg.UnwrapSession = func(identity []byte, cs tls.ConnectionState) (*tls.SessionState, error) {
		ss, err := s.srv.issuers.keys.DecryptTicket(identity, cs)
		if ss == nil || err != nil {
			return ss, err // not a ticket of ours: a full handshake
		}
		id, ok := issuerOf(ss.Extra)
		if !ok {
			*why = errOtherUser
			return nil, nil
		}
		if err := s.srv.issuers.check(mode, id, s.issuer); err != nil {
			*why = err
			return nil, nil
		}
		*why = nil
		return ss, nil
	}
	return cfg
}

// secureData runs the TLS handshake on a data connection (the server is
// always the TLS server, RFC 4217 §7) and enforces ftp.tls_session_reuse.
func (s *session) secureData(ctx context.Context, c net.Conn) (*tls.Conn, error) {
	mode := s.srv.cfg.FTP.TLSSessionReuse
	var why error
	tc := tls.Server(c, s.dataTLS(mode, &why))
	hctx, cancel := context.WithTimeout(ctx, dataTimeout)
	defer cancel()
	if err := tc.HandshakeContext(hctx); err != nil {
		return nil, fmt.Errorf("TLS handshake on the data connection: %w", err)
	}
	if mode != config.ReuseOff && !tc.ConnectionState().DidResume {
		if why == nil { // accepted by us, then not resumed by crypto/tls (expired, other cipher)
			why = errNoResume
		}
		return nil, why
	}
	return tc, nil
}

func randomID() uint64 {
	var b [8]byte
	_, _ = rand.Read(b[:]) // never fails (crypto/rand)
	return binary.BigEndian.Uint64(b[:])
}

func issuerOf(extra [][]byte) (uint64, bool) {
	for _, e := range extra {
		if rest, ok := bytes.CutPrefix(e, issuerTag); ok && len(rest) == 8 {
			return binary.BigEndian.Uint64(rest), true
		}
	}
	return 0, false
}

func withoutIssuer(extra [][]byte) [][]byte {
	out := extra[:0:0]
	for _, e := range extra {
		if !bytes.HasPrefix(e, issuerTag) {
			out = append(out, e)
		}
	}
	return out
}

func addrOf(a net.Addr) netip.AddrPort {
	if ta, ok := a.(*net.TCPAddr); ok {
		ap := ta.AddrPort()
		return netip.AddrPortFrom(ap.Addr().Unmap().WithZone(""), ap.Port())
	}
	ap, _ := netip.ParseAddrPort(a.String())
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
}
