package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/talentforge/authd/internal/auth"
)

// CreateUser inserts u, the transaction's user, and grants it u.Roles
// (duplicates collapse). Returns EEmailTaken if another user has u.Email,
// EInvalid if a role does not exist, u.ID is not a canonical UUID or not the
// transaction's user, or u.Status is unknown, and EConflict if a user with
// u.ID exists.
func (t *userTx) CreateUser(ctx context.Context, u *auth.User) error {
	if err := u.CheckNew(); err != nil {
		return err
	}
	if u.ID != t.userID {
		return auth.ErrOtherUser
	}
	_, err := t.tx.Exec(ctx, `
		INSERT INTO users (id, email, email_verified, name, password_hash, status,
		                   created_at, updated_at, last_login_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
		u.ID, u.Email, u.EmailVerified, u.Name, u.PasswordHash, string(u.Status),
		u.CreatedAt, u.UpdatedAt, nullTime(u.LastLoginAt))
	switch state, constraint := violation(err); {
	case state == uniqueViolation && constraint == "users_email_key":
		return auth.ErrEmailTaken
	case state == uniqueViolation:
		return auth.ErrExists
	case state == checkViolation:
		return fmt.Errorf("%w: %w", auth.ErrInvalidUser, err)
	case err != nil:
		return dbError("create user", err)
	}
	roles := auth.SortedSet(u.Roles)
	if len(roles) == 0 {
		return nil
	}
	// Selecting from roles grants only the roles that exist; comparing the
	// count tells an unknown role apart without parsing a foreign-key error.
	tag, err := t.tx.Exec(ctx, `
		INSERT INTO user_roles (user_id, role)
		SELECT $1, name FROM roles WHERE name = ANY($2)`, u.ID, roles)
	if state, _ := violation(err); state == foreignKeyViolation {
		// A role was deleted concurrently.
		return auth.ErrUnknownRole
	}
	if err != nil {
		return dbError("create user: grant roles", err)
	}
	if tag.RowsAffected() != int64(len(roles)) {
		return auth.ErrUnknownRole
	}
	return nil
}

// userColumns is the select list of users u; roles come along as an array
// so that a user is one statement, hence one consistent snapshot.
const userColumns = `
	u.id, u.email, u.email_verified, u.name, u.password_hash, u.status,
	u.created_at, u.updated_at, u.last_login_at, u.version, u.password_version,
	array(SELECT role FROM user_roles WHERE user_id = u.id ORDER BY role COLLATE "C")`

// userRow receives one row of userColumns.
type userRow struct {
	u         auth.User
	status    string
	lastLogin *time.Time
}

func (r *userRow) dest() []any {
	return []any{&r.u.ID, &r.u.Email, &r.u.EmailVerified, &r.u.Name, &r.u.PasswordHash, &r.status,
		&r.u.CreatedAt, &r.u.UpdatedAt, &r.lastLogin, &r.u.Version, &r.u.PasswordVersion, &r.u.Roles}
}

func (r *userRow) user() *auth.User {
	u := r.u
	u.Status = auth.UserStatus(r.status)
	u.HasPassword = u.PasswordHash != ""
	u.CreatedAt, u.UpdatedAt = u.CreatedAt.UTC(), u.UpdatedAt.UTC()
	u.LastLoginAt = fromNullTime(r.lastLogin)
	if len(u.Roles) == 0 {
		u.Roles = nil
	}
	return &u
}

func scanUser(row pgx.Row) (*auth.User, error) {
	var r userRow
	err := row.Scan(r.dest()...)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, auth.ErrUserNotFound
	}
	if err != nil {
		return nil, err
	}
	return r.user(), nil
}

// User returns the user with the given id, or ENotFound.
func (db *DB) User(ctx context.Context, id string) (*auth.User, error) {
	if !auth.ValidID(id) {
		return nil, auth.ErrUserNotFound
	}
	u, err := scanUser(db.pool.QueryRow(ctx,
		`SELECT `+userColumns+` FROM users u WHERE u.id = $1`, id))
	if err != nil && auth.ErrorCode(err) == auth.EInternal {
		return nil, dbError("user", err)
	}
	return u, err
}

// UserByEmail returns the user with the given normalised email, or ENotFound.
func (db *DB) UserByEmail(ctx context.Context, email string) (*auth.User, error) {
	u, err := scanUser(db.pool.QueryRow(ctx,
		`SELECT `+userColumns+` FROM users u WHERE u.email = $1`, email))
	if err != nil && auth.ErrorCode(err) == auth.EInternal {
		return nil, dbError("user by email", err)
	}
	return u, err
}

// UpdateUser writes the fields of up that are set, increments Version and
// sets UpdatedAt, if the user's Version still equals up.Version. With
// up.EndSessions, every unrevoked session of the user is revoked at up.At
// too. Returns ENotFound if the user does not exist, EConflict if it changed
// since up.Version, EInvalid for an unknown status, and ELastAdmin if up
// disables the last active user holding the admin role.
func (t *userTx) UpdateUser(ctx context.Context, up *auth.UserUpdate) error {
	if up.Status != nil && *up.Status != auth.StatusActive && *up.Status != auth.StatusDisabled {
		return auth.ErrUnknownStatus
	}
	var status *string
	if up.Status != nil {
		status = (*string)(up.Status)
	}
	if status != nil && *status == string(auth.StatusDisabled) {
		if err := guardLastAdmin(ctx, t.tx, t.userID); err != nil {
			return err
		}
	}
	tag, err := t.tx.Exec(ctx, `
		UPDATE users SET name = coalesce($2, name),
		                 email_verified = coalesce($3, email_verified),
		                 status = coalesce($4, status),
		                 updated_at = $5, version = version + 1
		WHERE id = $1 AND version = $6`,
		t.userID, up.Name, up.EmailVerified, status, up.At, up.Version)
	if err := changedRow(ctx, t.tx, tag, err, "update user", t.userID); err != nil {
		return err
	}
	if up.EndSessions {
		if err := revokeSessions(ctx, t.tx, t.userID, "", up.At); err != nil {
			return dbError("update user", err)
		}
	}
	return nil
}

// changedRow interprets the result of a compare-and-set UPDATE of the user
// userID: no row means either no such user (ENotFound) or one that changed
// since the caller read it (EConflict).
func changedRow(ctx context.Context, q querier, tag pgconn.CommandTag, err error, op, userID string) error {
	if err != nil {
		return dbError(op, err)
	}
	if tag.RowsAffected() == 1 {
		return nil
	}
	if err := userExists(ctx, q, userID, op); err != nil {
		return err
	}
	return auth.ErrStale
}

// UpgradePasswordHash replaces the user's password hash with newHash if it
// is still oldHash, leaving the versions, UpdatedAt and sessions alone.
// Returns ENotFound, and EConflict if the hash changed. A rehash has no
// event to commit with, so it is one statement outside any unit of work:
// the login that triggers it pays for no BEGIN and COMMIT.
func (db *DB) UpgradePasswordHash(ctx context.Context, userID, oldHash, newHash string) error {
	if !auth.ValidID(userID) {
		return auth.ErrUserNotFound
	}
	tag, err := db.pool.Exec(ctx,
		`UPDATE users SET password_hash = $3 WHERE id = $1 AND password_hash = $2`, userID, oldHash, newHash)
	return changedRow(ctx, db.pool, tag, err, "upgrade password hash", userID)
}

// ChangePassword replaces the password hash, increments Version and
// PasswordVersion and sets UpdatedAt to at, if PasswordVersion still equals
// passwordVersion (whatever it is when passwordVersion is 0: a reset), and
// revokes at at every unrevoked session of the user except keepSessionID
// (all of them when it is empty). Returns ENotFound, and EConflict if the
// password changed since passwordVersion.
func (t *userTx) ChangePassword(ctx context.Context, hash, keepSessionID string, passwordVersion int64, at time.Time) error {
	tag, err := t.tx.Exec(ctx, `
		UPDATE users SET password_hash = $2, updated_at = $3,
		                 version = version + 1, password_version = password_version + 1
		WHERE id = $1 AND ($4::bigint = 0 OR password_version = $4)`,
		t.userID, hash, at, passwordVersion)
	if err := changedRow(ctx, t.tx, tag, err, "change password", t.userID); err != nil {
		return err
	}
	if err := revokeSessions(ctx, t.tx, t.userID, keepSessionID, at); err != nil {
		return dbError("change password", err)
	}
	return nil
}

// VerifyEmail marks the user's email verified, incrementing Version and
// setting UpdatedAt to at, if it is still email and not verified yet, and
// reports whether it did. Returns ENotFound for an unknown user.
func (t *userTx) VerifyEmail(ctx context.Context, email string, at time.Time) (changed bool, err error) {
	tag, err := t.tx.Exec(ctx, `
		UPDATE users SET email_verified = true, updated_at = $3, version = version + 1
		WHERE id = $1 AND email = $2 AND NOT email_verified`,
		t.userID, email, at)
	if err != nil {
		return false, dbError("verify email", err)
	}
	if tag.RowsAffected() == 1 {
		return true, nil
	}
	// No row: the address changed, it is verified already, or there is no
	// such user. Told apart by a read, never by a statement that fails,
	// which would leave the transaction unusable.
	if err := userExists(ctx, t.tx, t.userID, "verify email"); err != nil {
		return false, err
	}
	return false, nil
}

// ChangeEmail replaces the user's email with email, verified, increments
// Version and sets UpdatedAt to at. Returns ENotFound, and EEmailTaken if
// another user has email (the statement then fails, and with it the
// transaction, which the caller must end anyway).
func (t *userTx) ChangeEmail(ctx context.Context, email string, at time.Time) error {
	tag, err := t.tx.Exec(ctx, `
		UPDATE users SET email = $2, email_verified = true, updated_at = $3, version = version + 1
		WHERE id = $1`,
		t.userID, email, at)
	if state, constraint := violation(err); state == uniqueViolation && constraint == "users_email_key" {
		return auth.ErrEmailTaken
	}
	return oneRow(tag, err, "change email", auth.ErrUserNotFound)
}

// userExists returns nil if the user userID exists, ENotFound if not.
func userExists(ctx context.Context, q querier, userID, op string) error {
	var exists bool
	if err := q.QueryRow(ctx, `SELECT EXISTS (SELECT FROM users WHERE id = $1)`, userID).Scan(&exists); err != nil {
		return dbError(op, err)
	}
	if !exists {
		return auth.ErrUserNotFound
	}
	return nil
}

// DeleteUser removes the user; the schema cascades to its roles, sessions and
// refresh tokens, and the email becomes free. The user's audit events stay.
// With a non-zero version it deletes only a user still at that Version.
// Returns ENotFound, EConflict if the user changed since version, and
// ELastAdmin if the user is the last active user holding the admin role.
func (t *userTx) DeleteUser(ctx context.Context, version int64) error {
	if err := guardLastAdmin(ctx, t.tx, t.userID); err != nil {
		return err
	}
	tag, err := t.tx.Exec(ctx,
		`DELETE FROM users WHERE id = $1 AND ($2::bigint = 0 OR version = $2)`, t.userID, version)
	return changedRow(ctx, t.tx, tag, err, "delete user", t.userID)
}

// ListUsers returns at most f.Limit users with their roles, ordered by id:
// those whose email starts with f.EmailPrefix, who hold f.Role, whose status
// is f.Status and whose id is greater than f.After, each filter applying only
// when set. Returns EInvalid if f.Limit is not positive or f.After is not a
// canonical UUID.
func (db *DB) ListUsers(ctx context.Context, f auth.UserFilter) ([]*auth.User, error) {
	if err := f.Check(); err != nil {
		return nil, err
	}
	var w where
	if f.EmailPrefix != "" {
		w.add("starts_with(u.email, %s)", f.EmailPrefix)
	}
	if f.Role != "" {
		w.add("EXISTS (SELECT FROM user_roles r WHERE r.user_id = u.id AND r.role = %s)", f.Role)
	}
	if f.Status != "" {
		w.add("u.status = %s", string(f.Status))
	}
	if f.After != "" {
		w.add("u.id > %s", f.After)
	}
	// userColumns brings each user's roles along in the same statement.
	rows, err := db.pool.Query(ctx, `SELECT `+userColumns+` FROM users u WHERE `+w.String()+`
		ORDER BY u.id LIMIT `+w.arg(f.Limit), w.args...)
	if err != nil {
		return nil, dbError("list users", err)
	}
	users, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (*auth.User, error) {
		return scanUser(row)
	})
	if err != nil {
		return nil, dbError("list users", err)
	}
	return users, nil
}
