package server

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/ferry-project/ferry/certs"
	"github.com/ferry-project/ferry/config"
)

// reloadable are the keys a reload applies to the running server; every
// other change waits for a restart and is named in the log.
var reloadable = map[string]bool{
	"log_level":                     true,
	"public_host":                   true,
	"ftp.passive_override":          true,
	"tls.cert_file":                 true,
	"tls.key_file":                  true,
	"limits.max_connections":        true,
	"limits.max_connections_per_ip": true,
	"limits.max_prelogin":           true,
	"limits.max_prelogin_per_ip":    true,
	// The defender's section, except max_failures, window and duration,
	// which also size the in-memory count of password checks per address.
	"lockout.max_duration":        true,
	"lockout.escape_weight":       true,
	"lockout.unknown_user_weight": true,
	"lockout.command_weight":      true,
	"lockout.data_weight":         true,
	"lockout.ipv6_prefix":         true,
	"lockout.allow":               true,
	"lockout.deny":                true,
	"lockout.user_failures":       true,
	"lockout.user_delay":          true,
}

// reload re-reads the configuration file and the certificate (SIGHUP). An
// invalid file changes nothing; what can change live is applied from the
// next connection or handshake on, and no session in progress is cut.
func (e *env) reload() {
	log := e.log
	next, err := config.Load(e.cfg.Source)
	if err != nil {
		log.Error("reload refused: the configuration is invalid; the running one stays", "err", err.Error())
		return
	}
	var applied, restart []string
	for _, k := range config.Diff(e.cfg, next) {
		if reloadable[k] {
			applied = append(applied, k)
		} else {
			restart = append(restart, k)
		}
	}
	if e.level != nil {
		var l slog.Level
		if l.UnmarshalText([]byte(next.LogLevel)) == nil {
			e.level.Set(l)
		}
	}
	lim := e.cfg.Limits // the rest of [limits] is fixed at start
	lim.MaxConnections, lim.MaxConnectionsPerIP = next.Limits.MaxConnections, next.Limits.MaxConnectionsPerIP
	lim.MaxPrelogin, lim.MaxPreloginPerIP = next.Limits.MaxPrelogin, next.Limits.MaxPreloginPerIP
	e.core.SetLimits(lim)
	e.plan.SetAdvertised(next)
	if e.def != nil {
		lo := next.Lockout
		lo.MaxFailures, lo.Window, lo.Duration = e.cfg.Lockout.MaxFailures, e.cfg.Lockout.Window, e.cfg.Lockout.Duration
		if err := e.def.SetConfig(lo); err != nil {
			log.Error("reload: lockout not applied; the running one stays", "err", err.Error())
		}
	}
	if e.certs != nil {
		cert, _, err := certs.Load(next.TLS.CertFile, next.TLS.KeyFile, e.cfg.DataDir, []string{e.cfg.PublicHost})
		if err != nil {
			log.Error("reload: certificate not renewed; the running one stays", "err", err.Error())
		} else {
			e.certs.Set(cert)
			log.Info("tls certificate", "sha256", certs.Fingerprint(cert.Certificate[0]), "reloaded", true)
		}
	}
	attrs := []any{"applied", strings.Join(applied, ",")}
	if len(restart) > 0 {
		attrs = append(attrs, "need_restart", strings.Join(restart, ","))
	}
	if e.audit != nil {
		if err := e.audit.Reopen(); err != nil {
			log.Error("reload: audit log not reopened", "err", err.Error())
		} else {
			log.Info("audit log reopened")
		}
	}
	log.Info("reloaded", attrs...)
}

// pidFile is where `ferry serve` notes its process id for `ferry reload`.
func pidFile(cfg *config.Config) string { return filepath.Join(cfg.DataDir, "ferry.pid") }

// writePID notes the server's process id in data_dir and returns what
// removes it again.
func writePID(cfg *config.Config, log *slog.Logger) func() {
	p := pidFile(cfg)
	if err := os.WriteFile(p, []byte(strconv.Itoa(os.Getpid())+"\n"), 0o644); err != nil {
		log.Warn("cannot write the pid file: ferry reload will not find this server", "err", err.Error())
		return func() {}
	}
	return func() { os.Remove(p) }
}

// ErrNotRunning is returned by Reload when no server of that data_dir runs.
var ErrNotRunning = errors.New("no running ferry serve for this configuration")

// Reload asks the server of cfg to reload (`ferry reload`): it reads the
// process id from data_dir and sends SIGHUP.
func Reload(cfg *config.Config) (pid int, err error) {
	b, err := os.ReadFile(pidFile(cfg))
	if errors.Is(err, fs.ErrNotExist) {
		return 0, fmt.Errorf("%w (no %s)", ErrNotRunning, pidFile(cfg))
	}
	if err != nil {
		return 0, err
	}
	pid, err = strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 0 {
		return 0, fmt.Errorf("%s: not a process id", pidFile(cfg))
	}
	if err := signalReload(pid); err != nil {
		return pid, fmt.Errorf("%w: process %d: %v", ErrNotRunning, pid, err)
	}
	return pid, nil
}
