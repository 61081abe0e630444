package server

import (
	"log/slog"
	"sync"
	"time"

	"github.com/ferry-project/ferry/audit"
	"github.com/ferry-project/ferry/config"
)

// openAudit opens the audit log; a reload (SIGHUP, after logrotate
// renamed the file) reopens it. Lost records (a full disk) are logged
// once per 10 s with their count: a flood of refused connections makes a
// record each.
func openAudit(cfg *config.Config, path string, log *slog.Logger) (*audit.Log, error) {
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
	return al, nil
}
