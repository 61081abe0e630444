package ftp

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"strconv"
	"sync"
	"time"

	"github.com/ferry-project/ferry/auth"
	"github.com/ferry-project/ferry/config"
	"github.com/ferry-project/ferry/core"
	"github.com/ferry-project/ferry/ftp/wire"
	"github.com/ferry-project/ferry/listen"
)

// Options are what New needs.
type Options struct {
	Config *config.Config
	Core   *core.Core  // admission, login and events, shared with the other protocols
	TLS    *tls.Config // base server config with the certificate; cloned per session
	Log    *slog.Logger
	// Plan is the listener plan: the passive pool, the active source port
	// and the passive address come from it, never from Config.
	Plan *listen.Plan
	// Tickets, when set, holds the TLS session-ticket keys (shared by the
	// nodes of a cluster); nil: crypto/tls's own.
	Tickets *tls.Config
}

// Timeouts that are not in the configuration: they bound single steps of
// the protocol, not a user's session.
const (
	// passiveTimeout frees the port of a PASV that no transfer used.
	passiveTimeout = 60 * time.Second
	// dataTimeout bounds opening a data connection and each read or write
	// on it; a transfer that moves data is never cut.
	dataTimeout = 60 * time.Second
	// writeTimeout bounds writing one reply on the control connection.
	writeTimeout = 30 * time.Second
)

// Server serves FTP and FTPS control connections.
type Server struct {
	cfg     *config.Config
	core    *core.Core
	tls     *tls.Config
	log     *slog.Logger
	plan    *listen.Plan
	pool    *listen.Pool
	pasvTTL time.Duration
	issuers *issuers // whom the TLS sessions were issued to

	mu        sync.Mutex
	closing   bool
	listeners map[net.Listener]struct{}
	sessions  map[*session]struct{}
	wg        sync.WaitGroup
}

// New checks the options and prepares a server; it opens no socket.
func New(o Options) (*Server, error) {
	if o.Config == nil || o.Core == nil || o.Plan == nil {
		return nil, errors.New("ftp: Config, Core and Plan are required")
	}
	f := &o.Config.FTP
	if o.TLS == nil && (f.TLS != config.TLSOff || f.ImplicitPort != 0) {
		return nil, errors.New("ftp: a TLS configuration is required unless ftp.tls is off and ftp.implicit_port is 0")
	}
	pool := o.Plan.Passive(listen.FTP)
	if pool == nil {
		return nil, errors.New("ftp: the listener plan has no passive range")
	}
	log := o.Log
	if log == nil {
		log = slog.Default()
	}
	pool.OnRefused(func(port int, from netip.AddrPort) {
		// Someone racing for the port, or a client whose command failed
		// before its data connection arrived.
		// The defender scores it (and logs it, rate-limited).
		o.Core.Offend(listen.FTP, from, core.OffenceData, "passive port "+strconv.Itoa(port), "passive data connection from an address no session waits for")
	})
	s := &Server{
		cfg:       o.Config,
		core:      o.Core,
		tls:       o.TLS,
		log:       log.With("service", "ftp"),
		plan:      o.Plan,
		pool:      pool,
		pasvTTL:   passiveTimeout,
		issuers:   newIssuers(o.Tickets),
		listeners: map[net.Listener]struct{}{},
		sessions:  map[*session]struct{}{},
	}
	return s, nil
}

// Serve accepts control connections on ln until ln is closed or Shutdown
// is called. implicit means TLS from the first byte.
func (s *Server) Serve(ln net.Listener, implicit bool) error {
	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		ln.Close()
		return net.ErrClosed
	}
	s.listeners[ln] = struct{}{}
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.listeners, ln)
		s.mu.Unlock()
	}()
	svc := listen.FTP
	if implicit {
		svc = listen.FTPImplicit
	}
	err := listen.Accept(ln, s.log, func(c net.Conn) {
		cn, err := s.core.Admit(c, svc)
		if err != nil {
			refuse(c, implicit, err)
			return
		}
		if sess := s.newSession(c, implicit, cn); sess != nil {
			go sess.run()
		} else {
			cn.Close()
		}
	})
	s.mu.Lock()
	closing := s.closing
	s.mu.Unlock()
	if closing || errors.Is(err, net.ErrClosed) {
		return net.ErrClosed
	}
	return fmt.Errorf("ftp: accept: %w", err)
}

// refuse answers a connection that admission turned away: with a 421 in
// clear text on the explicit port, by closing it on the implicit port,
// where any answer would first cost the TLS handshake that a flood wants
// the server to spend.
func refuse(c net.Conn, implicit bool, err error) {
	if !implicit {
		msg := "Service not available: " + err.Error()
		switch {
		case errors.Is(err, auth.ErrLocked):
			msg = "Too many failed logins from your address; try again later"
		case errors.Is(err, core.ErrShuttingDown):
			msg = "Server shutting down"
		}
		c.SetWriteDeadline(time.Now().Add(time.Second))
		io.WriteString(c, wire.Reply{Code: 421, Lines: []string{msg}}.Format())
	}
	c.Close()
}

// Shutdown stops accepting, closes idle sessions at once, lets running
// transfers finish until ctx ends, then closes every session.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.closing = true
	for ln := range s.listeners {
		ln.Close()
	}
	s.mu.Unlock()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	var err error
wait:
	for {
		s.mu.Lock()
		n := len(s.sessions)
		for sess := range s.sessions {
			if !sess.busy() {
				sess.hangUp("Server shutting down")
			}
		}
		s.mu.Unlock()
		if n == 0 {
			break
		}
		select {
		case <-tick.C:
		case <-ctx.Done():
			err = fmt.Errorf("ftp: shutdown: %w", ctx.Err())
			s.mu.Lock()
			for sess := range s.sessions {
				sess.hangUp("Server shutting down")
				sess.stopTransfer()
			}
			s.mu.Unlock()
			break wait
		}
	}
	s.wg.Wait()
	return err
}
