package server

import (
	"context"
	"log/slog"
	"strings"
	"time"

	"github.com/ferry-project/ferry/config"
	"github.com/ferry-project/ferry/core"

	"github.com/ferry-project/ferry/store"
	"github.com/ferry-project/ferry/vfs"
	"github.com/ferry-project/ferry/vfs/s3fs"
)

// cleanUploads removes the uploads a previous run left unfinished in every
// user's home (kill -9, a crash: vfs.CleanTemp), and on object storage
// aborts the multipart uploads begun before this start. It runs before any
// listener opens, when no upload can be in progress. A home that cannot be
// cleaned is logged, not fatal: its user can still log in.
func cleanUploads(ctx context.Context, cfg *config.Config, st store.Store, log *slog.Logger) error {
	users, err := st.List(ctx)
	if err != nil {
		return err
	}
	done := map[string]bool{}
	start := time.Now()
	if cfg.Storage != "" {
		done[cfg.Storage] = true
		abortStale(ctx, cfg, cfg.Storage, start, log)
	}
	for _, u := range users {
		if done[u.Home] {
			continue
		}
		done[u.Home] = true
		if s3fs.IsURL(u.Home) {
			abortStale(ctx, cfg, u.Home, start, log)
			continue
		}
		files, bytes, err := vfs.CleanTemp(u.Home)
		if err != nil {
			log.Warn("cannot remove interrupted uploads", "user", u.Name, "home", u.Home, "err", err)
		}
		if files > 0 {
			log.Info("removed interrupted uploads", "user", u.Name, "files", files, "bytes", bytes)
		}
	}
	return nil
}

// abortStale aborts the multipart uploads left under a storage URL. They
// are invisible but hold the parts' bytes until aborted. Any upload begun
// before this start is taken for one of a dead process: nodes that share
// a prefix must not restart while another node has uploads in progress
// (or they lose them, and their clients retry).
func abortStale(ctx context.Context, cfg *config.Config, url string, start time.Time, log *slog.Logger) {
	l, err := s3fs.Parse(url)
	if err != nil {
		log.Warn("cannot remove interrupted uploads", "storage", redact(url), "err", err)
		return
	}
	o := core.S3Options(cfg)
	n, err := s3fs.AbortStale(ctx, l, o, start)
	if err != nil {
		log.Warn("cannot remove interrupted uploads", "storage", redact(url), "err", err)
	}
	if n > 0 {
		log.Info("removed interrupted uploads", "storage", redact(url), "uploads", n)
	}
}

// redact is a storage URL for the log: bucket and prefix, no parameters.
func redact(url string) string {
	u, _, _ := strings.Cut(url, "?")
	return u
}
