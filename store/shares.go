package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Share is a share link: the right to download from and/or upload into
// Path of User's tree without an account. TokenHash is the hex SHA-256 of
// the link's token: the store never holds a usable link.
type Share struct {
	ID           string
	TokenHash    string
	User         string
	Path         string
	Download     bool
	Upload       bool
	PasswordHash string    // "" = no password
	Expires      time.Time // zero = never
	MaxUses      int64     // 0 = no limit
	Uses         int64
	Revoked      bool
	Created      time.Time
}

// ErrNoShare is returned for an unknown share id or token.
var ErrNoShare = errors.New("no such share link")

// ErrShareGone is returned by UseShare for a link that is revoked,
// expired or used up.
var ErrShareGone = errors.New("share link expired, used up or revoked")

// ms stores a time as Unix milliseconds, zero as 0.
func ms(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

func fromMS(v int64) time.Time {
	if v == 0 {
		return time.Time{}
	}
	return time.UnixMilli(v)
}

// AddShare records a new share link of an existing user.
func (s *DB) AddShare(ctx context.Context, sh Share) error {
	if _, err := s.Get(ctx, sh.User); err != nil {
		return err
	}
	if sh.Created.IsZero() {
		sh.Created = time.Now()
	}
	_, err := s.execContext(ctx, `INSERT INTO shares (id, token_hash, "user", path, download, upload, password_hash, expires, max_uses, uses, revoked, created)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 0, 0, ?)`,
		sh.ID, sh.TokenHash, sh.User, sh.Path, flag(sh.Download), flag(sh.Upload), sh.PasswordHash, ms(sh.Expires), sh.MaxUses, ms(sh.Created))
	if err != nil {
		return fmt.Errorf("store: add share of %s: %w", sh.User, err)
	}
	return nil
}

const shareCols = `id, token_hash, "user", path, download, upload, password_hash, expires, max_uses, uses, revoked, created`

func scanShare(sc interface{ Scan(...any) error }) (Share, error) {
	var sh Share
	var expires, created int64
	err := sc.Scan(&sh.ID, &sh.TokenHash, &sh.User, &sh.Path, &sh.Download, &sh.Upload, &sh.PasswordHash,
		&expires, &sh.MaxUses, &sh.Uses, &sh.Revoked, &created)
	sh.Expires, sh.Created = fromMS(expires), fromMS(created)
	return sh, err
}

// ShareByToken returns the share whose token hashes to tokenHash, whatever
// its state (the caller tells the visitor why a link no longer works).
func (s *DB) ShareByToken(ctx context.Context, tokenHash string) (Share, error) {
	sh, err := scanShare(s.queryRowContext(ctx, `SELECT `+shareCols+` FROM shares WHERE token_hash = ?`, tokenHash))
	if errors.Is(err, sql.ErrNoRows) {
		return Share{}, ErrNoShare
	}
	if err != nil {
		return Share{}, fmt.Errorf("store: share: %w", err)
	}
	return sh, nil
}

// Shares lists the share links of user ("" = every user), newest first.
func (s *DB) Shares(ctx context.Context, user string) ([]Share, error) {
	q, args := `SELECT `+shareCols+` FROM shares ORDER BY created DESC, id`, []any{}
	if user != "" {
		q, args = `SELECT `+shareCols+` FROM shares WHERE "user" = ? ORDER BY created DESC, id`, []any{user}
	}
	rows, err := s.queryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("store: shares: %w", err)
	}
	defer rows.Close()
	var out []Share
	for rows.Next() {
		sh, err := scanShare(rows)
		if err != nil {
			return nil, fmt.Errorf("store: shares: %w", err)
		}
		out = append(out, sh)
	}
	return out, rows.Err()
}

// RevokeShare revokes share id; with user set, only if it is user's.
func (s *DB) RevokeShare(ctx context.Context, id, user string) error {
	q, args := `UPDATE shares SET revoked = 1 WHERE id = ?`, []any{id}
	if user != "" {
		q, args = `UPDATE shares SET revoked = 1 WHERE id = ? AND "user" = ?`, []any{id, user}
	}
	res, err := s.execContext(ctx, q, args...)
	if err != nil {
		return fmt.Errorf("store: revoke share %s: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("%w: %s", ErrNoShare, id)
	}
	return nil
}

// UseShare counts one use of share id at now, in one statement, so that
// visitors racing on several nodes cannot pass max_uses; it returns
// ErrShareGone when the link is revoked, expired or used up.
func (s *DB) UseShare(ctx context.Context, id string, now time.Time) error {
	res, err := s.execContext(ctx, `UPDATE shares SET uses = uses + 1
		WHERE id = ? AND revoked = 0 AND (max_uses = 0 OR uses < max_uses) AND (expires = 0 OR expires > ?)`, id, now.UnixMilli())
	if err != nil {
		return fmt.Errorf("store: use share %s: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrShareGone
	}
	return nil
}
