package store

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/ferry-project/ferry/config"
)

// Open opens the user store that cfg names, creating data_dir (0700) when
// it does not exist. It is the one place that picks the backend: today
// always SQLite in data_dir.
func Open(cfg *config.Config) (Store, error) {
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("data_dir: %w", err)
	}
	st, err := OpenSQLite(cfg.DataDir)
	if err != nil {
		return nil, err
	}
	return st, nil
}

// MakeHome returns the absolute home folder of user name and creates it
// (0750) if needed: dir when given, else data_dir/homes/NAME.
func MakeHome(cfg *config.Config, name, dir string) (string, error) {
	if err := ValidName(name); err != nil {
		return "", err
	}
	if dir == "" {
		dir = filepath.Join(cfg.DataDir, "homes", name)
	}
	dir, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return "", fmt.Errorf("home: %w", err)
	}
	return dir, nil
}
