package testserver

import (
	"context"
	"crypto/tls"
	"errors"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/ferry-project/ferry/auth"
	"github.com/ferry-project/ferry/certs"
	"github.com/ferry-project/ferry/config"
	"github.com/ferry-project/ferry/core"
	"github.com/ferry-project/ferry/internal/testutil"
	"github.com/ferry-project/ferry/listen"
	"github.com/ferry-project/ferry/store"
)

// Password is the password of every user the harness gives one. It holds a
// space and a letter outside ASCII, which every protocol must carry intact.
const Password = "s3cret pass-ü"

// shutdownDeadline is how long a server has to shut down when a test ends,
// and its limits.shutdown_timeout.
const shutdownDeadline = 5 * time.Second

// Server is the floor a test's protocol server stands on. Build it with
// New; everything is closed or removed when the test ends.
type Server struct {
	t testing.TB
	// Config is validated; its control ports are those of the listeners.
	Config *config.Config
	// Dir is the test's scratch directory: Config.DataDir is Dir/data and
	// the homes AddUser makes are Dir/homes/NAME.
	Dir   string
	Store store.Store
	Auth  *auth.Authenticator
	Core  *core.Core
	// Log writes, from debug level on, to Logs.
	Log  *slog.Logger
	Logs *testutil.Buffer
	// Cert is self-signed for localhost, 127.0.0.1 and ::1, and its files
	// are in the data directory (certs.GeneratedCert, certs.GeneratedKey).
	Cert tls.Certificate
	// KeyFile is bob's private key, in OpenSSH's format; KeyFile+".pub"
	// is his public key.
	KeyFile string

	ports     map[listen.Service]int
	listeners map[listen.Service]net.Listener // opened by New, not yet handed out
}

// New builds a Server. Each mutate function (nil ones are skipped) changes
// the configuration in turn before the harness opens a loopback listener
// for every control port the configuration enables and validates it; a
// port set by mutate is replaced by the listener's. Before mutate, the
// configuration is the default one with: listen_address 127.0.0.1, a free
// passive range of 20 ports, FTP active data from any source port, a
// lockout after 5 failures, and timeouts of seconds (login 10 s, idle and
// stall 30 s, shutdown 5 s).
func New(t testing.TB, mutate ...func(c *config.Config)) *Server {
	t.Helper()
	dir := t.TempDir()
	c := config.Default()
	c.DataDir = filepath.Join(dir, "data")
	c.ListenAddress = "127.0.0.1"
	c.FTP.PassivePorts = testutil.FreeRange(t, 20).String()
	c.FTP.ActiveSourcePort = 0 // the port below a random control port may be taken
	c.Lockout.MaxFailures = 5
	c.Limits.LoginTimeout = config.Duration{Duration: 10 * time.Second}
	c.Limits.IdleTimeout = config.Duration{Duration: 30 * time.Second}
	c.Limits.StallTimeout = config.Duration{Duration: 30 * time.Second}
	c.Limits.ShutdownTimeout = config.Duration{Duration: shutdownDeadline}
	for _, m := range mutate {
		if m != nil {
			m(c)
		}
	}
	s := &Server{t: t, Config: c, Dir: dir, Logs: &testutil.Buffer{}}
	s.Log = slog.New(slog.NewTextHandler(s.Logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("server log:\n%s", s.Logs)
		}
	})
	s.listen()
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(c)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	s.Store = st
	s.loadCert()
	s.KeyFile = filepath.Join(dir, "id_ed25519")
	bobKey := WriteKey(t, s.KeyFile)
	s.AddUser(store.User{Name: "alice"})
	s.AddUser(store.User{Name: "carol", ReadOnly: true})
	s.AddUser(store.User{Name: "bob", Keys: []string{bobKey}})
	lockout := auth.NewLockout(c.Lockout.MaxFailures, c.Lockout.Window.Duration, c.Lockout.Duration.Duration)
	s.Auth = auth.New(st, lockout, auth.Options{Hashes: c.Limits.PasswordHashes, Wait: c.Limits.PasswordWait.Duration})
	if s.Core, err = core.New(core.Options{Config: c, Auth: s.Auth, Log: s.Log}); err != nil {
		t.Fatal(err)
	}
	return s
}

