package store

import (
	"context"
	"fmt"
	"strings"
)

// Change is what `ferry user set` changes; nil fields stay as they are.
type Change struct {
	Home     *string
	ReadOnly *bool
	Disabled *bool
}

// Update applies ch to user name and counts it as a change of access.
func (s *DB) Update(ctx context.Context, name string, ch Change) error {
	sets := []string{"revision = revision + 1"}
	var args []any
	if ch.Home != nil {
		sets, args = append(sets, "home = ?"), append(args, *ch.Home)
	}
	if ch.ReadOnly != nil {
		sets, args = append(sets, "read_only = ?"), append(args, flag(*ch.ReadOnly))
	}
	if ch.Disabled != nil {
		sets, args = append(sets, "disabled = ?"), append(args, flag(*ch.Disabled))
	}
	return s.exec(ctx, "update", name, `UPDATE users SET `+strings.Join(sets, ", ")+` WHERE name = ?`, append(args, name)...)
}

// Revisions maps every user to its revision.
func (s *DB) Revisions(ctx context.Context) (map[string]int64, error) {
	rows, err := s.queryContext(ctx, `SELECT name, revision FROM users`)
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
