-- +goose Up
-- Two-factor web logins (TOTP, RFC 6238). secret is the base32 seed;
-- enabled is 0 while an enrolment waits for its first code; last_step is
-- the newest time step accepted, so a code is never accepted twice;
-- required is the per-user `ferry user set NAME --require-2fa`.
CREATE TABLE IF NOT EXISTS totp (
	"user"    TEXT PRIMARY KEY REFERENCES users(name) ON DELETE CASCADE,
	secret    TEXT NOT NULL DEFAULT '',
	enabled   INTEGER NOT NULL DEFAULT 0,
	required  INTEGER NOT NULL DEFAULT 0,
	last_step BIGINT NOT NULL DEFAULT 0
);
-- Recovery codes: SHA-256 (hex) of each, deleted when used.
CREATE TABLE IF NOT EXISTS totp_recovery (
	"user"    TEXT NOT NULL REFERENCES users(name) ON DELETE CASCADE,
	code_hash TEXT NOT NULL,
	PRIMARY KEY ("user", code_hash)
);

-- +goose Down
DROP TABLE totp_recovery;
DROP TABLE totp;
