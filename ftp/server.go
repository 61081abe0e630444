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
	// resolveEvery is how long a resolved public_host name is trusted.
	resolveEvery = 3 * time.Minute
)

// Server serves FTP and FTPS control connections.
type Server struct {
	cfg     *config.Config
	core    *core.Core
	tls     *tls.Config
	log     *slog.Logger
	pool    *portPool
	public  *hostAddr
	over    []override
	pasvTTL time.Duration

	mu        sync.Mutex
	closing   bool
	listeners map[net.Listener]struct{}
	sessions  map[*session]struct{}
	wg        sync.WaitGroup
}

// override is a passive_override entry: clients in nets are told addr, or
// the server's local address when addr is nil.
type override struct {
	nets []*net.IPNet
	addr *hostAddr
}

// New checks the options and prepares a server; it opens no socket.
func New(o Options) (*Server, error) {
	if o.Config == nil || o.Core == nil {
		return nil, errors.New("ftp: Config and Core are required")
	}
	f := &o.Config.FTP
	if o.TLS == nil && (f.TLS != config.TLSOff || f.ImplicitPort != 0) {
		return nil, errors.New("ftp: a TLS configuration is required unless ftp.tls is off and ftp.implicit_port is 0")
	}
	r := f.PassiveRange()
	if r.Low == 0 {
		return nil, errors.New("ftp: the configuration is not validated (no passive range)")
	}
	log := o.Log
	if log == nil {
		log = slog.Default()
	}
	s := &Server{
		cfg:       o.Config,
		core:      o.Core,
		tls:       o.TLS,
		log:       log.With("service", "ftp"),
		pool:      newPortPool(r),
		pasvTTL:   passiveTimeout,
		listeners: map[net.Listener]struct{}{},
		sessions:  map[*session]struct{}{},
	}
	if o.Config.PublicHost != "" {
		s.public = newHostAddr(o.Config.PublicHost)
	}
	for _, po := range f.PassiveOverride {
		ov := override{nets: po.IPNets()}
		if po.Address != "" {
			ov.addr = newHostAddr(po.Address)
		}
		s.over = append(s.over, ov)
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

// passiveAddr is the address a 227 reply carries for a session: the
// override of the client's network, else public_host, else the local
// address of the control connection.
func (s *Server) passiveAddr(ctx context.Context, remote, local netip.Addr) (netip.Addr, error) {
	for _, o := range s.over {
		for _, n := range o.nets {
			if n.Contains(remote.AsSlice()) {
				if o.addr == nil {
					return local, nil
				}
				return o.addr.get(ctx, s.log)
			}
		}
	}
	if s.public != nil {
		return s.public.get(ctx, s.log)
	}
	return local, nil
}

// hostAddr is an address from the configuration: an IP literal, or a host
// name re-resolved every resolveEvery (dynamic DNS), preferring IPv4 since
// PASV can carry nothing else.
type hostAddr struct {
	name string
	mu   sync.Mutex
	ip   netip.Addr
	at   time.Time
}

func newHostAddr(name string) *hostAddr {
	h := &hostAddr{name: name}
	if ip, err := netip.ParseAddr(name); err == nil {
		h.ip = ip.Unmap()
	}
	return h
}

func (h *hostAddr) get(ctx context.Context, log *slog.Logger) (netip.Addr, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.ip.IsValid() && (h.at.IsZero() || time.Since(h.at) < resolveEvery) {
		return h.ip, nil
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	ips, err := net.DefaultResolver.LookupNetIP(ctx, "ip", h.name)
	var best netip.Addr
	for _, ip := range ips {
		ip = ip.Unmap()
		if !best.IsValid() || ip.Is4() && !best.Is4() {
			best = ip
		}
	}
	if err != nil || !best.IsValid() {
		if err == nil {
			err = errors.New("no address")
		}
		if h.ip.IsValid() {
			log.Warn("cannot re-resolve passive address; keeping the last one", "host", h.name, "ip", h.ip.String(), "err", err)
			h.at = time.Now()
			return h.ip, nil
		}
		return netip.Addr{}, fmt.Errorf("resolve %s: %w", h.name, err)
	}
	if best != h.ip {
		log.Info("passive address resolved", "host", h.name, "ip", best.String())
	}
	h.ip, h.at = best, time.Now()
	return best, nil
}
