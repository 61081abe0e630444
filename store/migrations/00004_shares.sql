-- +goose Up
-- Share links: a token (only its SHA-256, hex, is kept) that lets a
-- visitor without an account download from and/or upload into one path of
-- a user's tree, until it expires, is used up or is revoked. Times are
-- Unix milliseconds; 0 = never / no limit.
CREATE TABLE IF NOT EXISTS shares (
	id            TEXT PRIMARY KEY,
	token_hash    TEXT NOT NULL UNIQUE,
	"user"        TEXT NOT NULL REFERENCES users(name) ON DELETE CASCADE,
	path          TEXT NOT NULL,
	download      INTEGER NOT NULL DEFAULT 0,
	upload        INTEGER NOT NULL DEFAULT 0,
	password_hash TEXT NOT NULL DEFAULT '',
	expires       BIGINT NOT NULL DEFAULT 0,
	max_uses      BIGINT NOT NULL DEFAULT 0,
	uses          BIGINT NOT NULL DEFAULT 0,
	revoked       INTEGER NOT NULL DEFAULT 0,
	created       BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS shares_user ON shares ("user");

-- +goose Down
DROP TABLE shares;
