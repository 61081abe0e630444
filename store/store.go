package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

// User is one account. PasswordHash is empty for a key-only user.
type User struct {
	Name         string
	PasswordHash string
	Home         string
	ReadOnly     bool
	Disabled     bool     // refused at login in every protocol
	Keys         []string // authorized_keys lines
	Created      time.Time
}

// ErrNotFound is returned for a user that does not exist.
var ErrNotFound = errors.New("no such user")

// ErrExists is returned when adding a user whose name is taken.
var ErrExists = errors.New("user already exists")

// Store is the user database.
type Store interface {
	Add(ctx context.Context, u User) error
	Get(ctx context.Context, name string) (User, error)
	List(ctx context.Context) ([]User, error)
	Delete(ctx context.Context, name string) error
	SetPassword(ctx context.Context, name, hash string) error
	// Update changes what ch sets of a user.
	Update(ctx context.Context, name string, ch Change) error
	// Revisions maps every user to a number that grows with each change
	// to the user's credentials or access: a running server compares them
	// to end the sessions of changed and deleted users.
	Revisions(ctx context.Context) (map[string]int64, error)
	AddKey(ctx context.Context, name, key string) error
	DeleteKey(ctx context.Context, name, key string) error
	Close() error
}

// SQLite is the embedded store.
type SQLite struct{ db *sql.DB }

// OpenSQLite opens (creating if needed) users.db in dataDir.
func OpenSQLite(dataDir string) (*SQLite, error) {
	path := filepath.Join(dataDir, "users.db")
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(5000)&_pragma=journal_mode(WAL)&_pragma=foreign_keys(1)")
	if err != nil {
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	const schema = `
CREATE TABLE IF NOT EXISTS users (
	name          TEXT PRIMARY KEY,
	password_hash TEXT NOT NULL DEFAULT '',
	home          TEXT NOT NULL,
	read_only     INTEGER NOT NULL DEFAULT 0,
	created       INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS user_keys (
	user TEXT NOT NULL REFERENCES users(name) ON DELETE CASCADE,
	key  TEXT NOT NULL,
	PRIMARY KEY (user, key)
);`
	if _, err := db.Exec(schema); err != nil {
		db.Close()
		return nil, fmt.Errorf("store: init %s: %w", path, err)
	}
	if err := migrateUsers(db); err != nil {
		db.Close()
		return nil, fmt.Errorf("store: migrate %s: %w", path, err)
	}
	return &SQLite{db: db}, nil
}

// ValidName reports whether a user name is acceptable: 1-64 characters of
// letters, digits, '.', '_', '-' and '@', not starting with '-' or '.'.
func ValidName(name string) error {
	if name == "" || len(name) > 64 {
		return fmt.Errorf("user name must be 1-64 characters")
	}
	if name[0] == '-' || name[0] == '.' {
		return fmt.Errorf("user name %q must not start with %q", name, name[0])
	}
	for _, r := range name {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("._-@", r)) {
			return fmt.Errorf("user name %q: only letters, digits and . _ - @ are allowed", name)
		}
	}
	return nil
}

// Add inserts a new user with its keys.
func (s *SQLite) Add(ctx context.Context, u User) error {
	if err := ValidName(u.Name); err != nil {
		return err
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("store: %w", err)
	}
	defer tx.Rollback()
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM users WHERE name = ?`, u.Name).Scan(&n); err != nil {
		return fmt.Errorf("store: %w", err)
	}
	if n > 0 {
		return fmt.Errorf("%w: %s", ErrExists, u.Name)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO users (name, password_hash, home, read_only, created) VALUES (?, ?, ?, ?, ?)`,
		u.Name, u.PasswordHash, u.Home, u.ReadOnly, time.Now().Unix()); err != nil {
		return fmt.Errorf("store: add %s: %w", u.Name, err)
	}
	for _, k := range u.Keys {
		if _, err := tx.ExecContext(ctx, `INSERT OR IGNORE INTO user_keys (user, key) VALUES (?, ?)`, u.Name, k); err != nil {
			return fmt.Errorf("store: add key for %s: %w", u.Name, err)
		}
	}
	return tx.Commit()
}

// Get returns one user with its keys.
func (s *SQLite) Get(ctx context.Context, name string) (User, error) {
	u := User{Name: name}
	var created int64
	err := s.db.QueryRowContext(ctx, `SELECT password_hash, home, read_only, disabled, created FROM users WHERE name = ?`, name).
		Scan(&u.PasswordHash, &u.Home, &u.ReadOnly, &u.Disabled, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return User{}, fmt.Errorf("%w: %s", ErrNotFound, name)
	}
	if err != nil {
		return User{}, fmt.Errorf("store: get %s: %w", name, err)
	}
	u.Created = time.Unix(created, 0)
	u.Keys, err = s.keys(ctx, name)
	return u, err
}

func (s *SQLite) keys(ctx context.Context, name string) ([]string, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT key FROM user_keys WHERE user = ? ORDER BY rowid`, name)
	if err != nil {
		return nil, fmt.Errorf("store: keys of %s: %w", name, err)
	}
	defer rows.Close()
	var keys []string
	for rows.Next() {
		var k string
		if err := rows.Scan(&k); err != nil {
			return nil, fmt.Errorf("store: keys of %s: %w", name, err)
		}
		keys = append(keys, k)
	}
	return keys, rows.Err()
}

// List returns every user, by name.
func (s *SQLite) List(ctx context.Context) ([]User, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT name FROM users ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("store: list: %w", err)
	}
	var names []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			rows.Close()
			return nil, fmt.Errorf("store: list: %w", err)
		}
		names = append(names, n)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: list: %w", err)
	}
	users := make([]User, 0, len(names))
	for _, n := range names {
		u, err := s.Get(ctx, n)
		if err != nil {
			return nil, err
		}
		users = append(users, u)
	}
	return users, nil
}

func (s *SQLite) exec(ctx context.Context, what, name, query string, args ...any) error {
	res, err := s.db.ExecContext(ctx, query, args...)
	if err != nil {
		return fmt.Errorf("store: %s %s: %w", what, name, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("%w: %s", ErrNotFound, name)
	}
	return nil
}

// Delete removes a user and its keys; the home directory is left alone.
func (s *SQLite) Delete(ctx context.Context, name string) error {
	return s.exec(ctx, "delete", name, `DELETE FROM users WHERE name = ?`, name)
}

// SetPassword replaces a user's password hash.
func (s *SQLite) SetPassword(ctx context.Context, name, hash string) error {
	return s.exec(ctx, "set password of", name, `UPDATE users SET password_hash = ?, revision = revision + 1 WHERE name = ?`, hash, name)
}

// AddKey adds an authorized_keys line to a user.
func (s *SQLite) AddKey(ctx context.Context, name, key string) error {
	if _, err := s.Get(ctx, name); err != nil {
		return err
	}
	_, err := s.db.ExecContext(ctx, `INSERT OR IGNORE INTO user_keys (user, key) VALUES (?, ?)`, name, key)
	if err != nil {
		return fmt.Errorf("store: add key for %s: %w", name, err)
	}
	return nil
}

// DeleteKey removes an authorized_keys line from a user.
func (s *SQLite) DeleteKey(ctx context.Context, name, key string) error {
	if err := s.exec(ctx, "delete key of", name, `DELETE FROM user_keys WHERE user = ? AND key = ?`, name, key); err != nil {
		return err
	}
	return s.exec(ctx, "delete key of", name, `UPDATE users SET revision = revision + 1 WHERE name = ?`, name)
}

// Close closes the database.
func (s *SQLite) Close() error { return s.db.Close() }
