-- Social sign-in: the identities that link a user to accounts at
-- providers, the sign-ins in flight between start and callback, and the
-- one-time codes a callback hands the app.
--
-- An identity is found again by (provider, subject), the provider's stable
-- id of the account, never by email; a user has at most one identity per
-- provider. Writers run one at a time, so the check that an unlink leaves
-- the user a way to sign in holds under concurrency as it is.
--
-- A state and a code are stored as the SHA-256 of the raw value, so that
-- the database alone can't produce a working one; consuming deletes it,
-- and the retention job deletes the expired ones. A state belongs to no
-- user yet; identities and codes belong to their user: deleting the user
-- drops them.

-- +goose Up
CREATE TABLE identities (
    user_id        TEXT    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    provider       TEXT    NOT NULL,
    subject        TEXT    NOT NULL,
    email          TEXT    NOT NULL, -- as the provider gave it at the last sign-in
    email_verified INTEGER NOT NULL CHECK (email_verified IN (0, 1)),
    created_at     TEXT    NOT NULL,
    last_used_at   TEXT    NOT NULL,
    PRIMARY KEY (provider, subject),
    UNIQUE (user_id, provider) -- also serves the user's listing and the ON DELETE CASCADE
) STRICT;

CREATE TABLE oauth_states (
    state_hash   BLOB NOT NULL PRIMARY KEY,
    provider     TEXT NOT NULL,
    verifier     TEXT NOT NULL, -- PKCE verifier towards the provider
    nonce        TEXT NOT NULL,
    redirect_to  TEXT NOT NULL,
    challenge    TEXT NOT NULL, -- the app's S256 code_challenge; '' for none
    browser_hash BLOB NOT NULL, -- SHA-256 of the browser-binding cookie
    created_at   TEXT NOT NULL,
    expires_at   TEXT NOT NULL
) STRICT;

-- Retention deletes the expired ones.
CREATE INDEX oauth_states_expires_at ON oauth_states (expires_at);

CREATE TABLE oauth_codes (
    code_hash  BLOB NOT NULL PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    provider   TEXT NOT NULL,
    challenge  TEXT NOT NULL, -- the app's S256 code_challenge; '' for none
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL
) STRICT;

-- Retention deletes the expired ones.
CREATE INDEX oauth_codes_expires_at ON oauth_codes (expires_at);
-- Serves the ON DELETE CASCADE from users.
CREATE INDEX oauth_codes_user_id ON oauth_codes (user_id);

-- +goose Down
DROP TABLE oauth_codes;
DROP TABLE oauth_states;
DROP TABLE identities;
