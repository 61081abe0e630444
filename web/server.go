package web

import (
	"context"
	"crypto/tls"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/ferry-project/ferry/auth"
	"github.com/ferry-project/ferry/config"
	"github.com/ferry-project/ferry/limit"
)

// Options are what the server needs from its caller.
type Options struct {
	Config *config.Config
	Auth   *auth.Authenticator
	TLS    *tls.Config // base server config with the shared certificate
	Log    *slog.Logger
	// Limiter, when set, is the connection limiter shared with the other
	// protocols; nil gives the web server its own from Config.Limits.
	Limiter *limit.Limiter
}

// Server is the HTTPS site and the plain-HTTP listener beside it.
type Server struct {
	cfg      *config.Config
	auth     *auth.Authenticator
	log      *slog.Logger
	sessions *sessions
	tokens   *sessions
	limiter  *limit.Limiter
	https    *http.Server
	http     *http.Server
	csrf     *http.CrossOriginProtection
}

// Lifetimes of browser sessions and API tokens.
const (
	sessionIdle     = time.Hour
	sessionLifetime = 12 * time.Hour
	tokenLifetime   = 24 * time.Hour
)

// New builds the server; nothing listens until ServeHTTPS or ServeHTTP.
func New(o Options) (*Server, error) {
	if o.Config == nil || o.Auth == nil {
		return nil, errors.New("web: Config and Auth are required")
	}
	if o.Config.HTTP.HTTPSPort != 0 && o.TLS == nil {
		return nil, errors.New("web: HTTPS is on but no TLS configuration was given")
	}
	log := o.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	log = log.With("service", "http")
	s := &Server{
		cfg:      o.Config,
		auth:     o.Auth,
		log:      log,
		sessions: newSessions(sessionIdle, sessionLifetime),
		tokens:   newSessions(tokenLifetime, tokenLifetime),
		limiter:  o.Limiter,
		csrf:     http.NewCrossOriginProtection(),
	}
	if s.limiter == nil {
		s.limiter = limit.New(o.Config.Limits.MaxConnections, o.Config.Limits.MaxConnectionsPerIP)
	}
	idle := o.Config.Limits.IdleTimeout.Duration
	head := o.Config.Limits.LoginTimeout.Duration
	errLog := slog.NewLogLogger(log.Handler(), slog.LevelDebug)
	// HTTP/1.1 only, on both listeners: Go's HTTP/2 server frames a
	// download into 16 KiB DATA frames that each cost a flush and two TLS
	// records, which halved download speed in BenchmarkDownload, and bulk
	// transfers gain nothing from multiplexing. It also keeps one
	// connection to one request at a time: one HTTP/2 connection with 150
	// wrong-password streams had 130 passwords hashed at once. NextProtos
	// alone is not enough: ServeTLS adds "h2" unless Protocols leaves it out.
	var http1 http.Protocols
	http1.SetHTTP1(true)
	s.https = &http.Server{
		Handler:           s.site(true),
		ReadHeaderTimeout: head,
		IdleTimeout:       idle,
		ErrorLog:          errLog,
		Protocols:         &http1,
	}
	if o.Config.HTTP.HTTPSPort != 0 {
		t := o.TLS.Clone()
		t.NextProtos = []string{"http/1.1"}
		s.https.TLSConfig = t
	}
	var plain http.Handler = http.HandlerFunc(s.redirect)
	if o.Config.HTTP.HTTPSPort == 0 {
		plain = s.site(false)
	}
	s.http = &http.Server{
		Handler:           plain,
		ReadHeaderTimeout: head,
		IdleTimeout:       idle,
		ErrorLog:          errLog,
		Protocols:         &http1, // no h2c either
	}
	return s, nil
}

// ServeHTTPS serves the site over TLS on ln until Shutdown, after which it
// returns http.ErrServerClosed.
func (s *Server) ServeHTTPS(ln net.Listener) error {
	if s.cfg.HTTP.HTTPSPort == 0 {
		return errors.New("web: HTTPS is off (http.https_port = 0)")
	}
	s.log.Info("listening", "addr", ln.Addr().String(), "tls", true)
	return s.https.ServeTLS(s.limited(ln), "", "")
}

// ServeHTTP serves plain HTTP on ln: a 308 redirect to HTTPS for every
// request, or the site itself when HTTPS is turned off.
func (s *Server) ServeHTTP(ln net.Listener) error {
	if s.cfg.HTTP.HTTPSPort == 0 {
		s.log.Warn("HTTPS is off (http.https_port = 0): passwords, cookies and files cross the network in clear text", "addr", ln.Addr().String())
	} else {
		s.log.Info("listening", "addr", ln.Addr().String(), "redirect_to_https", s.cfg.HTTP.HTTPSPort)
	}
	return s.http.Serve(s.limited(ln))
}

// Shutdown stops both listeners and waits for requests in flight until ctx
// ends.
func (s *Server) Shutdown(ctx context.Context) error {
	return errors.Join(s.https.Shutdown(ctx), s.http.Shutdown(ctx))
}

// redirect sends a plain-HTTP request to the same path over HTTPS.
func (s *Server) redirect(w http.ResponseWriter, r *http.Request) {
	host := r.Host
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	if host == "" {
		host = "localhost"
	}
	if ip := net.ParseIP(host); ip != nil && ip.To4() == nil {
		host = "[" + host + "]"
	}
	if p := s.cfg.HTTP.HTTPSPort; p != 443 {
		host += ":" + strconv.Itoa(p)
	}
	w.Header().Set("Connection", "close")
	http.Redirect(w, r, "https://"+host+r.URL.RequestURI(), http.StatusPermanentRedirect)
}

// busyRetry is the Retry-After (RFC 9110 section 10.2.3) of a 503 for
// auth.ErrBusy: limits.password_wait in whole seconds, rounded up, the
// longest a login now queued can wait for its password check.
func (s *Server) busyRetry() string {
	return strconv.Itoa(int((s.cfg.Limits.PasswordWait.Duration + time.Second - 1) / time.Second))
}

// limited applies limits.max_connections and max_connections_per_ip to ln.
func (s *Server) limited(ln net.Listener) net.Listener {
	return &limitedListener{Listener: ln, s: s}
}

type limitedListener struct {
	net.Listener
	s *Server
}

func (l *limitedListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		ip := remoteIP(c.RemoteAddr())
		release, err := l.s.limiter.Acquire(ip)
		if err != nil {
			l.s.log.Warn("connection refused", "remote", c.RemoteAddr().String(), "err", err)
			c.Close()
			continue
		}
		return &limitedConn{Conn: c, release: release}, nil
	}
}

type limitedConn struct {
	net.Conn
	release func()
}

func (c *limitedConn) Close() error {
	c.release()
	return c.Conn.Close()
}

func remoteIP(a net.Addr) net.IP {
	if t, ok := a.(*net.TCPAddr); ok {
		return t.IP
	}
	h, _, err := net.SplitHostPort(a.String())
	if err != nil {
		return nil
	}
	return net.ParseIP(h)
}

func requestIP(r *http.Request) net.IP {
	h, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return net.ParseIP(r.RemoteAddr)
	}
	return net.ParseIP(h)
}
