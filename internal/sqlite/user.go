package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/talentforge/authd/internal/auth"
)

// CreateUser inserts u, the transaction's user, and grants it u.Roles
// (duplicates collapse). Returns EEmailTaken if another user has u.Email,
// EInvalid if u is another user, a role does not exist, u.ID is not a
// canonical UUID or u.Status is unknown, and EConflict if a user with u.ID
// exists.
func (t *userTx) CreateUser(ctx context.Context, u *auth.User) error {
	if err := u.CheckNew(); err != nil {
		return err
	}
	if u.ID != t.userID {
		return auth.ErrOtherUser
	}
	_, err := t.tx.ExecContext(ctx, `
		INSERT INTO users (id, email, email_verified, name, password_hash, status,
		                   created_at, updated_at, last_login_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		u.ID, u.Email, u.EmailVerified, u.Name, u.PasswordHash, string(u.Status),
		formatTime(u.CreatedAt), formatTime(u.UpdatedAt), formatNullTime(u.LastLoginAt))
	switch {
	case isUnique(err) && strings.Contains(err.Error(), "users.email"):
		return auth.ErrEmailTaken
	case isUnique(err):
		return auth.ErrExists
	case isCheck(err):
		return fmt.Errorf("%w: %w", auth.ErrInvalidUser, err)
	case err != nil:
		return dbError("create user", err)
	}
	for _, role := range auth.SortedSet(u.Roles) {
		// Selecting from roles makes an unknown role insert nothing, which is
		// clearer to detect than SQLite's anonymous foreign-key error.
		res, err := t.tx.ExecContext(ctx, `
			INSERT INTO user_roles (user_id, role)
			SELECT ?, name FROM roles WHERE name = ?`, u.ID, role)
		if err != nil {
			if isForeignKey(err) {
				return auth.ErrUnknownRole
			}
			return dbError("create user: grant role", err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return dbError("create user: grant role", err)
		} else if n == 0 {
			return auth.ErrUnknownRole
		}
	}
	return nil
}

// userFields is the select list of users u without their roles.
const userFields = `
	u.id, u.email, u.email_verified, u.name, u.password_hash, u.status,
	u.created_at, u.updated_at, u.last_login_at, u.version, u.password_version`

// userColumns is the select list of users u; roles come along as a JSON array
// so that a user is one statement, hence one consistent snapshot.
const userColumns = userFields + `,
	(SELECT json_group_array(role) FROM
		(SELECT role FROM user_roles WHERE user_id = u.id ORDER BY role))`

// userRow receives one row of userColumns, or of userFields (roles then
// stays "").
type userRow struct {
	u                    auth.User
	status, created, upd string
	lastLogin            sql.NullString
	roles                string
}

func (r *userRow) dest() []any {
	return append(r.fieldsDest(), &r.roles)
}

func (r *userRow) fieldsDest() []any {
	return []any{&r.u.ID, &r.u.Email, &r.u.EmailVerified, &r.u.Name, &r.u.PasswordHash, &r.status,
		&r.created, &r.upd, &r.lastLogin, &r.u.Version, &r.u.PasswordVersion}
}

func (r *userRow) user() (*auth.User, error) {
	u := r.u
	u.Status = auth.UserStatus(r.status)
	u.HasPassword = u.PasswordHash != ""
	var err error
	if u.CreatedAt, err = parseTime(r.created); err != nil {
		return nil, err
	}
	if u.UpdatedAt, err = parseTime(r.upd); err != nil {
		return nil, err
	}
	if u.LastLoginAt, err = parseNullTime(r.lastLogin); err != nil {
		return nil, err
	}
	if r.roles == "" {
		return &u, nil // selected without roles
	}
	if err := json.Unmarshal([]byte(r.roles), &u.Roles); err != nil {
		return nil, fmt.Errorf("sqlite: bad roles %q: %w", r.roles, err)
	}
	if len(u.Roles) == 0 {
		u.Roles = nil
	}
	// SQLite's BINARY collation already orders bytewise, like Go; sorting again
	// keeps the contract independent of that detail.
	slices.Sort(u.Roles)
	return &u, nil
}

func scanUser(row scanner) (*auth.User, error) {
	var r userRow
	err := row.Scan(r.dest()...)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, auth.ErrUserNotFound
	}
	if err != nil {
		return nil, err
	}
	return r.user()
}

// User returns the user with the given id, or ENotFound.
func (db *DB) User(ctx context.Context, id string) (*auth.User, error) {
	if !auth.ValidID(id) {
		return nil, auth.ErrUserNotFound
	}
	u, err := scanUser(db.db.QueryRowContext(ctx,
		`SELECT `+userColumns+` FROM users u WHERE u.id = ?`, id))
	if err != nil && auth.ErrorCode(err) == auth.EInternal {
		return nil, dbError("user", err)
	}
	return u, err
}

// UserByEmail returns the user with the given normalised email, or ENotFound.
func (db *DB) UserByEmail(ctx context.Context, email string) (*auth.User, error) {
	u, err := scanUser(db.db.QueryRowContext(ctx,
		`SELECT `+userColumns+` FROM users u WHERE u.email = ?`, email))
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
	var status any
	if up.Status != nil {
		status = string(*up.Status)
	}
	if up.Status != nil && *up.Status == auth.StatusDisabled {
		if err := guardLastAdmin(ctx, t.tx, t.userID); err != nil {
			return err
		}
	}
	res, err := t.tx.ExecContext(ctx, `
		UPDATE users SET name = coalesce(?, name),
		                 email_verified = coalesce(?, email_verified),
		                 status = coalesce(?, status),
		                 updated_at = ?, version = version + 1
		WHERE id = ? AND version = ?`,
		up.Name, up.EmailVerified, status, formatTime(up.At), t.userID, up.Version)
	if err := changedRow(ctx, t.tx, res, err, "update user", t.userID); err != nil {
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
func changedRow(ctx context.Context, tx *sql.Tx, res sql.Result, err error, op, userID string) error {
	if err != nil {
		return dbError(op, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return dbError(op, err)
	}
	if n == 1 {
		return nil
	}
	if err := userExists(ctx, tx, userID, op); err != nil {
		return err
	}
	return auth.ErrStale
}

// UpgradePasswordHash replaces the user's password hash with newHash if it
// is still oldHash, leaving the versions, UpdatedAt and sessions alone.
// Returns ENotFound, and EConflict if the hash changed.
func (db *DB) UpgradePasswordHash(ctx context.Context, userID, oldHash, newHash string) error {
	if !auth.ValidID(userID) {
		return auth.ErrUserNotFound
	}
	return db.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx,
			`UPDATE users SET password_hash = ? WHERE id = ? AND password_hash = ?`,
			newHash, userID, oldHash)
		return changedRow(ctx, tx, res, err, "upgrade password hash", userID)
	})
}

// ChangePassword replaces the password hash, increments Version and
// PasswordVersion and sets UpdatedAt to at, if PasswordVersion still equals
// passwordVersion (whatever it is when passwordVersion is 0: a reset), and
// revokes at at every unrevoked session of the user except keepSessionID
// (all of them when it is empty). Returns ENotFound, and EConflict if the
// password changed since passwordVersion.
func (t *userTx) ChangePassword(ctx context.Context, hash, keepSessionID string, passwordVersion int64, at time.Time) error {
	res, err := t.tx.ExecContext(ctx, `
		UPDATE users SET password_hash = ?, updated_at = ?,
		                 version = version + 1, password_version = password_version + 1
		WHERE id = ? AND (? = 0 OR password_version = ?)`,
		hash, formatTime(at), t.userID, passwordVersion, passwordVersion)
	if err := changedRow(ctx, t.tx, res, err, "change password", t.userID); err != nil {
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
	res, err := t.tx.ExecContext(ctx, `
		UPDATE users SET email_verified = 1, updated_at = ?, version = version + 1
		WHERE id = ? AND email = ? AND email_verified = 0`,
		formatTime(at), t.userID, email)
	if err != nil {
		return false, dbError("verify email", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, dbError("verify email", err)
	}
	if n == 1 {
		return true, nil
	}
	// No row: the address changed, it is verified already, or there is no
	// such user.
	if err := userExists(ctx, t.tx, t.userID, "verify email"); err != nil {
		return false, err
	}
	return false, nil
}

// ChangeEmail replaces the user's email with email, verified, increments
// Version and sets UpdatedAt to at. Returns ENotFound, and EEmailTaken if
// another user has email.
func (t *userTx) ChangeEmail(ctx context.Context, email string, at time.Time) error {
	res, err := t.tx.ExecContext(ctx, `
		UPDATE users SET email = ?, email_verified = 1, updated_at = ?, version = version + 1
		WHERE id = ?`,
		email, formatTime(at), t.userID)
	if isUnique(err) && strings.Contains(err.Error(), "users.email") {
		return auth.ErrEmailTaken
	}
	return affectedOne(res, err, "change email", auth.ErrUserNotFound)
}

// userExists returns nil if the user userID exists, ENotFound if not.
func userExists(ctx context.Context, tx *sql.Tx, userID, op string) error {
	var exists bool
	if err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM users WHERE id = ?)`, userID).Scan(&exists); err != nil {
		return dbError(op, err)
	}
	if !exists {
		return auth.ErrUserNotFound
	}
	return nil
}

