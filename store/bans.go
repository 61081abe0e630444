package store

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Ban is a client address prefix the defender refuses until Until. Rows
// outlive their ban: Offences counts the bans of the prefix so far, and a
// repeat offender's next ban is longer.
type Ban struct {
	Prefix   string // netip.Prefix text: "192.0.2.7/32", "2001:db8:1:2::/64"
	Until    time.Time
	Reason   string
	Offences int
}

// Active reports whether the ban holds at now.
func (b Ban) Active(now time.Time) bool { return now.Before(b.Until) }

// ErrNotBanned is returned by Unban for a prefix without a ban in force.
var ErrNotBanned = errors.New("not banned")

// PutBan writes b, replacing the prefix's row.
func (s *DB) PutBan(ctx context.Context, b Ban) error {
	_, err := s.execContext(ctx, `INSERT INTO bans (prefix, until, reason, offences) VALUES (?, ?, ?, ?)
		ON CONFLICT(prefix) DO UPDATE SET until = excluded.until, reason = excluded.reason, offences = excluded.offences`,
		b.Prefix, b.Until.UnixMilli(), b.Reason, b.Offences)
	if err != nil {
		return fmt.Errorf("store: ban %s: %w", b.Prefix, err)
	}
	return nil
}

// Unban lifts the ban of prefix at once (its offences are kept); it
// returns ErrNotBanned when the prefix is not banned.
func (s *DB) Unban(ctx context.Context, prefix string) error {
	res, err := s.execContext(ctx, `UPDATE bans SET until = 0 WHERE prefix = ? AND until > ?`, prefix, time.Now().UnixMilli())
	if err != nil {
		return fmt.Errorf("store: unban %s: %w", prefix, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("%s: %w", prefix, ErrNotBanned)
	}
	return nil
}

// Bans returns every prefix's row, the expired ones too.
func (s *DB) Bans(ctx context.Context) ([]Ban, error) {
	rows, err := s.queryContext(ctx, `SELECT prefix, until, reason, offences FROM bans ORDER BY prefix`)
	if err != nil {
		return nil, fmt.Errorf("store: bans: %w", err)
	}
	defer rows.Close()
	var out []Ban
	for rows.Next() {
		var b Ban
		var until int64
		if err := rows.Scan(&b.Prefix, &until, &b.Reason, &b.Offences); err != nil {
			return nil, fmt.Errorf("store: bans: %w", err)
		}
		b.Until = time.UnixMilli(until)
		out = append(out, b)
	}
	return out, rows.Err()
}
