package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// WebSession is a browser login or an API token, kept in the store so that
// it is valid on every node. Key is the hex SHA-256 of the secret: the
// store never holds a usable cookie or token.
type WebSession struct {
	Key     string
	Kind    string // "web" or "token"
	User    string
	CSRF    string
	Created time.Time
	Seen    time.Time
}

// ErrNoSession is returned by GetSession for an unknown key.
var ErrNoSession = errors.New("no such session")

// PutSession records a new session and drops the kind's sessions last seen
// before idle or created before lifetime, so the table stays bounded by the
// logins of one lifetime.
func (s *DB) PutSession(ctx context.Context, w WebSession, idleBefore, createdBefore time.Time) error {
	if _, err := s.execContext(ctx, `DELETE FROM web_sessions WHERE kind = ? AND (seen < ? OR created < ?)`,
		w.Kind, idleBefore.UnixMilli(), createdBefore.UnixMilli()); err != nil {
		return fmt.Errorf("store: sessions: %w", err)
	}
	if _, err := s.execContext(ctx, `INSERT INTO web_sessions (key, kind, "user", csrf, created, seen) VALUES (?, ?, ?, ?, ?, ?)`,
		w.Key, w.Kind, w.User, w.CSRF, w.Created.UnixMilli(), w.Seen.UnixMilli()); err != nil {
		return fmt.Errorf("store: session of %s: %w", w.User, err)
	}
	return nil
}

// GetSession returns the session of key.
func (s *DB) GetSession(ctx context.Context, key string) (WebSession, error) {
	w := WebSession{Key: key}
	var created, seen int64
	err := s.queryRowContext(ctx, `SELECT kind, "user", csrf, created, seen FROM web_sessions WHERE key = ?`, key).
		Scan(&w.Kind, &w.User, &w.CSRF, &created, &seen)
	if errors.Is(err, sql.ErrNoRows) {
		return w, ErrNoSession
	}
	if err != nil {
		return w, fmt.Errorf("store: session: %w", err)
	}
	w.Created, w.Seen = time.UnixMilli(created), time.UnixMilli(seen)
	return w, nil
}

// TouchSession records that the session of key was used at seen.
func (s *DB) TouchSession(ctx context.Context, key string, seen time.Time) error {
	if _, err := s.execContext(ctx, `UPDATE web_sessions SET seen = ? WHERE key = ?`, seen.UnixMilli(), key); err != nil {
		return fmt.Errorf("store: session: %w", err)
	}
	return nil
}

// DropSession ends the session of key, if any.
func (s *DB) DropSession(ctx context.Context, key string) error {
	if _, err := s.execContext(ctx, `DELETE FROM web_sessions WHERE key = ?`, key); err != nil {
		return fmt.Errorf("store: session: %w", err)
	}
	return nil
}

// DropUserSessions ends every session of user of the kind.
func (s *DB) DropUserSessions(ctx context.Context, kind, user string) error {
	if _, err := s.execContext(ctx, `DELETE FROM web_sessions WHERE kind = ? AND "user" = ?`, kind, user); err != nil {
		return fmt.Errorf("store: sessions of %s: %w", user, err)
	}
	return nil
}

// TicketKeys returns the TLS session-ticket keys, newest first, creating
// the first with newKey when there is none. Every node of a cluster reads
// the same keys, so a ticket issued by one resumes on another.
func (s *DB) TicketKeys(ctx context.Context, now time.Time, rotate time.Duration, newKey func() string) ([]string, error) {
	var id int64
	var secret string
	err := s.queryRowContext(ctx, `SELECT id, secret FROM ticket_keys ORDER BY id DESC LIMIT 1`).Scan(&id, &secret)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("store: ticket keys: %w", err)
	}
	if errors.Is(err, sql.ErrNoRows) || now.Sub(time.UnixMilli(id)) >= rotate {
		// Two nodes rotating at once insert different ids; both keys are
		// kept and the newest is used by all, so nothing breaks.
		if _, err := s.execContext(ctx, `INSERT INTO ticket_keys (id, secret) VALUES (?, ?) ON CONFLICT DO NOTHING`, now.UnixMilli(), newKey()); err != nil {
			return nil, fmt.Errorf("store: ticket keys: %w", err)
		}
		// Keys older than three periods decrypt nothing crypto/tls would
		// still accept.
		if _, err := s.execContext(ctx, `DELETE FROM ticket_keys WHERE id < ?`, now.Add(-3*rotate).UnixMilli()); err != nil {
			return nil, fmt.Errorf("store: ticket keys: %w", err)
		}
	}
	rows, err := s.queryContext(ctx, `SELECT secret FROM ticket_keys ORDER BY id DESC LIMIT 3`)
	if err != nil {
		return nil, fmt.Errorf("store: ticket keys: %w", err)
	}
	defer rows.Close()
	var keys []string
	for rows.Next() {
		var k string
		if err := rows.Scan(&k); err != nil {
			return nil, fmt.Errorf("store: ticket keys: %w", err)
		}
		keys = append(keys, k)
	}
	return keys, rows.Err()
}
