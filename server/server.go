package server

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime/debug"
	"sync"

	"github.com/ferry-project/ferry/auth"
	"github.com/ferry-project/ferry/certs"
	"github.com/ferry-project/ferry/config"
	"github.com/ferry-project/ferry/limit"
	"github.com/ferry-project/ferry/listen"
	"github.com/ferry-project/ferry/store"
)

// env is what every protocol is started with.
type env struct {
	cfg       *config.Config
	auth      *auth.Authenticator
	tls       *tls.Config
	limiter   *limit.Limiter
	log       *slog.Logger
	listeners map[listen.Service]net.Listener
	plan      *listen.Plan
	// serve runs a protocol's accept loop in the background.
	serve func(name string, loop func() error)
}

// protocol is a started protocol server.
type protocol interface {
	Shutdown(ctx context.Context) error
}

// starter starts one protocol family on its listeners, or returns nil when
// the configuration disables it.
type starter func(e *env) (protocol, error)

// needsTLS reports whether any enabled service uses the certificate.
func needsTLS(c *config.Config) bool {
	return c.FTP.Enabled && (c.FTP.TLS != config.TLSOff || c.FTP.ImplicitPort != 0) ||
		c.HTTP.Enabled && c.HTTP.HTTPSPort != 0
}

// gcPercent is the collector's target when the administrator has not set
// GOGC. x/crypto/ssh allocates a fresh buffer for every channel packet it
// receives, so at Go's default of 100 an SFTP upload spends much of the
// server's CPU collecting and scavenging the heap. The live heap of a
// file server is small (about 100 KB per idle SFTP session), so a larger
// heap goal costs little memory and saves that CPU. Measured on SFTP put
// and get of 1 GiB: 400 cut ferry's CPU by about a fifth against 100,
// and 800 or 1600 saved no more.
const gcPercent = 400

// tuneGC applies gcPercent unless GOGC is set: the administrator's
// setting always wins.
func tuneGC() {
	if _, set := os.LookupEnv("GOGC"); !set {
		debug.SetGCPercent(gcPercent)
	}
}

// Run serves until ctx is cancelled, then shuts down gracefully.
func Run(ctx context.Context, cfg *config.Config, log *slog.Logger) error {
	tuneGC()
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return fmt.Errorf("data_dir: %w", err)
	}
	st, err := store.OpenSQLite(cfg.DataDir)
	if err != nil {
		return err
	}
	defer st.Close()
	if users, err := st.List(ctx); err != nil {
		return err
	} else if len(users) == 0 {
		abs, _ := filepath.Abs(cfg.DataDir)
		log.Warn("no users yet: nobody can log in. Add one with: ferry user add NAME [--config FILE]", "data_dir", abs)
	}
	e := &env{
		cfg:       cfg,
		auth:      &auth.Authenticator{Store: st, Lockout: auth.NewLockout(cfg.Lockout.MaxFailures, cfg.Lockout.Window.Duration, cfg.Lockout.Duration.Duration)},
		limiter:   limit.New(cfg.Limits.MaxConnections, cfg.Limits.MaxConnectionsPerIP),
		log:       log,
		listeners: map[listen.Service]net.Listener{},
	}
	if needsTLS(cfg) {
		cert, generated, err := certs.Load(cfg.TLS.CertFile, cfg.TLS.KeyFile, cfg.DataDir, []string{cfg.PublicHost})
		if err != nil {
			return err
		}
		e.tls = certs.ServerConfig(cert)
		log.Info("tls certificate", "sha256", certs.Fingerprint(cert.Certificate[0]), "generated", generated)
	}

	plan := listen.New(cfg)
	e.plan = plan
	defer func() {
		for _, ln := range e.listeners {
			ln.Close()
		}
	}()
	for _, ent := range plan.Entries {
		if ent.Kind != listen.Control {
			continue
		}
		ln, err := plan.Listen(ent)
		if err != nil {
			return err
		}
		e.listeners[ent.Service] = ln
		log.Info("listening", "service", ent.Service, "addr", ln.Addr().String(), "purpose", ent.Purpose)
	}

	var wg sync.WaitGroup
	fatal := make(chan error, 8)
	e.serve = func(name string, loop func() error) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := loop(); err != nil && !errors.Is(err, net.ErrClosed) && !errors.Is(err, http.ErrServerClosed) {
				fatal <- fmt.Errorf("%s: %w", name, err)
			}
		}()
	}
	var running []protocol
	shutdown := func() error {
		sctx, cancel := context.WithTimeout(context.Background(), cfg.Limits.ShutdownTimeout.Duration)
		defer cancel()
		var errs []error
		for _, p := range running {
			if err := p.Shutdown(sctx); err != nil {
				errs = append(errs, err)
			}
		}
		wg.Wait()
		return errors.Join(errs...)
	}
	for _, start := range starters {
		p, err := start(e)
		if err != nil {
			shutdown()
			return err
		}
		if p != nil {
			running = append(running, p)
		}
	}
	log.Info("ferry serving", "data_dir", cfg.DataDir)
	select {
	case <-ctx.Done():
		log.Info("shutting down: no new sessions; waiting for running transfers", "deadline", cfg.Limits.ShutdownTimeout.Duration.String())
		err := shutdown()
		log.Info("stopped")
		return err
	case err := <-fatal:
		shutdown()
		return err
	}
}
