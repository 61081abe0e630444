package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver
	"github.com/pressly/goose/v3/lock"
)

// OpenPostgres opens the PostgreSQL database that dsn names
// ("postgres://user:pass@host:5432/ferry?sslmode=verify-full") and brings
// it to the newest schema. Every node of a cluster opens the same one.
func OpenPostgres(ctx context.Context, dsn string) (*DB, error) {
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		return nil, fmt.Errorf("store: open postgres: %w", err)
	}
	// A node's own demand: logins, quota updates, the revision watch. The
	// server's connection limit is shared by every node.
	db.SetMaxOpenConns(16)
	db.SetMaxIdleConns(4)
	db.SetConnMaxIdleTime(5 * time.Minute)
	pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := db.PingContext(pctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("store: postgres: %w", err)
	}
	if err := migrate(ctx, db, true); err != nil {
		db.Close()
		return nil, fmt.Errorf("store: postgres: %w", err)
	}
	return &DB{db: db, pg: true}, nil
}

// newPGLocker is the advisory lock that serialises migrations of nodes
// that start together; it gives up after about a minute.
func newPGLocker() (lock.SessionLocker, error) {
	return lock.NewPostgresSessionLocker(lock.WithLockTimeout(2, 30))
}
