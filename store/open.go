package store

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/ferry-project/ferry/config"
	"github.com/ferry-project/ferry/vfs/s3fs"
)

// Open opens the user store that cfg names, creating data_dir (0700) when
// it does not exist. It is the one place that picks the backend: the
// PostgreSQL database of `store` when set, else SQLite in data_dir.
func Open(cfg *config.Config) (Store, error) {
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("data_dir: %w", err)
	}
	if cfg.Store != "" {
		return OpenPostgres(context.Background(), cfg.Store)
	}
	st, err := OpenSQLite(cfg.DataDir)
	if err != nil {
		return nil, err
	}
	// The database holds password hashes: readable by ferry alone, even
	// when data_dir already existed with looser permissions. SQLite creates
	// its files under the umask (0644 by default).
	for _, suffix := range []string{"", "-wal", "-shm"} {
		if err := os.Chmod(Location(cfg)+suffix, 0o600); err != nil && !errors.Is(err, fs.ErrNotExist) {
			st.Close()
			return nil, fmt.Errorf("store: %w", err)
		}
	}
	return st, nil
}

// Location names the database that Open opens for cfg, for messages that
// tell an administrator which one was written (a PostgreSQL URL without
// its password).
func Location(cfg *config.Config) string {
	if cfg.Store != "" {
		if u, err := url.Parse(cfg.Store); err == nil {
			return u.Redacted()
		}
		return "postgres"
	}
	abs, err := filepath.Abs(filepath.Join(cfg.DataDir, "users.db"))
	if err != nil {
		return filepath.Join(cfg.DataDir, "users.db")
	}
	return abs
}

// ErrHomeRefused is returned by MakeHome for a home that would give its
// user the whole machine or ferry's own state.
var ErrHomeRefused = errors.New("home refused")

// MakeHome returns the absolute home folder of user name and creates it
// (0750) if needed: dir when given, else data_dir/homes/NAME; an s3://
// URL (s3fs.Parse) is a home on object storage, kept as it is. A home of
// "/" or one that contains data_dir (the user database, host keys and
// certificate keys) is refused with ErrHomeRefused unless allowAny: a user
// added with --home / could read /etc/shadow.
func MakeHome(cfg *config.Config, name, dir string, allowAny bool) (string, error) {
	if err := ValidName(name); err != nil {
		return "", err
	}
	if s3fs.IsURL(dir) { // object storage: nothing to create on this disk
		if _, err := s3fs.Parse(dir); err != nil {
			return "", err
		}
		return dir, nil
	}
	if dir == "" {
		dir = filepath.Join(cfg.DataDir, "homes", name)
	}
	dir, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	if !allowAny {
		if err := homeRefused(cfg, dir); err != nil {
			return "", err
		}
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return "", fmt.Errorf("home: %w", err)
	}
	return dir, nil
}

// homeRefused refuses an absolute dir that is the root of the file system
// or contains data_dir, as a home or a mounted folder.
func homeRefused(cfg *config.Config, dir string) error {
	data, err := filepath.Abs(cfg.DataDir)
	if err != nil {
		return err
	}
	switch rel, err := filepath.Rel(dir, data); {
	case filepath.Dir(dir) == dir:
		return fmt.Errorf("%w: %s is the root of the file system (--allow-any-home to insist)", ErrHomeRefused, dir)
	case err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)):
		return fmt.Errorf("%w: %s contains data_dir %s (--allow-any-home to insist)", ErrHomeRefused, dir, data)
	}
	return nil
}
