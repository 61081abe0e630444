package store

import (
	"context"
	"fmt"
	"time"
)

// AddHit records an event of weight against prefix at time at and returns
// the prefix's score: the weights of its events since since. Every node
// adds to the same rows, so ten guesses spread over two nodes score ten.
func (s *DB) AddHit(ctx context.Context, prefix string, at time.Time, weight int, since time.Time) (int, error) {
	if _, err := s.execContext(ctx, `INSERT INTO defender_hits (prefix, at, weight) VALUES (?, ?, ?)`, prefix, at.UnixMilli(), weight); err != nil {
		return 0, fmt.Errorf("store: score %s: %w", prefix, err)
	}
	var score int
	if err := s.queryRowContext(ctx, `SELECT COALESCE(SUM(weight), 0) FROM defender_hits WHERE prefix = ? AND at > ?`, prefix, since.UnixMilli()).Scan(&score); err != nil {
		return 0, fmt.Errorf("store: score %s: %w", prefix, err)
	}
	return score, nil
}

// ClearHits forgets the events of prefix (it was just banned).
func (s *DB) ClearHits(ctx context.Context, prefix string) error {
	if _, err := s.execContext(ctx, `DELETE FROM defender_hits WHERE prefix = ?`, prefix); err != nil {
		return fmt.Errorf("store: score %s: %w", prefix, err)
	}
	return nil
}

// AddLoginFailure records a failed login of user at time at and returns
// the user's failures since since, from every address and node.
func (s *DB) AddLoginFailure(ctx context.Context, user string, at, since time.Time) (int, error) {
	if _, err := s.execContext(ctx, `INSERT INTO login_failures ("user", at) VALUES (?, ?)`, user, at.UnixMilli()); err != nil {
		return 0, fmt.Errorf("store: failures of %s: %w", user, err)
	}
	return s.LoginFailures(ctx, user, since)
}

// LoginFailures returns the failed logins of user since since.
func (s *DB) LoginFailures(ctx context.Context, user string, since time.Time) (int, error) {
	var n int
	if err := s.queryRowContext(ctx, `SELECT count(*) FROM login_failures WHERE "user" = ? AND at > ?`, user, since.UnixMilli()).Scan(&n); err != nil {
		return 0, fmt.Errorf("store: failures of %s: %w", user, err)
	}
	return n, nil
}

// PruneScores drops the events and failures older than before.
func (s *DB) PruneScores(ctx context.Context, before time.Time) error {
	for _, table := range []string{"defender_hits", "login_failures"} {
		if _, err := s.execContext(ctx, `DELETE FROM `+table+` WHERE at < ?`, before.UnixMilli()); err != nil {
			return fmt.Errorf("store: prune %s: %w", table, err)
		}
	}
	return nil
}
