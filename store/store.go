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
	Rules        []Rule   // per-folder rights, by path (SetRule)
	Mounts       []Mount  // virtual folders, by path (AddMount)
	Created      time.Time
}

// ErrNotFound is returned for a user that does not exist.
var ErrNotFound = errors.New("no such user")

// ErrExists is returned when adding a user whose name is taken.
var ErrExists = errors.New("user already exists")

// Store is the user database and the defender's ban list.
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
	// Per-folder rights and virtual folders (perms.go); each change
	// grows the user's revision.
	SetRule(ctx context.Context, name string, r Rule) error
	DeleteRule(ctx context.Context, name, path string) error
	AddMount(ctx context.Context, name string, m Mount) error
	DeleteMount(ctx context.Context, name, path string) error
	// Bans of the defender, shared by every process on the store.
	PutBan(ctx context.Context, b Ban) error
	Unban(ctx context.Context, prefix string) error
	Bans(ctx context.Context) ([]Ban, error)
	// Quotas and usage per user.
	Quota(ctx context.Context, name string) (Quota, error)
	SetQuota(ctx context.Context, name string, maxBytes, maxFiles int64) error
	SetUsage(ctx context.Context, name string, bytes, files int64) error
	AddUsage(ctx context.Context, name string, bytes, files int64) error
	// Web logins and API tokens, valid on every node of the store.
	PutSession(ctx context.Context, w WebSession, idleBefore, createdBefore time.Time) error
	GetSession(ctx context.Context, key string) (WebSession, error)
	TouchSession(ctx context.Context, key string, seen time.Time) error
	DropSession(ctx context.Context, key string) error
	DropUserSessions(ctx context.Context, kind, user string) error
	// The defender's scores and failed logins per user, from every node.
	AddHit(ctx context.Context, prefix string, at time.Time, weight int, since time.Time) (int, error)
	ClearHits(ctx context.Context, prefix string) error
	AddLoginFailure(ctx context.Context, user string, at, since time.Time) (int, error)
	LoginFailures(ctx context.Context, user string, since time.Time) (int, error)
	PruneScores(ctx context.Context, before time.Time) error
	// TLS session-ticket keys shared by every node.
	TicketKeys(ctx context.Context, now time.Time, rotate time.Duration, newKey func() string) ([]string, error)
	// Share links (shares.go).
	AddShare(ctx context.Context, sh Share) error
	ShareByToken(ctx context.Context, tokenHash string) (Share, error)
	Shares(ctx context.Context, user string) ([]Share, error)
	RevokeShare(ctx context.Context, id, user string) error
	UseShare(ctx context.Context, id string, now time.Time) error
	// Second factor of web logins (totp.go).
	TOTP(ctx context.Context, user string) (TOTP, error)
	SetRequire2FA(ctx context.Context, user string, required bool) error
	StartTOTP(ctx context.Context, user, secret string) error
	EnableTOTP(ctx context.Context, user string, step int64, recoveryHashes []string) error
	DisableTOTP(ctx context.Context, user string) error
	UseTOTPStep(ctx context.Context, user string, step int64) (bool, error)
	UseRecoveryCode(ctx context.Context, user, codeHash string) (bool, error)
	RecoveryCodesLeft(ctx context.Context, user string) (int, error)
	// The notifications' webhook queue (store/notify.go).
	NotifyPush(ctx context.Context, n Notification, max int) (dropped int, err error)
	NotifyClaim(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]Notification, error)
	NotifyDone(ctx context.Context, id string) error
	NotifyRetry(ctx context.Context, id string, next time.Time, lastError string) error
	NotifyPending(ctx context.Context) (int, error)
	// Ping reports whether the database answers.
	Ping(ctx context.Context) error
	// Engine names the backend: "sqlite" or "postgres".
	Engine() string
	Close() error
}

