-- +goose Up
-- Web logins and API tokens, shared by every node: key is the SHA-256 of
-- the secret (hex), so the table never holds a usable cookie or token.
CREATE TABLE IF NOT EXISTS web_sessions (
	key      TEXT PRIMARY KEY,
	kind     TEXT NOT NULL,
	"user"   TEXT NOT NULL REFERENCES users(name) ON DELETE CASCADE,
	csrf     TEXT NOT NULL,
	created  BIGINT NOT NULL,
	seen     BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS web_sessions_user ON web_sessions ("user");
-- TLS session-ticket keys (RFC 5077), newest first, so a TLS session made
-- on one node resumes on the next.
CREATE TABLE IF NOT EXISTS ticket_keys (
	id      BIGINT PRIMARY KEY,
	secret  TEXT NOT NULL
);

-- +goose Down
DROP TABLE ticket_keys;
DROP TABLE web_sessions;
