package server

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/ferry-project/ferry/audit"
	"github.com/ferry-project/ferry/auth"
	"github.com/ferry-project/ferry/certs"
	"github.com/ferry-project/ferry/config"
	"github.com/ferry-project/ferry/core"
	"github.com/ferry-project/ferry/defend"
	"github.com/ferry-project/ferry/listen"
	"github.com/ferry-project/ferry/metrics"
	"github.com/ferry-project/ferry/notify"
	"github.com/ferry-project/ferry/store"
)

// env is what every protocol is started with.
type env struct {
	cfg       *config.Config
	core      *core.Core
	tls       *tls.Config
	log       *slog.Logger
	listeners map[listen.Service]net.Listener
	plan      *listen.Plan
	certs     *certs.Holder  // nil without TLS, or with ACME
	acme      *certs.ACME    // automatic certificates; nil without
	level     *slog.LevelVar // the log's level, set again by a reload; may be nil
	audit     *audit.Log     // reopened by a reload (logrotate); nil when off
	store     store.Store    // users, bans, web sessions: shared by a cluster's nodes
	tickets   *certs.Tickets // TLS session-ticket keys; nil without TLS
	def       *defend.Defender
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

// Options are what Run needs beside the configuration.
type Options struct {
	Log *slog.Logger
	// Level is the log's level: a reload sets it from log_level (nil: the
	// level is fixed).
	Level *slog.LevelVar
	// Reload delivers the requests to re-read the configuration and the
	// certificate (SIGHUP).
	Reload <-chan os.Signal
}

// Run serves until ctx is cancelled, then shuts down gracefully.
func Run(ctx context.Context, cfg *config.Config, o Options) error {
	log := o.Log
	if n, err := core.RaiseFileLimit(); err != nil {
		log.Warn("cannot raise the open-file limit", "err", err)
	} else if n > 0 {
		log.Debug("open-file limit", "limit", n)
	}
	st, err := store.Open(cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	log.Info("store", "engine", st.Engine(), "location", store.Location(cfg))
	if users, err := st.List(ctx); err != nil {
		return err
	} else if len(users) == 0 {
		abs, _ := filepath.Abs(cfg.DataDir)
		log.Warn("no users yet: nobody can log in. Add one with: ferry user add NAME [--config FILE]", "data_dir", abs)
	}
	if err := cleanUploads(ctx, cfg, st, log); err != nil {
		return err
	}
	lockout := auth.NewLockout(cfg.Lockout.MaxFailures, cfg.Lockout.Window.Duration, cfg.Lockout.Duration.Duration)
	a := auth.New(st, lockout, auth.Options{Hashes: cfg.Limits.PasswordHashes, Wait: cfg.Limits.PasswordWait.Duration})
	co := core.Options{Config: cfg, Auth: a, Log: log, Health: healthChecks(cfg, st)}
	plan := listen.New(cfg)
	def, err := defend.New(ctx, st, cfg.Lockout, log)
	if err != nil {
		return err
	}
	co.Guard, co.Sinks = def, append(co.Sinks, def)
	var met *metrics.Metrics
	if cfg.Metrics.Listen != "" {
		met = newMetrics(plan, def, a)
		co.Sinks = append(co.Sinks, met)
	}
	// The in-memory lockout bounds parallel guesses (auth counts a check
	// before its hash runs); the defender's allow list exempts from it too.
	lockout.Exempt = func(ip net.IP) bool {
		a, _ := netip.AddrFromSlice(ip)
		return def.Allowed(a)
	}
	nt, err := notify.New(cfg, st, log)
	if err != nil {
		return err
	}
	if nt != nil {
		defer nt.Close() // after the sessions drained: their last events are queued
		co.Sinks = append(co.Sinks, nt)
	}
	var al *audit.Log
	if path := cfg.AuditPath(); path != "" {
		if al, err = openAudit(cfg, path, log); err != nil {
			return err
		}
		defer al.Close()
		co.Sinks, co.Digests = append(co.Sinks, al), cfg.AuditSHA256
	}
	cr, err := core.New(co)
	if err != nil {
		return err
	}
	plan.OnProxyRefused(func(svc listen.Service, port int, from netip.AddrPort, err error) {
		cr.Warn("proxy.refused", "connection refused by the PROXY protocol check", "service", string(svc), "port", port, "from", from.String(), "err", err.Error())
	})
	def.OnBan(cr.Publish) // bans reach the audit log and the notifications
	e := &env{
		cfg:       cfg,
		core:      cr,
		log:       log,
		level:     o.Level,
		audit:     al,
		store:     st,
		def:       def,
		listeners: map[listen.Service]net.Listener{},
	}
	if len(cfg.TLS.ACMEDomains) > 0 {
		a, err := certs.NewACME(certs.ACMEOptions{Domains: cfg.TLS.ACMEDomains, Email: cfg.TLS.ACMEEmail,
			Directory: cfg.TLS.ACMEDirectory, CAFile: cfg.TLS.ACMECAFile, DataDir: cfg.DataDir})
		if err != nil {
			return err
		}
		e.acme, e.tls = a, a.ServerConfig()
		log.Info("tls certificates from ACME", "domains", strings.Join(cfg.TLS.ACMEDomains, ","), "directory", cfg.TLS.ACMEDirectory)
	} else if needsTLS(cfg) {
		cert, generated, err := certs.Load(cfg.TLS.CertFile, cfg.TLS.KeyFile, cfg.DataDir, []string{cfg.PublicHost})
		if err != nil {
			return err
		}
		e.certs = certs.NewHolder(cert)
		e.tls = e.certs.ServerConfig()
		log.Info("tls certificate", "sha256", certs.Fingerprint(cert.Certificate[0]), "generated", generated)
	}
	if e.tls != nil {
		e.tickets = certs.NewTickets()
		e.tickets.Install(e.tls)
		if st.Engine() == "postgres" {
			if err := shareTickets(ctx, st, e.tickets, log); err != nil {
				return err
			}
		}
	}

	e.plan = plan
	defer func() {
		for _, ln := range e.listeners {
			ln.Close()
		}
	}()
	for _, ent := range plan.Entries {
		if ent.Kind != listen.Control && ent.Kind != listen.Local {
			continue
		}
		ln, err := plan.Listen(ent)
		if err != nil {
			return err
		}
		e.listeners[ent.Service] = ln
		log.Info("listening", "service", ent.Service, "addr", ln.Addr().String(), "purpose", ent.Purpose, "url", plan.URL(ent, urlHost(cfg)))
	}

	stopHelper, err := dropPrivileges(cfg, plan, log)
	if err != nil {
		return err
	}
	defer stopHelper()

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
	if ln := e.listeners[listen.Metrics]; ln != nil && met != nil {
		e.serve("metrics", func() error { return met.Serve(ln) })
	}
	// Without the socket (a data_dir path too long for one) the server
	// runs on; only `ferry status` cannot reach it.
	if ctl, err := serveControl(cfg, cr, plan, def, log); err != nil {
		log.Warn("no control socket: ferry status will not reach this server", "err", err.Error())
	} else {
		defer ctl.Close()
	}
	var running []protocol
	// shutdown runs in two phases across every protocol: first no new
	// connection is admitted and every listener is closed, so no port
	// greets a client any more; then every protocol drains its sessions
	// together until limits.shutdown_timeout, and what still runs then is
	// aborted (and logged so). Reaching the deadline is not a failure.
	shutdown := func() {
		e.core.Close()
		for _, ln := range e.listeners {
			ln.Close()
		}
		sctx, cancel := context.WithTimeout(context.Background(), cfg.Limits.ShutdownTimeout.Duration)
		defer cancel()
		var drain sync.WaitGroup
		for _, p := range running {
			drain.Go(func() {
				if err := p.Shutdown(sctx); err != nil {
					log.Warn("shutdown deadline reached: remaining sessions aborted", "err", err.Error())
				}
			})
		}
		drain.Wait()
		wg.Wait()
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
	source := cfg.Source
	if source == "" {
		source = "embedded defaults (no --config, $FERRY_CONFIG or " + config.SystemPath + ")"
	}
	dataDir, _ := filepath.Abs(cfg.DataDir)
	log.Info("ferry serving", "config", source, "data_dir", dataDir)
	if err := notifyReady(); err != nil {
		log.Warn("cannot tell systemd the server is ready", "err", err.Error())
	}
	unpid := writePID(cfg, log)
	defer unpid()
	wctx, stopWatch := context.WithCancel(ctx)
	defer stopWatch()
	go watchUsers(wctx, st, e.core, running, log)
	for {
		select {
		case <-o.Reload:
			e.reload()
			continue
		case <-ctx.Done():
			log.Info("shutting down: no new sessions; waiting for running transfers", "deadline", cfg.Limits.ShutdownTimeout.Duration.String())
			shutdown()
			log.Info("stopped")
			return nil
		case err := <-fatal:
			shutdown()
			return err
		}
	}
}

// urlHost is the host the start-up log puts in each service's URL: the
// public address when one is set, else the listening address, else this
// machine's name.
func urlHost(cfg *config.Config) string {
	switch {
	case cfg.PublicHost != "":
		return cfg.PublicHost
	case cfg.ListenAddress != "":
		return cfg.ListenAddress
	}
	if h, err := os.Hostname(); err == nil {
		return h
	}
	return "localhost"
}
