-- Editable roles, the audit log, service clients, and revoked access tokens.
-- Ids are canonical (lower-case) UUID text, whose string order is the order
-- of the UUIDs' bytes, so UUIDv7 ids sort by time here as they do in Go.

-- +goose Up
-- Roles become editable. ADD COLUMN needs a constant default; every insert
-- sets updated_at, and the existing rows, never updated, get their
-- created_at.
ALTER TABLE roles ADD COLUMN updated_at TEXT NOT NULL DEFAULT '';
UPDATE roles SET updated_at = created_at;

-- The audit log. Events outlive what they name: user_id has no foreign key,
-- so deleting a user keeps the events about them (user.deleted included).
-- Reads list newest first by id (a UUIDv7, so by time); the primary key's
-- index serves the unfiltered listing, read backwards.
CREATE TABLE audit_events (
    id         TEXT NOT NULL PRIMARY KEY,
    at         TEXT NOT NULL,
    type       TEXT NOT NULL,
    actor_type TEXT NOT NULL,
    actor_id   TEXT NOT NULL DEFAULT '', -- a user or client id; '' for system and anonymous actors
    user_id    TEXT,                     -- the user the event concerns; NULL when none
    resource   TEXT NOT NULL DEFAULT '',
    ip         TEXT NOT NULL DEFAULT '',
    user_agent TEXT NOT NULL DEFAULT '',
    outcome    TEXT NOT NULL,
    reason     TEXT NOT NULL DEFAULT ''
) STRICT;

-- A user's events are those they caused or that concern them: one keyset
-- index per side, each read newest first by its half of the query.
CREATE INDEX audit_events_actor_id_id ON audit_events (actor_id, id);
CREATE INDEX audit_events_user_id_id ON audit_events (user_id, id) WHERE user_id IS NOT NULL;
CREATE INDEX audit_events_type_id ON audit_events (type, id);
-- Retention deletes by time.
CREATE INDEX audit_events_at ON audit_events (at);

-- Service clients (client_credentials grant). Only the SHA-256 of the secret
-- is kept. created_by has no foreign key: a client outlives the admin who
-- created it. scopes is a JSON array of strings, like roles.permissions.
CREATE TABLE clients (
    id          TEXT NOT NULL PRIMARY KEY,
    name        TEXT NOT NULL,
    secret_hash BLOB NOT NULL,
    scopes      TEXT NOT NULL DEFAULT '[]'
                CHECK (json_valid(scopes) AND json_type(scopes) = 'array'),
    created_by  TEXT NOT NULL DEFAULT '',
    created_at  TEXT NOT NULL
) STRICT;

-- Access tokens revoked before they expire (RFC 7009). A record is useless
-- once its token has expired; revocations purge such records as they go.
CREATE TABLE revoked_tokens (
    jti        TEXT NOT NULL PRIMARY KEY,
    expires_at TEXT NOT NULL
) STRICT;

CREATE INDEX revoked_tokens_expires_at ON revoked_tokens (expires_at);

-- +goose Down
DROP TABLE revoked_tokens;
DROP TABLE clients;
DROP TABLE audit_events;
ALTER TABLE roles DROP COLUMN updated_at;
