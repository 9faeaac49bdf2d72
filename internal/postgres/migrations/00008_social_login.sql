-- Social sign-in: the identities that link a user to accounts at
-- providers, the sign-ins in flight between start and callback, and the
-- one-time codes a callback hands the app.
--
-- An identity is found again by (provider, subject), the provider's stable
-- id of the account, never by email; a user has at most one identity per
-- provider. Unlinking takes the user's row lock first, so that of two
-- concurrent unlinks of a password-less user's last two identities one
-- sees the other's and is refused.
--
-- A state and a code are stored as the SHA-256 of the raw value, so that
-- the database alone can't produce a working one; consuming deletes it,
-- and the retention job deletes the expired ones. A state belongs to no
-- user yet; identities and codes belong to their user: deleting the user
-- drops them.

-- +goose Up
CREATE TABLE identities (
    user_id        uuid        NOT NULL,
    provider       text        NOT NULL,
    subject        text        NOT NULL,
    email          text        NOT NULL, -- as the provider gave it at the last sign-in
    email_verified boolean     NOT NULL,
    created_at     timestamptz NOT NULL,
    last_used_at   timestamptz NOT NULL,
    CONSTRAINT identities_pkey PRIMARY KEY (provider, subject),
    CONSTRAINT identities_user_id_provider_key UNIQUE (user_id, provider),
    CONSTRAINT identities_user_id_fkey FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE
);
-- identities_user_id_provider_key serves the user's listing, its lookups by
-- provider and the ON DELETE CASCADE from users.

CREATE TABLE oauth_states (
    state_hash   bytea       NOT NULL,
    provider     text        NOT NULL,
    verifier     text        NOT NULL, -- PKCE verifier towards the provider
    nonce        text        NOT NULL,
    redirect_to  text        NOT NULL,
    challenge    text        NOT NULL, -- the app's S256 code_challenge; '' for none
    browser_hash bytea       NOT NULL, -- SHA-256 of the browser-binding cookie
    created_at   timestamptz NOT NULL,
    expires_at   timestamptz NOT NULL,
    CONSTRAINT oauth_states_pkey PRIMARY KEY (state_hash)
);

-- Retention deletes the expired ones.
CREATE INDEX oauth_states_expires_at ON oauth_states (expires_at);

CREATE TABLE oauth_codes (
    code_hash  bytea       NOT NULL,
    user_id    uuid        NOT NULL,
    provider   text        NOT NULL,
    challenge  text        NOT NULL, -- the app's S256 code_challenge; '' for none
    created_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL,
    CONSTRAINT oauth_codes_pkey PRIMARY KEY (code_hash),
    CONSTRAINT oauth_codes_user_id_fkey FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE
);

-- Retention deletes the expired ones.
CREATE INDEX oauth_codes_expires_at ON oauth_codes (expires_at);
-- Serves the ON DELETE CASCADE from users.
CREATE INDEX oauth_codes_user_id ON oauth_codes (user_id);

-- +goose Down
DROP TABLE oauth_codes;
DROP TABLE oauth_states;
DROP TABLE identities;
