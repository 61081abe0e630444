package config

import (
	_ "embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// template is the commented configuration that `ferry init` writes: every
// key with its default (TestTemplate keeps it so).
//
//go:embed ferry.toml
var template []byte

// ErrExists is returned by Init when the configuration file exists.
var ErrExists = errors.New("already exists; ferry init never overwrites")

// Init writes the commented default configuration into dir as ferry.toml
// and creates its data_dir (0700) beside it, and returns the file's path.
func Init(dir string) (string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	path, err := filepath.Abs(filepath.Join(dir, "ferry.toml"))
	if err != nil {
		return "", err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if errors.Is(err, fs.ErrExist) {
		return "", fmt.Errorf("%s %w", path, ErrExists)
	}
	if err != nil {
		return "", err
	}
	_, err = f.Write(template)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
		return "", err
	}
	c, err := Load(path)
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(c.DataDir, 0o700); err != nil {
		return "", fmt.Errorf("data_dir: %w", err)
	}
	return path, nil
}
