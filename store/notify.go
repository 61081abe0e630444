package store

import (
	"context"
	"fmt"
	"time"
)

// Notification is one webhook delivery waiting in the queue that every
// node of the store shares.
type Notification struct {
	ID        string // the row: one per event and rule
	Event     string // the event's id, which the receiver dedupes by
	Rule      string // the [[notify]] rule's name
	Body      []byte // the JSON to post
	Created   time.Time
	Attempts  int // failed deliveries so far
	NextAt    time.Time
	LastError string
}

// NotifyPush queues n, due at n.NextAt (now when zero). When the queue
// then holds more than max rows (max > 0), the oldest are deleted, and
// their number is returned.
func (s *DB) NotifyPush(ctx context.Context, n Notification, max int) (dropped int, err error) {
	if n.Created.IsZero() {
		n.Created = time.Now()
	}
	if n.NextAt.IsZero() {
		n.NextAt = n.Created
	}
	if _, err := s.execContext(ctx, `INSERT INTO notify_queue (id, event, rule, body, created, attempts, next_at, lease_until, last_error)
		VALUES (?, ?, ?, ?, ?, 0, ?, 0, '')`, n.ID, n.Event, n.Rule, string(n.Body), n.Created.UnixMilli(), n.NextAt.UnixMilli()); err != nil {
		return 0, fmt.Errorf("store: queue notification: %w", err)
	}
	if max <= 0 {
		return 0, nil
	}
	count, err := s.NotifyPending(ctx)
	if err != nil || count <= max {
		return 0, err
	}
	res, err := s.execContext(ctx, `DELETE FROM notify_queue WHERE id IN
		(SELECT id FROM notify_queue ORDER BY created, id LIMIT ?)`, count-max)
	if err != nil {
		return 0, fmt.Errorf("store: trim notification queue: %w", err)
	}
	d, _ := res.RowsAffected()
	return int(d), nil
}

// NotifyClaim leases up to limit rows that are due at now and not leased
// by anyone, until now+lease, and returns them. A row is claimed by one
// caller only, on one node or many: each is taken by an UPDATE that
// succeeds only while its lease has run out.
func (s *DB) NotifyClaim(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]Notification, error) {
	ms := now.UnixMilli()
	rows, err := s.queryContext(ctx, `SELECT id, event, rule, body, created, attempts, next_at, last_error FROM notify_queue
		WHERE next_at <= ? AND lease_until < ? ORDER BY next_at, created, id LIMIT ?`, ms, ms, limit)
	if err != nil {
		return nil, fmt.Errorf("store: notification queue: %w", err)
	}
	var due []Notification
	for rows.Next() {
		var n Notification
		var body string
		var created, next int64
		if err := rows.Scan(&n.ID, &n.Event, &n.Rule, &body, &created, &n.Attempts, &next, &n.LastError); err != nil {
			rows.Close()
			return nil, fmt.Errorf("store: notification queue: %w", err)
		}
		n.Body, n.Created, n.NextAt = []byte(body), time.UnixMilli(created), time.UnixMilli(next)
		due = append(due, n)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: notification queue: %w", err)
	}
	claimed := due[:0]
	for _, n := range due {
		res, err := s.execContext(ctx, `UPDATE notify_queue SET lease_until = ? WHERE id = ? AND lease_until < ?`,
			now.Add(lease).UnixMilli(), n.ID, ms)
		if err != nil {
			return claimed, fmt.Errorf("store: claim notification: %w", err)
		}
		if k, _ := res.RowsAffected(); k == 1 {
			claimed = append(claimed, n)
		}
	}
	return claimed, nil
}

// NotifyDone deletes a delivered row.
func (s *DB) NotifyDone(ctx context.Context, id string) error {
	if _, err := s.execContext(ctx, `DELETE FROM notify_queue WHERE id = ?`, id); err != nil {
		return fmt.Errorf("store: notification delivered: %w", err)
	}
	return nil
}

// NotifyRetry records a failed delivery of a row: one more attempt, its
// error, the lease released, due again at next.
func (s *DB) NotifyRetry(ctx context.Context, id string, next time.Time, lastError string) error {
	if _, err := s.execContext(ctx, `UPDATE notify_queue SET attempts = attempts + 1, next_at = ?, lease_until = 0, last_error = ? WHERE id = ?`,
		next.UnixMilli(), lastError, id); err != nil {
		return fmt.Errorf("store: notification retry: %w", err)
	}
	return nil
}

// NotifyPending is the number of rows in the queue.
func (s *DB) NotifyPending(ctx context.Context) (int, error) {
	var n int
	if err := s.queryRowContext(ctx, `SELECT count(*) FROM notify_queue`).Scan(&n); err != nil {
		return 0, fmt.Errorf("store: notification queue: %w", err)
	}
	return n, nil
}