// DeleteUser removes the user; the schema cascades to its roles, sessions and
// refresh tokens, and the email becomes free. The audit events about the user
// stay. Returns ENotFound, and ELastAdmin if the user is the last active user
// holding the admin role.
//
// With a non-zero version it deletes only a user still at that Version
// (EConflict otherwise).
func (t *userTx) DeleteUser(ctx context.Context, version int64) error {
	if err := guardLastAdmin(ctx, t.tx, t.userID); err != nil {
		return err
	}
	res, err := t.tx.ExecContext(ctx,
		`DELETE FROM users WHERE id = ? AND (? = 0 OR version = ?)`, t.userID, version, version)
	return changedRow(ctx, t.tx, res, err, "delete user", t.userID)
}

// ListUsers returns at most f.Limit users, ordered by id, with their roles:
// those whose email starts with f.EmailPrefix, holding f.Role, with status
// f.Status and with ids greater than f.After, each filter applying only when
// set. Returns EInvalid if f.Limit is not positive or f.After is not a
// canonical UUID.
func (db *DB) ListUsers(ctx context.Context, f auth.UserFilter) ([]*auth.User, error) {
	if err := f.Check(); err != nil {
		return nil, err
	}
	var w where
	if f.EmailPrefix != "" {
		// substr rather than LIKE, whose % and _ in a prefix would need
		// escaping, and which is case-insensitive for ASCII.
		w.add("substr(u.email, 1, length(?)) = ?", f.EmailPrefix, f.EmailPrefix)
	}
	if f.Role != "" {
		w.add("EXISTS (SELECT 1 FROM user_roles r WHERE r.user_id = u.id AND r.role = ?)", f.Role)
	}
	if f.Status != "" {
		w.add("u.status = ?", string(f.Status))
	}
	if f.After != "" {
		// Canonical UUID text orders like the UUID: see migration 00002.
		w.add("u.id > ?", f.After)
	}
	var users []*auth.User
	// One snapshot for the page and its roles.
	err := db.inReadTx(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `
			SELECT `+userFields+` FROM users u WHERE `+w.String()+`
			ORDER BY u.id LIMIT ?`, slices.Concat(w.args, []any{f.Limit})...)
		if err != nil {
			return err
		}
		defer rows.Close()
		byID := make(map[string]*auth.User)
		var ids []string
		for rows.Next() {
			var r userRow
			if err := rows.Scan(r.fieldsDest()...); err != nil {
				return err
			}
			u, err := r.user()
			if err != nil {
				return err
			}
			users = append(users, u)
			byID[u.ID] = u
			ids = append(ids, u.ID)
		}
		if err := rows.Err(); err != nil {
			return err
		}
		if len(users) == 0 {
			return nil
		}
		// The page's roles in one query; the ids travel as one JSON array, so
		// no page size can exceed SQLite's limit on parameters.
		rows, err = tx.QueryContext(ctx, `
			SELECT user_id, role FROM user_roles
			WHERE user_id IN (SELECT value FROM json_each(?))
			ORDER BY user_id, role`, jsonStrings(ids))
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var id, role string
			if err := rows.Scan(&id, &role); err != nil {
				return err
			}
			byID[id].Roles = append(byID[id].Roles, role)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, dbError("list users", err)
	}
	return users, nil
}

// affectedOne turns the result of a single-row write into nil, none when no
// row matched, or a wrapped driver error.
func affectedOne(res sql.Result, err error, op string, none *auth.Error) error {
	if err != nil {
		return dbError(op, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return dbError(op, err)
	}
	if n == 0 {
		return none
	}
	return nil
}
