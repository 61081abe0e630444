package store

import (
	"context"
	"database/sql"
	"fmt"
)

// Quota is a user's limits (0: none) and what the user's files use.
type Quota struct {
	MaxBytes, MaxFiles   int64
	UsedBytes, UsedFiles int64
}

// Quota returns the user's quota and usage.
func (s *SQLite) Quota(ctx context.Context, name string) (Quota, error) {
	var q Quota
	err := s.db.QueryRowContext(ctx, `SELECT quota_bytes, quota_files, used_bytes, used_files FROM users WHERE name = ?`, name).
		Scan(&q.MaxBytes, &q.MaxFiles, &q.UsedBytes, &q.UsedFiles)
	if err == sql.ErrNoRows {
		return q, fmt.Errorf("%w: %s", ErrNotFound, name)
	}
	if err != nil {
		return q, fmt.Errorf("store: quota of %s: %w", name, err)
	}
	return q, nil
}

// SetQuota sets the user's limits (0: none).
func (s *SQLite) SetQuota(ctx context.Context, name string, maxBytes, maxFiles int64) error {
	return s.exec(ctx, "set quota of", name, `UPDATE users SET quota_bytes = ?, quota_files = ? WHERE name = ?`, maxBytes, maxFiles, name)
}

// SetUsage records what the user's files use (ferry user rescan).
func (s *SQLite) SetUsage(ctx context.Context, name string, bytes, files int64) error {
	return s.exec(ctx, "set usage of", name, `UPDATE users SET used_bytes = ?, used_files = ? WHERE name = ?`, bytes, files, name)
}

// AddUsage changes the user's usage by a file operation's effect.
func (s *SQLite) AddUsage(ctx context.Context, name string, bytes, files int64) error {
	return s.exec(ctx, "add usage of", name, `UPDATE users SET used_bytes = max(0, used_bytes + ?), used_files = max(0, used_files + ?) WHERE name = ?`, bytes, files, name)
}
