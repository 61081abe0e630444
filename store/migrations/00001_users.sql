-- +goose Up
-- One schema for SQLite and PostgreSQL: BIGINT times in Unix milliseconds
-- or seconds as named, INTEGER flags (0/1), TEXT everywhere else, so the
-- same statements run on both engines.
CREATE TABLE IF NOT EXISTS users (
	name          TEXT PRIMARY KEY,
	password_hash TEXT NOT NULL DEFAULT '',
	home          TEXT NOT NULL,
	read_only     INTEGER NOT NULL DEFAULT 0,
	created       BIGINT NOT NULL,
	disabled      INTEGER NOT NULL DEFAULT 0,
	revision      BIGINT NOT NULL DEFAULT 0,
	quota_bytes   BIGINT NOT NULL DEFAULT 0,
	quota_files   BIGINT NOT NULL DEFAULT 0,
	used_bytes    BIGINT NOT NULL DEFAULT 0,
	used_files    BIGINT NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS user_keys (
	"user" TEXT NOT NULL REFERENCES users(name) ON DELETE CASCADE,
	key    TEXT NOT NULL,
	PRIMARY KEY ("user", key)
);
CREATE TABLE IF NOT EXISTS bans (
	prefix   TEXT PRIMARY KEY,
	until    BIGINT NOT NULL,
	reason   TEXT NOT NULL DEFAULT '',
	offences INTEGER NOT NULL DEFAULT 1
);

-- +goose Down
DROP TABLE bans;
DROP TABLE user_keys;
DROP TABLE users;
