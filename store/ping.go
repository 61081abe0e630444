package store

import "context"

// Pinger is a store that can tell whether its database answers, for the
// load balancer's health check (GET /healthz).
type Pinger interface {
	Ping(ctx context.Context) error
}

// Ping reports whether the database answers.
func (s *SQLite) Ping(ctx context.Context) error { return s.db.PingContext(ctx) }

// Ping asks st whether its database answers; a store that cannot tell is
// taken as answering.
func Ping(ctx context.Context, st Store) error {
	if p, ok := st.(Pinger); ok {
		return p.Ping(ctx)
	}
	return nil
}
