package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
)

// migrateUsers adds the columns that databases made before them lack.
func migrateUsers(db *sql.DB) error {
	have := map[string]bool{}
	rows, err := db.Query(`SELECT name FROM pragma_table_info('users')`)
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
	for _, col := range []struct{ name, def string }{
		{"disabled", "INTEGER NOT NULL DEFAULT 0"},
		{"revision", "INTEGER NOT NULL DEFAULT 0"},
	} {
		if !have[col.name] {
			if _, err := db.Exec(`ALTER TABLE users ADD COLUMN ` + col.name + ` ` + col.def); err != nil {
				return err
			}
		}
	}
	return rows.Err()
}

// Change is what `ferry user set` changes; nil fields stay as they are.
type Change struct {
	Home     *string
	ReadOnly *bool
	Disabled *bool
}

// Update applies ch to user name and counts it as a change of access.
func (s *SQLite) Update(ctx context.Context, name string, ch Change) error {
	sets := []string{"revision = revision + 1"}
	var args []any
	if ch.Home != nil {
		sets, args = append(sets, "home = ?"), append(args, *ch.Home)
	}
	if ch.ReadOnly != nil {
		sets, args = append(sets, "read_only = ?"), append(args, *ch.ReadOnly)
	}
	if ch.Disabled != nil {
		sets, args = append(sets, "disabled = ?"), append(args, *ch.Disabled)
	}
	return s.exec(ctx, "update", name, `UPDATE users SET `+strings.Join(sets, ", ")+` WHERE name = ?`, append(args, name)...)
}

// Revisions maps every user to its revision.
func (s *SQLite) Revisions(ctx context.Context) (map[string]int64, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT name, revision FROM users`)
	if err != nil {
		return nil, fmt.Errorf("store: revisions: %w", err)
	}
	defer rows.Close()
	m := map[string]int64{}
	for rows.Next() {
		var n string
		var r int64
		if err := rows.Scan(&n, &r); err != nil {
			return nil, fmt.Errorf("store: revisions: %w", err)
		}
		m[n] = r
	}
	return m, rows.Err()
}
