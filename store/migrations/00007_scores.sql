-- +goose Up
-- The defender's scores, shared by every node: one row per scored event
-- of an address prefix, and one per failed login of a user name. Rows
-- older than the window are pruned.
CREATE TABLE IF NOT EXISTS defender_hits (
	prefix TEXT NOT NULL,
	at     BIGINT NOT NULL,
	weight INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS defender_hits_prefix ON defender_hits (prefix, at);
CREATE TABLE IF NOT EXISTS login_failures (
	"user" TEXT NOT NULL,
	at     BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS login_failures_user ON login_failures ("user", at);

-- +goose Down
DROP TABLE login_failures;
DROP TABLE defender_hits;
