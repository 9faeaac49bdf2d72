package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/talentforge/authd/internal/auth"
)

// GrantRole gives the user role, increments its Version and sets its
// UpdatedAt to at, and reports whether anything changed: granting a role the
// user holds changes nothing. Returns ENotFound for an unknown user and
// EInvalid for an unknown role.
func (t *userTx) GrantRole(ctx context.Context, role string, at time.Time) (changed bool, err error) {
	// Checked apart because SQLite's foreign-key error doesn't say which
	// reference failed; BEGIN IMMEDIATE keeps both rows from going away
	// before the insert.
	var userExists, roleExists bool
	err = t.tx.QueryRowContext(ctx, `
		SELECT EXISTS (SELECT 1 FROM users WHERE id = ?), EXISTS (SELECT 1 FROM roles WHERE name = ?)`,
		t.userID, role).Scan(&userExists, &roleExists)
	switch {
	case err != nil:
		return false, dbError("grant role", err)
	case !userExists:
		return false, auth.ErrUserNotFound
	case !roleExists:
		return false, auth.ErrUnknownRole
	}
	res, err := t.tx.ExecContext(ctx, `
		INSERT INTO user_roles (user_id, role) VALUES (?, ?) ON CONFLICT DO NOTHING`, t.userID, role)
	if err != nil {
		return false, dbError("grant role", err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return false, dbError("grant role", err)
	} else if n == 0 {
		return false, nil // already held
	}
	if _, err := t.tx.ExecContext(ctx, `UPDATE users SET updated_at = ?, version = version + 1 WHERE id = ?`, formatTime(at), t.userID); err != nil {
		return false, dbError("grant role", err)
	}
	return true, nil
}

// RevokeRole takes role from the user, increments its Version and sets its
// UpdatedAt to at, and reports whether anything changed: revoking a role the
// user does not hold (an unknown role included) changes nothing. Returns
// ENotFound for an unknown user, and ELastAdmin when it would take admin
// from the last active user holding it.
func (t *userTx) RevokeRole(ctx context.Context, role string, at time.Time) (changed bool, err error) {
	if role == auth.RoleAdmin {
		if err := guardLastAdmin(ctx, t.tx, t.userID); err != nil {
			return false, err
		}
	}
	res, err := t.tx.ExecContext(ctx, `DELETE FROM user_roles WHERE user_id = ? AND role = ?`, t.userID, role)
	if err != nil {
		return false, dbError("revoke role", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, dbError("revoke role", err)
	}
	if n == 0 {
		// Not held: a no-op for a known user.
		var exists bool
		err := t.tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM users WHERE id = ?)`, t.userID).Scan(&exists)
		switch {
		case err != nil:
			return false, dbError("revoke role", err)
		case !exists:
			return false, auth.ErrUserNotFound
		}
		return false, nil
	}
	if _, err := t.tx.ExecContext(ctx, `UPDATE users SET updated_at = ?, version = version + 1 WHERE id = ?`, formatTime(at), t.userID); err != nil {
		return false, dbError("revoke role", err)
	}
	return true, nil
}

// guardLastAdmin returns ELastAdmin if the user is active and holds the admin
// role while no other active user does. Every transaction that could leave no
// active admin (disabling or deleting a user, revoking admin) calls it before
// its change. Every write transaction here begins IMMEDIATE, holding the
// database's single write lock from its first statement to its end, so the
// check and the change that follows it can't interleave with another
// transaction's: of two that each take admin from one of the last two admins,
// the second sees the first's change and fails.
func guardLastAdmin(ctx context.Context, tx *sql.Tx, userID string) error {
	var last bool
	err := tx.QueryRowContext(ctx, `
		SELECT EXISTS (
			SELECT 1 FROM user_roles r JOIN users u ON u.id = r.user_id
			WHERE r.role = ? AND u.status = ? AND u.id = ?
		) AND NOT EXISTS (
			SELECT 1 FROM user_roles r JOIN users u ON u.id = r.user_id
			WHERE r.role = ? AND u.status = ? AND u.id <> ?
		)`,
		auth.RoleAdmin, string(auth.StatusActive), userID,
		auth.RoleAdmin, string(auth.StatusActive), userID).Scan(&last)
	if err != nil {
		return dbError("last admin check", err)
	}
	if last {
		return auth.ErrLastAdmin
	}
	return nil
}

// roleColumns is the select list of roles.
const roleColumns = `name, description, permissions, builtin, version, created_at, updated_at`

func scanRole(row scanner) (*auth.Role, error) {
	var (
		r                  auth.Role
		perms, created, up string
	)
	err := row.Scan(&r.Name, &r.Description, &perms, &r.Builtin, &r.Version, &created, &up)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, auth.ErrRoleNotFound
	}
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(perms), &r.Permissions); err != nil {
		return nil, fmt.Errorf("sqlite: bad permissions %q: %w", perms, err)
	}
	// Rows written before roles became editable (the seeded admin role) hold
	// an unsorted list.
	r.Permissions = auth.SortedSet(r.Permissions)
	if r.CreatedAt, err = parseTime(created); err != nil {
		return nil, err
	}
	if r.UpdatedAt, err = parseTime(up); err != nil {
		return nil, err
	}
	return &r, nil
}

// jsonStrings encodes s as a JSON array, [] when s is nil.
func jsonStrings(s []string) string {
	if s == nil {
		return "[]"
	}
	b, _ := json.Marshal(s) // can't fail for strings
	return string(b)
}

// Roles returns every role, ordered by name.
func (db *DB) Roles(ctx context.Context) ([]*auth.Role, error) {
	rows, err := db.db.QueryContext(ctx, `SELECT `+roleColumns+` FROM roles ORDER BY name`)
	if err != nil {
		return nil, dbError("roles", err)
	}
	return collect(rows, "roles", scanRole)
}

// Role returns the named role, or ENotFound.
func (db *DB) Role(ctx context.Context, name string) (*auth.Role, error) {
	r, err := scanRole(db.db.QueryRowContext(ctx, `SELECT `+roleColumns+` FROM roles WHERE name = ?`, name))
	if err != nil && auth.ErrorCode(err) == auth.EInternal {
		return nil, dbError("role", err)
	}
	return r, err
}

// CreateRole inserts r, its permissions sorted without duplicates. Returns
// EConflict if the name is taken.
func (t *globalTx) CreateRole(ctx context.Context, r *auth.Role) error {
	_, err := t.tx.ExecContext(ctx, `
		INSERT INTO roles (name, description, permissions, builtin, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?)`,
		r.Name, r.Description, jsonStrings(auth.SortedSet(r.Permissions)), r.Builtin,
		formatTime(r.CreatedAt), formatTime(r.UpdatedAt))
	switch {
	case isUnique(err):
		return auth.ErrExists
	case err != nil:
		return dbError("create role", err)
	}
	return nil
}

// UpdateRole writes the fields of up that are set (permissions sorted
// without duplicates), increments Version and sets UpdatedAt, if the role's
// Version still equals up.Version. Returns ENotFound, and EConflict if the
// role changed since.
func (t *globalTx) UpdateRole(ctx context.Context, up *auth.RoleUpdate) error {
	var perms any
	if up.Permissions != nil {
		perms = jsonStrings(auth.SortedSet(*up.Permissions))
	}
	res, err := t.tx.ExecContext(ctx, `
		UPDATE roles SET description = coalesce(?, description),
		                 permissions = coalesce(?, permissions),
		                 updated_at = ?, version = version + 1
		WHERE name = ? AND version = ?`,
		up.Description, perms, formatTime(up.At), up.Name, up.Version)
	if err != nil {
		return dbError("update role", err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return dbError("update role", err)
	} else if n == 0 {
		var exists bool
		if err := t.tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM roles WHERE name = ?)`, up.Name).Scan(&exists); err != nil {
			return dbError("update role", err)
		}
		if !exists {
			return auth.ErrRoleNotFound
		}
		return auth.ErrStale
	}
	return nil
}

// DeleteRole removes the role and takes it from every user holding it,
// returning their ids, sorted (their cached state must be dropped once the
// transaction commits). The holders' UpdatedAt is left alone. Returns
// ENotFound.
func (t *globalTx) DeleteRole(ctx context.Context, name string) ([]string, error) {
	var exists bool
	err := t.tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM roles WHERE name = ?)`, name).Scan(&exists)
	switch {
	case err != nil:
		return nil, dbError("delete role", err)
	case !exists:
		return nil, auth.ErrRoleNotFound
	}
	// The grants go first: user_roles references the role.
	rows, err := t.tx.QueryContext(ctx, `DELETE FROM user_roles WHERE role = ? RETURNING user_id`, name)
	if err != nil {
		return nil, dbError("delete role", err)
	}
	defer rows.Close()
	var holders []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, dbError("delete role", err)
		}
		holders = append(holders, id)
	}
	if err := rows.Err(); err != nil {
		return nil, dbError("delete role", err)
	}
	slices.Sort(holders)
	if _, err := t.tx.ExecContext(ctx, `DELETE FROM roles WHERE name = ?`, name); err != nil {
		return nil, dbError("delete role", err)
	}
	return holders, nil
}
