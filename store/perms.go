package store

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/ferry-project/ferry/config"
)

// Rule grants Rights (a comma list, parsed by the core) in the virtual
// folder Path of a user's tree and below it.
type Rule struct {
	Path   string
	Rights string
}

// Mount is a virtual folder: the server directory Dir shown at Path of a
// user's tree.
type Mount struct {
	Path     string
	Dir      string
	ReadOnly bool
}

// SetRule sets the rights of user name in folder path, replacing the
// folder's rule if any; it is a change of access (the revision grows).
func (s *DB) SetRule(ctx context.Context, name string, r Rule) error {
	if _, err := s.Get(ctx, name); err != nil {
		return err
	}
	if _, err := s.execContext(ctx, `INSERT INTO user_rules ("user", path, rights) VALUES (?, ?, ?)
		ON CONFLICT ("user", path) DO UPDATE SET rights = excluded.rights`, name, r.Path, r.Rights); err != nil {
		return fmt.Errorf("store: set rule of %s: %w", name, err)
	}
	return s.bump(ctx, name)
}

// DeleteRule removes the rule of user name on folder path.
func (s *DB) DeleteRule(ctx context.Context, name, path string) error {
	if err := s.exec(ctx, "delete rule of", name, `DELETE FROM user_rules WHERE "user" = ? AND path = ?`, name, path); err != nil {
		return fmt.Errorf("%w (no rule on %s)", err, path)
	}
	return s.bump(ctx, name)
}

// AddMount mounts m in the tree of user name, replacing a mount at the
// same path.
func (s *DB) AddMount(ctx context.Context, name string, m Mount) error {
	if _, err := s.Get(ctx, name); err != nil {
		return err
	}
	if _, err := s.execContext(ctx, `INSERT INTO user_mounts ("user", path, dir, read_only) VALUES (?, ?, ?, ?)
		ON CONFLICT ("user", path) DO UPDATE SET dir = excluded.dir, read_only = excluded.read_only`,
		name, m.Path, m.Dir, flag(m.ReadOnly)); err != nil {
		return fmt.Errorf("store: add mount of %s: %w", name, err)
	}
	return s.bump(ctx, name)
}

// DeleteMount removes the mount at path from the tree of user name.
func (s *DB) DeleteMount(ctx context.Context, name, path string) error {
	if err := s.exec(ctx, "delete mount of", name, `DELETE FROM user_mounts WHERE "user" = ? AND path = ?`, name, path); err != nil {
		return fmt.Errorf("%w (no mount at %s)", err, path)
	}
	return s.bump(ctx, name)
}

func (s *DB) bump(ctx context.Context, name string) error {
	return s.exec(ctx, "update", name, `UPDATE users SET revision = revision + 1 WHERE name = ?`, name)
}

// access reads the rules and mounts of u, by path.
func (s *DB) access(ctx context.Context, u *User) error {
	rows, err := s.queryContext(ctx, `SELECT path, rights FROM user_rules WHERE "user" = ? ORDER BY path`, u.Name)
	if err != nil {
		return fmt.Errorf("store: rules of %s: %w", u.Name, err)
	}
	for rows.Next() {
		var r Rule
		if err := rows.Scan(&r.Path, &r.Rights); err != nil {
			rows.Close()
			return fmt.Errorf("store: rules of %s: %w", u.Name, err)
		}
		u.Rules = append(u.Rules, r)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("store: rules of %s: %w", u.Name, err)
	}
	rows, err = s.queryContext(ctx, `SELECT path, dir, read_only FROM user_mounts WHERE "user" = ? ORDER BY path`, u.Name)
	if err != nil {
		return fmt.Errorf("store: mounts of %s: %w", u.Name, err)
	}
	defer rows.Close()
	for rows.Next() {
		var m Mount
		if err := rows.Scan(&m.Path, &m.Dir, &m.ReadOnly); err != nil {
			return fmt.Errorf("store: mounts of %s: %w", u.Name, err)
		}
		u.Mounts = append(u.Mounts, m)
	}
	return rows.Err()
}

// CheckMountDir returns the absolute form of dir, a directory to mount
// in users' trees: it must exist and be a directory, and is refused with
// ErrHomeRefused on the terms of a home (MakeHome) unless allowAny.
func CheckMountDir(cfg *config.Config, dir string, allowAny bool) (string, error) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	if !allowAny {
		if err := homeRefused(cfg, dir); err != nil {
			return "", err
		}
	}
	fi, err := os.Stat(dir)
	if err != nil {
		return "", fmt.Errorf("mount: %w", err)
	}
	if !fi.IsDir() {
		return "", fmt.Errorf("mount: %s is not a directory", dir)
	}
	return dir, nil
}
