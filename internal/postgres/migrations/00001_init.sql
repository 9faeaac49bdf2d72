-- Initial schema: users and their roles, sessions with their refresh-token
-- families, and JWT signing keys. Ids that the service mints are uuid (16
-- bytes, not 36 characters of text, in every row and index).

-- +goose Up
CREATE TABLE users (
    id             uuid        NOT NULL,
    email          text        NOT NULL,
    email_verified boolean     NOT NULL DEFAULT false,
    name           text        NOT NULL DEFAULT '',
    password_hash  text        NOT NULL DEFAULT '', -- '' for social-only accounts
    status         text        NOT NULL,
    created_at     timestamptz NOT NULL,
    updated_at     timestamptz NOT NULL,
    last_login_at  timestamptz,
    CONSTRAINT users_pkey PRIMARY KEY (id),
    CONSTRAINT users_email_key UNIQUE (email),
    CONSTRAINT users_status_check CHECK (status IN ('active', 'disabled'))
);

CREATE TABLE roles (
    name        text        NOT NULL,
    description text        NOT NULL DEFAULT '',
    permissions text[]      NOT NULL DEFAULT '{}',
    builtin     boolean     NOT NULL DEFAULT false,
    created_at  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT roles_pkey PRIMARY KEY (name)
);

INSERT INTO roles (name, description, permissions, builtin) VALUES
    ('admin', 'Administrators: every permission.',
     '{users:read,users:write,roles:manage,sessions:manage,audit:read,clients:manage}', true),
    ('user', 'Every account: no administrative permission.', '{}', true);

CREATE TABLE user_roles (
    user_id uuid NOT NULL,
    role    text NOT NULL,
    CONSTRAINT user_roles_pkey PRIMARY KEY (user_id, role),
    CONSTRAINT user_roles_user_id_fkey FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE,
    CONSTRAINT user_roles_role_fkey FOREIGN KEY (role) REFERENCES roles (name)
);

-- Lets a role deletion (a later issue) find its holders without a full scan.
CREATE INDEX user_roles_role ON user_roles (role);

CREATE TABLE sessions (
    id                 uuid        NOT NULL,
    user_id            uuid        NOT NULL,
    created_at         timestamptz NOT NULL,
    last_seen_at       timestamptz NOT NULL,
    expires_at         timestamptz NOT NULL,
    revoked_at         timestamptz,
    ip                 text        NOT NULL DEFAULT '',
    user_agent         text        NOT NULL DEFAULT '',
    refresh_generation bigint      NOT NULL,
    CONSTRAINT sessions_pkey PRIMARY KEY (id),
    CONSTRAINT sessions_user_id_fkey FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE
);

CREATE INDEX sessions_user_id_created_at ON sessions (user_id, created_at);

CREATE TABLE refresh_tokens (
    token_hash bytea       NOT NULL,
    user_id    uuid        NOT NULL,
    session_id uuid        NOT NULL,
    generation bigint      NOT NULL,
    created_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL,
    rotated_at timestamptz,
    successor  bytea,
    CONSTRAINT refresh_tokens_pkey PRIMARY KEY (token_hash),
    CONSTRAINT refresh_tokens_session_id_fkey FOREIGN KEY (session_id)
        REFERENCES sessions (id) ON DELETE CASCADE
);

-- Unique because a session has exactly one token per generation; it also
-- serves the ON DELETE CASCADE from sessions.
CREATE UNIQUE INDEX refresh_tokens_session_id_generation ON refresh_tokens (session_id, generation);

CREATE TABLE signing_keys (
    id           text        NOT NULL,
    algorithm    text        NOT NULL,
    public_key   bytea       NOT NULL,
    private_key  bytea       NOT NULL, -- sealed with the service secret
    created_at   timestamptz NOT NULL,
    activates_at timestamptz NOT NULL,
    CONSTRAINT signing_keys_pkey PRIMARY KEY (id)
);

-- +goose Down
DROP TABLE signing_keys;
DROP TABLE refresh_tokens;
DROP TABLE sessions;
DROP TABLE user_roles;
DROP TABLE roles;
DROP TABLE users;
