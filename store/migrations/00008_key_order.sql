-- +goose Up
-- Keys are listed in the order they were added (PostgreSQL has no rowid).
ALTER TABLE user_keys ADD COLUMN added BIGINT NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE user_keys DROP COLUMN added;
