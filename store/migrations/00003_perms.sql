-- +goose Up
-- Per-folder rights: a virtual folder of a user's tree and the rights
-- granted there (a comma list: list, download, upload, overwrite, delete,
-- rename, mkdir; "" grants none). Subfolders inherit; the longest path
-- wins.
CREATE TABLE IF NOT EXISTS user_rules (
	"user"  TEXT NOT NULL REFERENCES users(name) ON DELETE CASCADE,
	path    TEXT NOT NULL,
	rights  TEXT NOT NULL,
	PRIMARY KEY ("user", path)
);
-- Virtual folders: a directory of the server mounted at a path of the
-- user's tree, read_only (0/1) or not.
CREATE TABLE IF NOT EXISTS user_mounts (
	"user"    TEXT NOT NULL REFERENCES users(name) ON DELETE CASCADE,
	path      TEXT NOT NULL,
	dir       TEXT NOT NULL,
	read_only INTEGER NOT NULL DEFAULT 0,
	PRIMARY KEY ("user", path)
);

-- +goose Down
DROP TABLE user_mounts;
DROP TABLE user_rules;
