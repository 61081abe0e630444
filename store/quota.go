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
func (s *DB) Quota(ctx context.Context, name string) (Quota, error) {
	var q Quota
	err := s.queryRowContext(ctx, `SELECT quota_bytes, quota_files, used_bytes, used_files FROM users WHERE name = ?`, name).
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
func (s *DB) SetQuota(ctx context.Context, name string, maxBytes, maxFiles int64) error {
	return s.exec(ctx, "set quota of", name, `UPDATE users SET quota_bytes = ?, quota_files = ? WHERE name = ?`, maxBytes, maxFiles, name)
}

// SetUsage records what the user's files use (ferry user rescan).
func (s *DB) SetUsage(ctx context.Context, name string, bytes, files int64) error {
	return s.exec(ctx, "set usage of", name, `UPDATE users SET used_bytes = ?, used_files = ? WHERE name = ?`, bytes, files, name)
}

// AddUsage changes the user's usage by a file operation's effect.
func (s *DB) AddUsage(ctx context.Context, name string, bytes, files int64) error {
	return s.exec(ctx, "add usage of", name, `UPDATE users SET
		used_bytes = CASE WHEN used_bytes + ? < 0 THEN 0 ELSE used_bytes + ? END,
		used_files = CASE WHEN used_files + ? < 0 THEN 0 ELSE used_files + ? END
		WHERE name = ?`, bytes, bytes, files, files, name)
}
