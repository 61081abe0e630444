package server

import (
	"context"
	"fmt"
	"os"

	"github.com/ferry-project/ferry/config"
	"github.com/ferry-project/ferry/core"
	"github.com/ferry-project/ferry/store"
)

// healthChecks are what GET /healthz asks before it says ready: the store
// answers, and the storage (the local data directory the homes live under)
// is there. Another storage backend adds its own check here.
func healthChecks(cfg *config.Config, st store.Store) []core.HealthCheck {
	return []core.HealthCheck{
		func(ctx context.Context) error {
			if err := st.Ping(ctx); err != nil {
				return fmt.Errorf("store: %w", err)
			}
			return nil
		},
		func(context.Context) error {
			if _, err := os.Stat(cfg.DataDir); err != nil {
				return fmt.Errorf("storage: %w", err)
			}
			return nil
		},
	}
}
