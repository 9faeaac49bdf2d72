-- Editable roles, the audit log, service clients, and revoked access tokens.

-- +goose Up
-- Roles become editable. Existing rows were never updated, so their
-- updated_at is their created_at rather than the time of this migration.
ALTER TABLE roles ADD COLUMN updated_at timestamptz NOT NULL DEFAULT now();
UPDATE roles SET updated_at = created_at;

-- The audit log. Events outlive what they name: user_id has no foreign key,
-- so deleting a user keeps the events about them (user.deleted included).
-- Reads list newest first by id (a UUIDv7, so by time); the primary key
-- serves the unfiltered listing, scanned backwards.
CREATE TABLE audit_events (
    id         uuid        NOT NULL,
    at         timestamptz NOT NULL,
    type       text        NOT NULL,
    actor_type text        NOT NULL,
    actor_id   text        NOT NULL DEFAULT '', -- a user or client id; '' for system and anonymous actors
    user_id    uuid,                            -- the user the event concerns; NULL when none
    resource   text        NOT NULL DEFAULT '',
    ip         text        NOT NULL DEFAULT '',
    user_agent text        NOT NULL DEFAULT '',
    outcome    text        NOT NULL,
    reason     text        NOT NULL DEFAULT '',
    CONSTRAINT audit_events_pkey PRIMARY KEY (id)
);

-- A user's events are those they caused or that concern them: one keyset
-- index per side, each read newest first and merged by the query.
CREATE INDEX audit_events_actor_id_id ON audit_events (actor_id, id);
CREATE INDEX audit_events_user_id_id ON audit_events (user_id, id) WHERE user_id IS NOT NULL;
CREATE INDEX audit_events_type_id ON audit_events (type, id);
-- Retention deletes by time.
CREATE INDEX audit_events_at ON audit_events (at);

-- Service clients (client_credentials grant). Only the SHA-256 of the secret
-- is kept. created_by has no foreign key: a client outlives the admin who
-- created it.
CREATE TABLE clients (
    id          uuid        NOT NULL,
    name        text        NOT NULL,
    secret_hash bytea       NOT NULL,
    scopes      text[]      NOT NULL DEFAULT '{}',
    created_by  text        NOT NULL DEFAULT '',
    created_at  timestamptz NOT NULL,
    CONSTRAINT clients_pkey PRIMARY KEY (id)
);

-- Access tokens revoked before they expire (RFC 7009). A record is useless
-- once its token has expired; revocations purge such records as they go.
CREATE TABLE revoked_tokens (
    jti        text        NOT NULL,
    expires_at timestamptz NOT NULL,
    CONSTRAINT revoked_tokens_pkey PRIMARY KEY (jti)
);

CREATE INDEX revoked_tokens_expires_at ON revoked_tokens (expires_at);

-- +goose Down
DROP TABLE revoked_tokens;
DROP TABLE clients;
DROP TABLE audit_events;
ALTER TABLE roles DROP COLUMN updated_at;
