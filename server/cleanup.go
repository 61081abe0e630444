package server

import (
	"context"
	"log/slog"

	"github.com/ferry-project/ferry/store"
	"github.com/ferry-project/ferry/vfs"
)

// cleanUploads removes the uploads a previous run left unfinished in every
// user's home (kill -9, a crash: vfs.CleanTemp). It runs before any
// listener opens, when no upload can be in progress. A home that cannot be
// cleaned is logged, not fatal: its user can still log in.
func cleanUploads(ctx context.Context, st store.Store, log *slog.Logger) error {
	users, err := st.List(ctx)
	if err != nil {
		return err
	}
	done := map[string]bool{}
	for _, u := range users {
		if done[u.Home] {
			continue
		}
		done[u.Home] = true
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
