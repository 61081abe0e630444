package server

import (
	"context"
	"log/slog"
	"time"

	"github.com/ferry-project/ferry/core"
	"github.com/ferry-project/ferry/store"
)

// watchEvery is how soon a change made with `ferry user` (in another
// process) reaches the running server.
const watchEvery = 2 * time.Second

// userDropper is a protocol that keeps logins of its own beyond live
// connections (the web's sessions and bearer tokens).
type userDropper interface{ DropUser(name string) }

// watchUsers ends the sessions, web sessions and tokens of every user whose
// password, keys or access changed, or who was disabled or deleted, until
// ctx ends: `ferry user passwd`, `set` and `del` take effect at once in
// every protocol, not when a session or a token happens to expire. A
// changed quota is applied to the running sessions (core.RefreshQuotas).
func watchUsers(ctx context.Context, st store.Store, cr *core.Core, protocols []protocol, log *slog.Logger) {
	seen, err := st.Revisions(ctx)
	if err != nil {
		log.Error("watching users", "err", err.Error())
	}
	t := time.NewTicker(watchEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		// `ferry user set --quota-*` changes no revision (the account's
		// access is the same): running sessions take the new limits.
		cr.RefreshQuotas(ctx)
		now, err := st.Revisions(ctx)
		if err != nil {
			log.Error("watching users", "err", err.Error())
			continue
		}
		for name, rev := range seen {
			if r, ok := now[name]; ok && r == rev {
				continue
			}
			n := cr.EndUser(name, "account changed")
			for _, p := range protocols {
				if d, ok := p.(userDropper); ok {
					d.DropUser(name)
				}
			}
			log.Info("account changed: its sessions and tokens ended", "user", name, "sessions", n)
		}
		seen = now
	}
}
