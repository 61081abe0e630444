package web

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/ferry-project/ferry/config"
	"github.com/ferry-project/ferry/core"
	"github.com/ferry-project/ferry/listen"
)

// Options are what the server needs from its caller.
type Options struct {
	Config *config.Config
	Core   *core.Core  // admission, login and events, shared with the other protocols
	TLS    *tls.Config // base server config with the shared certificate
	// ACME, when set, answers the challenges of automatic certificates:
	// HTTP-01 on the plain listener, TLS-ALPN-01 on HTTPS.
	ACME interface {
		HTTPHandler(fallback http.Handler) http.Handler
		ALPNProtos() []string
	}
	Log *slog.Logger
	// Sessions, when set, keeps browser logins and API tokens in the
	// store, so they are valid on every node that shares it.
	Sessions SessionStore
}

// Server is the HTTPS site and the plain-HTTP listener beside it.
type Server struct {
	cfg      *config.Config
	core     *core.Core
	log      *slog.Logger
	sessions *sessions
	tokens   *sessions
	grants   *sessions // share links unlocked by their password (share.go)
	pending  *sessions // logins waiting for their second factor (totp.go)
	https    *http.Server
	http     *http.Server
	csrf     *http.CrossOriginProtection
	davLocks davLocks
}

// Lifetimes of browser sessions and API tokens.
const (
	sessionIdle     = time.Hour
	sessionLifetime = 12 * time.Hour
	tokenLifetime   = 24 * time.Hour
)

// New builds the server; nothing listens until ServeHTTPS or ServeHTTP.
func New(o Options) (*Server, error) {
	if o.Config == nil || o.Core == nil {
		return nil, errors.New("web: Config and Core are required")
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
		core:     o.Core,
		log:      log,
		sessions: newSessions("web", sessionIdle, sessionLifetime, o.Sessions),
		tokens:   newSessions("token", tokenLifetime, tokenLifetime, o.Sessions),
		// A link's unlock names the link, not a user: it stays on the node
		// (the balancer keeps a client on one node by its address).
		grants:  newSessions("grant", shareGrantLife, shareGrantLife, nil),
		pending: newSessions("pending", pendingLife, pendingLife, o.Sessions),
		csrf:    http.NewCrossOriginProtection(),
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
		ConnContext:       batchContext,
		Protocols:         &http1,
	}
	if o.Config.HTTP.HTTPSPort != 0 {
		t := o.TLS.Clone()
		t.NextProtos = []string{"http/1.1"}
		if o.ACME != nil {
			t.NextProtos = append(t.NextProtos, o.ACME.ALPNProtos()...)
		}
		s.https.TLSConfig = t
	}
	var plain http.Handler = http.HandlerFunc(s.redirect)
	if o.Config.HTTP.HTTPSPort == 0 {
		plain = s.site(false)
	}
	if o.ACME != nil {
		plain = o.ACME.HTTPHandler(plain)
	}
	s.http = &http.Server{
		Handler:           plain,
		ReadHeaderTimeout: head,
		IdleTimeout:       idle,
		ErrorLog:          errLog,
		ConnContext:       withConn,
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
	return s.https.ServeTLS(s.admitting(core.BatchListener(ln), listen.HTTPS), "", "")
}

// ServeHTTP serves plain HTTP on ln: a 308 redirect to HTTPS for every
// request, or the site itself when HTTPS is turned off.
func (s *Server) ServeHTTP(ln net.Listener) error {
	if s.cfg.HTTP.HTTPSPort == 0 {
		s.log.Warn("HTTPS is off (http.https_port = 0): passwords, cookies and files cross the network in clear text", "addr", ln.Addr().String())
	}
	return s.http.Serve(s.admitting(ln, listen.HTTP))
}

// Shutdown stops both listeners and waits for requests in flight until ctx
// ends.
func (s *Server) Shutdown(ctx context.Context) error {
	err := errors.Join(s.https.Shutdown(ctx), s.http.Shutdown(ctx))
	if err != nil {
		// The deadline passed with requests still running: cut them, so
		// their uploads are discarded and logged as aborted.
		s.https.Close()
		s.http.Close()
	}
	return err
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

// admitting passes every accepted connection through core.Admit before
// the TLS handshake; refused ones are closed at once.
func (s *Server) admitting(ln net.Listener, svc listen.Service) net.Listener {
	return &admittingListener{Listener: ln, core: s.core, svc: svc}
}

type admittingListener struct {
	net.Listener
	core *core.Core
	svc  listen.Service
}

func (l *admittingListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		cn, err := l.core.Admit(c, l.svc)
		if err != nil {
			c.Close()
			continue
		}
		return &admittedConn{Conn: c, cn: cn}, nil
	}
}

// admittedConn ends its admission when net/http closes it.
type admittedConn struct {
	net.Conn
	cn *core.Conn

	mu sync.Mutex
	// basic is the SHA-256 of the Authorization header whose password was
	// checked on this connection, for basicUser: a WebDAV client sends the
	// same header with each of hundreds of requests on one connection, and
	// a password hash per request made rclone's copy of 200 files take
	// minutes (TestDAVRclone).
	basic     [32]byte
	basicUser string
}

// verified returns the user whose Basic header authz this connection has
// already checked.
func (c *admittedConn) verified(authz string) (string, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.basicUser, c.basicUser != "" && c.basic == sha256.Sum256([]byte(authz))
}

// remember records a Basic header checked on this connection.
func (c *admittedConn) remember(authz, user string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.basic, c.basicUser = sha256.Sum256([]byte(authz)), user
}

func (c *admittedConn) Close() error {
	c.cn.Close()
	return c.Conn.Close()
}

type connKey struct{}

// admittedKey holds, in a request's context, its *admittedConn.
type admittedKey struct{}

// withConn puts the connection's core.Conn into every request's context.
func withConn(ctx context.Context, c net.Conn) context.Context {
	if tc, ok := c.(*tls.Conn); ok {
		c = tc.NetConn()
	}
	if ac, ok := c.(*admittedConn); ok {
		return context.WithValue(context.WithValue(ctx, connKey{}, ac.cn), admittedKey{}, ac)
	}
	return ctx
}

// DropUser ends the browser sessions and bearer tokens of user name (the
// account was changed, disabled or deleted).
func (s *Server) DropUser(name string) {
	s.sessions.dropUser(name)
	s.tokens.dropUser(name)
}
