-- One-time tokens (email verification, password reset, email change) and
-- the outbox of the mail that carries them.
--
-- A one-time token is stored as the SHA-256 of the raw token, so that the
-- database alone can't produce a working link. A user has at most one
-- token per purpose (a newer one deletes the older ones); using one deletes
-- it, and the retention job deletes the expired ones.
--
-- The outbox holds mail a unit of work queued: it commits with the change
-- it tells of. A claim leases the earliest due mails by moving their
-- next_attempt_at to the end of the lease; a sent mail is deleted, and so
-- is one whose link expired before it could be sent (audited as
-- undeliverable). Both tables belong to a user: deleting the user drops
-- its pending tokens and its mail not sent yet.

-- +goose Up
CREATE TABLE one_time_tokens (
    token_hash BLOB NOT NULL PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    purpose    TEXT NOT NULL CHECK (purpose IN ('verify_email', 'reset_password', 'change_email')),
    email      TEXT NOT NULL, -- the address the token was mailed to
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL
) STRICT;

-- A new token deletes the user's older ones of its purpose; it also serves
-- the ON DELETE CASCADE from users.
CREATE INDEX one_time_tokens_user_id_purpose ON one_time_tokens (user_id, purpose);
-- Retention deletes the expired ones.
CREATE INDEX one_time_tokens_expires_at ON one_time_tokens (expires_at);

CREATE TABLE outbox (
    id              TEXT    NOT NULL PRIMARY KEY,
    user_id         TEXT    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind            TEXT    NOT NULL,
    payload         BLOB    NOT NULL, -- rendered and sealed by package mail
    created_at      TEXT    NOT NULL,
    next_attempt_at TEXT    NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    last_error      TEXT    NOT NULL DEFAULT '',
    expires_at      TEXT    NULL -- its link's expiry: not sent after it; NULL without a link
) STRICT;

-- Claims take the earliest due mails through it.
CREATE INDEX outbox_next_attempt_at ON outbox (next_attempt_at);
-- Serves the ON DELETE CASCADE from users, which would otherwise scan the
-- whole queue for each deleted user.
CREATE INDEX outbox_user_id ON outbox (user_id);

-- +goose Down
DROP TABLE outbox;
DROP TABLE one_time_tokens;
