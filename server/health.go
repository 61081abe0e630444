package server

import (
	"context"
	"fmt"
	"os"

	"github.com/ferry-project/ferry/config"
	"github.com/ferry-project/ferry/core"
	"github.com/ferry-project/ferry/store"
	"github.com/ferry-project/ferry/vfs/s3fs"
)

// healthChecks are what GET /healthz asks before it says ready: the store
// answers, and the storage is there: the local data directory, and the
// bucket of `storage` when the homes are on object storage.
func healthChecks(cfg *config.Config, st store.Store) []core.HealthCheck {
	return []core.HealthCheck{
		func(ctx context.Context) error {
			if err := st.Ping(ctx); err != nil {
				return fmt.Errorf("store: %w", err)
			}
			return nil
		},
		func(ctx context.Context) error {
			if _, err := os.Stat(cfg.DataDir); err != nil {
				return fmt.Errorf("storage: %w", err)
			}
			if cfg.Storage == "" {
				return nil
			}
			l, err := s3fs.Parse(cfg.Storage)
			if err != nil {
				return fmt.Errorf("storage: %w", err)
			}
			o := core.S3Options(cfg)
			if err := s3fs.Ping(ctx, l, o); err != nil {
				return fmt.Errorf("storage: %w", err)
			}
			return nil
		},
	}
}
