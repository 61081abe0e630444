package server

import (
	"github.com/ferry-project/ferry/auth"
	"github.com/ferry-project/ferry/defend"
	"github.com/ferry-project/ferry/listen"
	"github.com/ferry-project/ferry/metrics"
)

// newMetrics is the metrics sink with its gauges over the passive pool,
// the defender and the password checks.
func newMetrics(plan *listen.Plan, def *defend.Defender, a *auth.Authenticator) *metrics.Metrics {
	src := metrics.Sources{Bans: def.Bans, HashChecks: a.Checks}
	if pool := plan.Passive(listen.FTP); pool != nil {
		src.PassiveInUse, src.PassiveSize = pool.InUse, pool.Range().High-pool.Range().Low+1
	}
	return metrics.New(src)
}
