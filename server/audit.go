package server

import (
	"context"
	"log/slog"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/ferry-project/ferry/audit"
	"github.com/ferry-project/ferry/config"
)

// openAudit opens the audit log and reopens it on every SIGHUP until ctx
// ends (logrotate renames the file, then signals). Lost records (a full
// disk) are logged once per 10 s with their count: a flood of refused
// connections makes a record each.
func openAudit(ctx context.Context, cfg *config.Config, path string, log *slog.Logger) (*audit.Log, error) {
	var mu sync.Mutex
	var last time.Time
	lost := 0
	al, err := audit.Open(path, int64(cfg.AuditMaxMB)<<20, cfg.AuditKeep, func(err error) {
		mu.Lock()
		defer mu.Unlock()
		lost++
		if time.Since(last) >= 10*time.Second {
			log.Error("audit log: records lost", "lost", lost, "err", err.Error())
			last, lost = time.Now(), 0
		}
	})
	if err != nil {
		return nil, err
	}
	log.Info("audit log", "path", path, "max_mb", cfg.AuditMaxMB, "keep", cfg.AuditKeep)
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	go func() {
		defer signal.Stop(hup)
		for {
			select {
			case <-ctx.Done():
				return
			case <-hup:
				if err := al.Reopen(); err != nil {
					log.Error("SIGHUP: audit log not reopened", "path", path, "err", err.Error())
				} else {
					log.Info("SIGHUP: audit log reopened", "path", path)
				}
			}
		}
	}()
	return al, nil
}
