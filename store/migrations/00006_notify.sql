-- +goose Up
-- The notifications' delivery queue, shared by every node: one row per
-- webhook still to deliver (an event matched by a rule). A node claims a
-- row by moving lease_until past now before it posts it, so two nodes
-- never post the same row at once; a delivered row is deleted; a failed
-- one waits until next_at. Times are Unix milliseconds.
CREATE TABLE IF NOT EXISTS notify_queue (
	id          TEXT PRIMARY KEY,
	event       TEXT NOT NULL,
	rule        TEXT NOT NULL,
	body        TEXT NOT NULL,
	created     BIGINT NOT NULL,
	attempts    INTEGER NOT NULL DEFAULT 0,
	next_at     BIGINT NOT NULL,
	lease_until BIGINT NOT NULL DEFAULT 0,
	last_error  TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS notify_queue_next ON notify_queue (next_at);
CREATE INDEX IF NOT EXISTS notify_queue_created ON notify_queue (created);

-- +goose Down
DROP TABLE notify_queue;
