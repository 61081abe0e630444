package core

import (
	"context"
	"errors"
	"time"
)

// ErrUnhealthy wraps the failure of a health check.
var ErrUnhealthy = errors.New("not ready")

// HealthCheck is one check of readiness: the store, the storage.
type HealthCheck func(ctx context.Context) error

// healthTimeout bounds one round of the checks; healthCache is how long
// its answer is reused, so that a flood of /healthz costs the store one
// ping per healthCache at most.
const (
	healthTimeout = 3 * time.Second
	healthCache   = time.Second
)

// Healthy runs the health checks (Options.Health) and reports the first
// failure, wrapped in ErrUnhealthy; nil means ready. Concurrent callers
// share one round, and an answer is reused for a second.
func (c *Core) Healthy(ctx context.Context) error {
	c.healthMu.Lock()
	defer c.healthMu.Unlock()
	if !c.healthAt.IsZero() && time.Since(c.healthAt) < healthCache {
		return c.healthErr
	}
	ctx, cancel := context.WithTimeout(ctx, healthTimeout)
	defer cancel()
	var err error
	for _, check := range c.health {
		if e := check(ctx); e != nil {
			err = errors.Join(ErrUnhealthy, e)
			break
		}
	}
	c.healthAt, c.healthErr = time.Now(), err
	return err
}
