package store

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"
)

// DB is the Store over database/sql: the embedded SQLite file of one node
// (OpenSQLite) or the PostgreSQL database that several nodes share
// (OpenPostgres). Both run the same migrations and the same statements;
// statements are written with '?' placeholders and rebound to $n for
// PostgreSQL.
type DB struct {
	db *sql.DB
	pg bool
}

// rebind turns '?' placeholders into PostgreSQL's $1, $2, …. No statement
// of this package has a '?' inside a string literal.
func (s *DB) rebind(q string) string {
	if !s.pg || !strings.Contains(q, "?") {
		return q
	}
	var b strings.Builder
	n := 0
	for _, r := range q {
		if r == '?' {
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

func (s *DB) execContext(ctx context.Context, q string, args ...any) (sql.Result, error) {
	return s.db.ExecContext(ctx, s.rebind(q), args...)
}

func (s *DB) queryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	return s.db.QueryContext(ctx, s.rebind(q), args...)
}

func (s *DB) queryRowContext(ctx context.Context, q string, args ...any) *sql.Row {
	return s.db.QueryRowContext(ctx, s.rebind(q), args...)
}

// exec runs a statement that must change a row of user name.
func (s *DB) exec(ctx context.Context, what, name, query string, args ...any) error {
	res, err := s.execContext(ctx, query, args...)
	if err != nil {
		return fmt.Errorf("store: %s %s: %w", what, name, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("%w: %s", ErrNotFound, name)
	}
	return nil
}

// flag stores a bool as the schema's INTEGER 0/1 on both engines.
func flag(b bool) int {
	if b {
		return 1
	}
	return 0
}

// Ping reports whether the database answers (for /healthz).
func (s *DB) Ping(ctx context.Context) error { return s.db.PingContext(ctx) }

// Close closes the database.
func (s *DB) Close() error { return s.db.Close() }

// Engine names the backend: "sqlite" or "postgres".
func (s *DB) Engine() string {
	if s.pg {
		return "postgres"
	}
	return "sqlite"
}
