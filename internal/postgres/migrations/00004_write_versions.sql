-- Version counters for compare-and-set writes. A change is decided on the
-- row as read and written only if the row is still at the version read, so
-- a request that read before another's write can't undo it (a profile edit
-- re-enabling a user an admin just disabled, a description edit restoring a
-- permission another admin just removed).
--
-- users.version counts every change of an account (profile, status, roles,
-- password); users.password_version counts password changes alone, so that
-- a sign-in checked against one password can't store a session after that
-- password was changed (and the change ended every session it saw), while
-- a name edit or a role grant doesn't fail a concurrent login.
--
-- A constant default makes each ADD COLUMN a catalog change: no row is
-- rewritten, however many users there are.

-- +goose Up
ALTER TABLE users
    ADD COLUMN version bigint NOT NULL DEFAULT 1,
    ADD COLUMN password_version bigint NOT NULL DEFAULT 1;
ALTER TABLE roles ADD COLUMN version bigint NOT NULL DEFAULT 1;

-- +goose Down
ALTER TABLE roles DROP COLUMN version;
ALTER TABLE users DROP COLUMN password_version, DROP COLUMN version;