// listen opens a listener for every enabled control port and writes its
// port into the configuration.
func (s *Server) listen() {
	c := s.Config
	s.ports = map[listen.Service]int{}
	s.listeners = map[listen.Service]net.Listener{}
	s.t.Cleanup(func() {
		for _, ln := range s.listeners {
			ln.Close()
		}
	})
	for _, p := range []struct {
		svc  listen.Service
		port *int
		on   bool
	}{
		{listen.FTP, &c.FTP.Port, c.FTP.Enabled},
		{listen.FTPImplicit, &c.FTP.ImplicitPort, c.FTP.Enabled && c.FTP.ImplicitPort != 0},
		{listen.SFTP, &c.SFTP.Port, c.SFTP.Enabled},
		{listen.HTTP, &c.HTTP.Port, c.HTTP.Enabled && c.HTTP.Port != 0},
		{listen.HTTPS, &c.HTTP.HTTPSPort, c.HTTP.Enabled && c.HTTP.HTTPSPort != 0},
	} {
		if !p.on {
			continue
		}
		ln, err := net.Listen("tcp", net.JoinHostPort(c.ListenAddress, "0"))
		if err != nil {
			s.t.Fatal(err)
		}
		*p.port = ln.Addr().(*net.TCPAddr).Port
		s.ports[p.svc], s.listeners[p.svc] = *p.port, ln
	}
}

// Listener returns a listener on the port of svc: the first time the one
// New opened, afterwards (for a restarted server) a new one on the same
// port, retried for a second while the port of the old one is released.
// A service that the configuration turns off fails the test.
func (s *Server) Listener(svc listen.Service) net.Listener {
	s.t.Helper()
	if ln := s.listeners[svc]; ln != nil {
		delete(s.listeners, svc)
		return ln
	}
	port, ok := s.ports[svc]
	if !ok {
		s.t.Fatalf("%s is off in the configuration", svc)
	}
	addr := net.JoinHostPort(s.Config.ListenAddress, strconv.Itoa(port))
	for try := 0; ; try++ {
		ln, err := net.Listen("tcp", addr)
		if err == nil {
			return ln
		}
		if try == 20 {
			s.t.Fatal(err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Shutdowner is a protocol server: Shutdown closes its listeners and waits
// for its sessions until ctx ends.
type Shutdowner interface {
	Shutdown(ctx context.Context) error
}

// Serving is a protocol server that Serve started.
type Serving struct {
	t      testing.TB
	srv    Shutdowner
	closed error
	errs   []error
	done   chan struct{}
	stop   sync.Once
}

// Serve runs each serve loop of srv (Serve on one listener) in a goroutine
// and calls Stop when the test ends. closed is what a loop returns once
// Shutdown has closed its listener: nil (sftp), net.ErrClosed (ftp) or
// http.ErrServerClosed (web).
func (s *Server) Serve(srv Shutdowner, closed error, loops ...func() error) *Serving {
	r := &Serving{t: s.t, srv: srv, closed: closed, errs: make([]error, len(loops)), done: make(chan struct{})}
	var wg sync.WaitGroup
	for i, loop := range loops {
		wg.Go(func() { r.errs[i] = loop() })
	}
	go func() {
		wg.Wait()
		close(r.done)
	}()
	s.t.Cleanup(r.Stop)
	return r
}

// Stop shuts the server down within 5 s and waits as long again for its
// loops. An error from Shutdown, a loop still running or one that returned
// anything but closed fails the test. Calls after the first do nothing.
func (r *Serving) Stop() {
	r.stop.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), shutdownDeadline)
		defer cancel()
		if err := r.srv.Shutdown(ctx); err != nil {
			r.t.Errorf("Shutdown: %v", err)
		}
		select {
		case <-r.done:
		case <-time.After(shutdownDeadline):
			r.t.Errorf("serve loops still running %v after Shutdown", shutdownDeadline)
			return
		}
		for _, err := range r.errs {
			if !errors.Is(err, r.closed) {
				r.t.Errorf("Serve returned %v, want %v", err, r.closed)
			}
		}
	})
}

// Wait waits for every serve loop to return and returns what each one
// returned, in the order Serve was given them.
func (r *Serving) Wait() []error {
	<-r.done
	return r.errs
}

// cert is the PEM files of the certificate of every Server of the test
// binary: generating a key pair for each would cost time for nothing.
var cert = sync.OnceValues(func() (files map[string][]byte, err error) {
	dir, err := os.MkdirTemp("", "ferry-testserver-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	if _, _, err := certs.Load("", "", dir, nil); err != nil {
		return nil, err
	}
	files = map[string][]byte{}
	for _, name := range []string{certs.GeneratedCert, certs.GeneratedKey} {
		if files[name], err = os.ReadFile(filepath.Join(dir, name)); err != nil {
			return nil, err
		}
	}
	return files, nil
})

// loadCert puts the shared certificate into the data directory and loads
// it from there, as ferry serve does.
func (s *Server) loadCert() {
	files, err := cert()
	if err != nil {
		s.t.Fatal(err)
	}
	for name, b := range files {
		if err := os.WriteFile(filepath.Join(s.Config.DataDir, name), b, 0o600); err != nil {
			s.t.Fatal(err)
		}
	}
	if s.Cert, _, err = certs.Load("", "", s.Config.DataDir, nil); err != nil {
		s.t.Fatal(err)
	}
}
