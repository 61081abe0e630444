package ftp

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ferry-project/ferry/auth"
	"github.com/ferry-project/ferry/config"
	"github.com/ferry-project/ferry/limit"
	"github.com/ferry-project/ferry/listen"
)

// Options are what New needs.
type Options struct {
	Config  *config.Config
	Auth    *auth.Authenticator
	TLS     *tls.Config // base server config with the certificate; cloned per session
	Limiter *limit.Limiter
	Log     *slog.Logger
	// Plan is the listener plan: the passive pool, the active source port
	// and the passive address come from it, never from Config.
	Plan *listen.Plan
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
	auth    *auth.Authenticator
	tls     *tls.Config
	limiter *limit.Limiter
	log     *slog.Logger
	plan    *listen.Plan
	pool    *listen.Pool
	pasvTTL time.Duration

	ids       atomic.Uint64
	mu        sync.Mutex
	closing   bool
	listeners map[net.Listener]struct{}
	sessions  map[*session]struct{}
	wg        sync.WaitGroup
}

// New checks the options and prepares a server; it opens no socket.
func New(o Options) (*Server, error) {
	if o.Config == nil || o.Auth == nil || o.Limiter == nil || o.Plan == nil {
		return nil, errors.New("ftp: Config, Auth, Limiter and Plan are required")
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
	s := &Server{
		cfg:       o.Config,
		auth:      o.Auth,
		tls:       o.TLS,
		limiter:   o.Limiter,
		log:       log.With("service", "ftp"),
		plan:      o.Plan,
		pool:      pool,
		pasvTTL:   passiveTimeout,
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
	err := listen.Accept(ln, s.log, func(c net.Conn) {
		if sess := s.newSession(c, implicit); sess != nil {
			go sess.run()
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
