package store

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"

	"github.com/pressly/goose/v3"
)

// migrations are the schema's steps, one set for SQLite and PostgreSQL,
// applied in order at every open (goose records the version reached in
// goose_db_version). A migration is never edited once released; a change
// is a new file.
//
//go:embed migrations/*.sql
var migrations embed.FS

// migrate brings db to the newest schema. Several nodes starting at once
// on one PostgreSQL database take a session lock, so each step runs once.
func migrate(ctx context.Context, db *sql.DB, pg bool) error {
	sub, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return err
	}
	dialect := goose.DialectSQLite3
	var opts []goose.ProviderOption
	if pg {
		dialect = goose.DialectPostgres
		locker, err := newPGLocker()
		if err != nil {
			return err
		}
		opts = append(opts, goose.WithSessionLocker(locker))
	} else if err := migrateLegacy(ctx, db); err != nil {
		return err
	}
	p, err := goose.NewProvider(dialect, db, sub, opts...)
	if err != nil {
		return fmt.Errorf("migrations: %w", err)
	}
	if _, err := p.Up(ctx); err != nil {
		return fmt.Errorf("migrations: %w", err)
	}
	return nil
}

// migrateLegacy adds the columns that SQLite databases made before the
// migrations lack, so that migration 1 (CREATE TABLE IF NOT EXISTS) finds
// the table it would have made. A new database has no users table yet and
// is left to the migrations.
func migrateLegacy(ctx context.Context, db *sql.DB) error {
	have := map[string]bool{}
	rows, err := db.QueryContext(ctx, `SELECT name FROM pragma_table_info('users')`)
	if err != nil {
		return err
	}
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			rows.Close()
			return err
		}
		have[n] = true
	}
	rows.Close()
	if err := rows.Err(); err != nil || len(have) == 0 {
		return err
	}
	for _, col := range []struct{ name, def string }{
		{"disabled", "INTEGER NOT NULL DEFAULT 0"},
		{"revision", "INTEGER NOT NULL DEFAULT 0"},
		{"quota_bytes", "INTEGER NOT NULL DEFAULT 0"},
		{"quota_files", "INTEGER NOT NULL DEFAULT 0"},
		{"used_bytes", "INTEGER NOT NULL DEFAULT 0"},
		{"used_files", "INTEGER NOT NULL DEFAULT 0"},
	} {
		if !have[col.name] {
			if _, err := db.ExecContext(ctx, `ALTER TABLE users ADD COLUMN `+col.name+` `+col.def); err != nil {
				return err
			}
		}
	}
	return nil
}
