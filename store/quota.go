package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
)

// Quota is a user's limits (0: none) and what the user's files use.
type Quota struct {
	MaxBytes, MaxFiles   int64
	UsedBytes, UsedFiles int64
}

// quotaColumns are added to users.db files made before quotas existed.
var quotaColumns = []string{"quota_bytes", "quota_files", "used_bytes", "used_files"}

// migrateQuota adds the quota columns to an older users table.
func migrateQuota(db *sql.DB) error {
	for _, c := range quotaColumns {
		_, err := db.Exec(`ALTER TABLE users ADD COLUMN ` + c + ` INTEGER NOT NULL DEFAULT 0`)
		if err != nil && !strings.Contains(err.Error(), "duplicate column") {
			return err
		}
	}
	return nil
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
