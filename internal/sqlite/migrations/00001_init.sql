-- Initial schema: users and their roles, sessions with their refresh-token
-- families, and JWT signing keys. Times are UTC text in the fixed-width form
-- YYYY-MM-DDTHH:MM:SS.ffffffZ, so string order is time order.

-- +goose Up
CREATE TABLE users (
    id             TEXT    NOT NULL PRIMARY KEY,
    email          TEXT    NOT NULL UNIQUE,
    email_verified INTEGER NOT NULL DEFAULT 0 CHECK (email_verified IN (0, 1)),
    name           TEXT    NOT NULL DEFAULT '',
    password_hash  TEXT    NOT NULL DEFAULT '', -- '' for social-only accounts
    status         TEXT    NOT NULL CHECK (status IN ('active', 'disabled')),
    created_at     TEXT    NOT NULL,
    updated_at     TEXT    NOT NULL,
    last_login_at  TEXT
) STRICT;

CREATE TABLE roles (
    name        TEXT    NOT NULL PRIMARY KEY,
    description TEXT    NOT NULL DEFAULT '',
    permissions TEXT    NOT NULL DEFAULT '[]'
                CHECK (json_valid(permissions) AND json_type(permissions) = 'array'),
    builtin     INTEGER NOT NULL DEFAULT 0 CHECK (builtin IN (0, 1)),
    created_at  TEXT    NOT NULL
) STRICT;

INSERT INTO roles (name, description, permissions, builtin, created_at) VALUES
    ('admin', 'Administrators: every permission.',
     '["users:read","users:write","roles:manage","sessions:manage","audit:read","clients:manage"]',
     1, strftime('%Y-%m-%dT%H:%M:%f000Z', 'now')),
    ('user', 'Every account: no administrative permission.', '[]',
     1, strftime('%Y-%m-%dT%H:%M:%f000Z', 'now'));

CREATE TABLE user_roles (
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role    TEXT NOT NULL REFERENCES roles (name),
    PRIMARY KEY (user_id, role)
) STRICT;

-- Lets a role deletion (a later issue) find its holders without a full scan.
CREATE INDEX user_roles_role ON user_roles (role);

CREATE TABLE sessions (
    id                 TEXT    NOT NULL PRIMARY KEY,
    user_id            TEXT    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at         TEXT    NOT NULL,
    last_seen_at       TEXT    NOT NULL,
    expires_at         TEXT    NOT NULL,
    revoked_at         TEXT,
    ip                 TEXT    NOT NULL DEFAULT '',
    user_agent         TEXT    NOT NULL DEFAULT '',
    refresh_generation INTEGER NOT NULL
) STRICT;

CREATE INDEX sessions_user_id_created_at ON sessions (user_id, created_at);

CREATE TABLE refresh_tokens (
    token_hash BLOB    NOT NULL PRIMARY KEY,
    user_id    TEXT    NOT NULL,
    session_id TEXT    NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    generation INTEGER NOT NULL,
    created_at TEXT    NOT NULL,
    expires_at TEXT    NOT NULL,
    rotated_at TEXT,
    successor  BLOB
) STRICT;

-- Unique because a session has exactly one token per generation; it also
-- serves the ON DELETE CASCADE from sessions.
CREATE UNIQUE INDEX refresh_tokens_session_id_generation ON refresh_tokens (session_id, generation);

CREATE TABLE signing_keys (
    id           TEXT NOT NULL PRIMARY KEY,
    algorithm    TEXT NOT NULL,
    public_key   BLOB NOT NULL,
    private_key  BLOB NOT NULL, -- sealed with the service secret
    created_at   TEXT NOT NULL,
    activates_at TEXT NOT NULL
) STRICT;

-- +goose Down
DROP TABLE signing_keys;
DROP TABLE refresh_tokens;
DROP TABLE sessions;
DROP TABLE user_roles;
DROP TABLE roles;
DROP TABLE users;
