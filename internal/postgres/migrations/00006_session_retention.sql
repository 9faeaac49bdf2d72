-- Refresh-token successors kept only for the grace interval, sessions listed
-- in pages, and the indexes of the session retention job.
--
-- grace_until ends a retired token's grace interval. It is set at rotation
-- from the database's clock and compared with that clock, never with a time
-- a replica computed. Successors stored before it existed have none: the
-- retention job clears them, in batches, on its first run.

-- +goose Up
ALTER TABLE refresh_tokens ADD COLUMN grace_until timestamptz;

-- The rows that still hold a successor: in steady state the latest retired
-- token of each session refreshed within the grace interval. A rotation
-- clears those of its session's older generations through it, and the
-- retention job scans it for stale ones.
CREATE INDEX refresh_tokens_successor ON refresh_tokens (session_id) WHERE successor IS NOT NULL;

-- The retention job deletes expired refresh tokens, and sessions that
-- expired or were revoked long enough ago.
CREATE INDEX refresh_tokens_expires_at ON refresh_tokens (expires_at);
CREATE INDEX sessions_expires_at ON sessions (expires_at);
CREATE INDEX sessions_revoked_at ON sessions (revoked_at) WHERE revoked_at IS NOT NULL;

-- Session listings page through a user's sessions by id (a UUIDv7, so by
-- creation time), newest first.
CREATE INDEX sessions_user_id_id ON sessions (user_id, id);
DROP INDEX sessions_user_id_created_at;

-- +goose Down
CREATE INDEX sessions_user_id_created_at ON sessions (user_id, created_at);
DROP INDEX sessions_user_id_id;
DROP INDEX sessions_revoked_at;
DROP INDEX sessions_expires_at;
DROP INDEX refresh_tokens_expires_at;
DROP INDEX refresh_tokens_successor;
ALTER TABLE refresh_tokens DROP COLUMN grace_until;