// OpenSQLite opens (creating if needed) users.db in dataDir, the
// embedded store of a single node.
func OpenSQLite(dataDir string) (*DB, error) {
	path := filepath.Join(dataDir, "users.db")
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(5000)&_pragma=journal_mode(WAL)&_pragma=foreign_keys(1)")
	if err != nil {
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	if err := migrate(context.Background(), db, false); err != nil {
		db.Close()
		return nil, fmt.Errorf("store: %s: %w", path, err)
	}
	return &DB{db: db}, nil
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
func (s *DB) Add(ctx context.Context, u User) error {
	if err := ValidName(u.Name); err != nil {
		return err
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("store: %w", err)
	}
	defer tx.Rollback()
	var n int
	if err := tx.QueryRowContext(ctx, s.rebind(`SELECT count(*) FROM users WHERE name = ?`), u.Name).Scan(&n); err != nil {
		return fmt.Errorf("store: %w", err)
	}
	if n > 0 {
		return fmt.Errorf("%w: %s", ErrExists, u.Name)
	}
	if _, err := tx.ExecContext(ctx, s.rebind(`INSERT INTO users (name, password_hash, home, read_only, disabled, created) VALUES (?, ?, ?, ?, ?, ?)`),
		u.Name, u.PasswordHash, u.Home, flag(u.ReadOnly), flag(u.Disabled), time.Now().Unix()); err != nil {
		return fmt.Errorf("store: add %s: %w", u.Name, err)
	}
	now := time.Now().UnixNano()
	for i, k := range u.Keys {
		if _, err := tx.ExecContext(ctx, s.rebind(`INSERT INTO user_keys ("user", key, added) VALUES (?, ?, ?) ON CONFLICT DO NOTHING`), u.Name, k, now+int64(i)); err != nil {
			return fmt.Errorf("store: add key for %s: %w", u.Name, err)
		}
	}
	return tx.Commit()
}

// Get returns one user with its keys.
func (s *DB) Get(ctx context.Context, name string) (User, error) {
	u := User{Name: name}
	var created int64
	err := s.queryRowContext(ctx, `SELECT password_hash, home, read_only, disabled, created FROM users WHERE name = ?`, name).
		Scan(&u.PasswordHash, &u.Home, &u.ReadOnly, &u.Disabled, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return User{}, fmt.Errorf("%w: %s", ErrNotFound, name)
	}
	if err != nil {
		return User{}, fmt.Errorf("store: get %s: %w", name, err)
	}
	u.Created = time.Unix(created, 0)
	if u.Keys, err = s.keys(ctx, name); err != nil {
		return User{}, err
	}
	return u, s.access(ctx, &u)
}

func (s *DB) keys(ctx context.Context, name string) ([]string, error) {
	rows, err := s.queryContext(ctx, `SELECT key FROM user_keys WHERE "user" = ? ORDER BY added, key`, name)
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
func (s *DB) List(ctx context.Context) ([]User, error) {
	rows, err := s.queryContext(ctx, `SELECT name FROM users ORDER BY name`)
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

// Delete removes a user and its keys; the home directory is left alone.
func (s *DB) Delete(ctx context.Context, name string) error {
	return s.exec(ctx, "delete", name, `DELETE FROM users WHERE name = ?`, name)
}

// SetPassword replaces a user's password hash.
func (s *DB) SetPassword(ctx context.Context, name, hash string) error {
	return s.exec(ctx, "set password of", name, `UPDATE users SET password_hash = ?, revision = revision + 1 WHERE name = ?`, hash, name)
}

// AddKey adds an authorized_keys line to a user.
func (s *DB) AddKey(ctx context.Context, name, key string) error {
	if _, err := s.Get(ctx, name); err != nil {
		return err
	}
	_, err := s.execContext(ctx, `INSERT INTO user_keys ("user", key, added) VALUES (?, ?, ?) ON CONFLICT DO NOTHING`, name, key, time.Now().UnixNano())
	if err != nil {
		return fmt.Errorf("store: add key for %s: %w", name, err)
	}
	return nil
}

// DeleteKey removes an authorized_keys line from a user.
func (s *DB) DeleteKey(ctx context.Context, name, key string) error {
	if err := s.exec(ctx, "delete key of", name, `DELETE FROM user_keys WHERE "user" = ? AND key = ?`, name, key); err != nil {
		return err
	}
	return s.exec(ctx, "delete key of", name, `UPDATE users SET revision = revision + 1 WHERE name = ?`, name)
}
