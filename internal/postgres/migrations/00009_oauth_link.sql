-- Explicit linking: a signed-in user starts a social flow that links the
-- account at the provider to theirs instead of signing in. The state names
-- that user; NULL for a sign-in.
--
-- No foreign key: a state lives minutes, retention deletes it, and the
-- callback looks the user up anyway (a user deleted meanwhile ends the
-- link with invalid_state, sent back to redirect_to rather than dropped
-- with the state).

-- +goose Up
ALTER TABLE oauth_states ADD COLUMN link_user_id uuid;

-- +goose Down
ALTER TABLE oauth_states DROP COLUMN link_user_id;
