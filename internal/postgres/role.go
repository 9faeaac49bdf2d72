package postgres

import (
	"context"
	"errors"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/talentforge/authd/internal/auth"
)

// GrantRole gives the user role and sets the user's UpdatedAt to at.
// Granting a role the user holds changes nothing (changed is false). Returns
// ENotFound for an unknown user and EInvalid for an unknown role.
func (t *userTx) GrantRole(ctx context.Context, role string, at time.Time) (changed bool, err error) {
	tag, err := t.tx.Exec(ctx, `
		INSERT INTO user_roles (user_id, role) VALUES ($1, $2)
		ON CONFLICT DO NOTHING`, t.userID, role)
	switch state, constraint := violation(err); {
	case state == foreignKeyViolation && constraint == "user_roles_user_id_fkey":
		return false, auth.ErrUserNotFound
	case state == foreignKeyViolation:
		return false, auth.ErrUnknownRole
	case err != nil:
		return false, dbError("grant role", err)
	case tag.RowsAffected() == 0:
		return false, nil // already held
	}
	if _, err := t.tx.Exec(ctx, `UPDATE users SET updated_at = $2, version = version + 1 WHERE id = $1`, t.userID, at); err != nil {
		return false, dbError("grant role", err)
	}
	return true, nil
}

// RevokeRole takes role from the user and sets the user's UpdatedAt to at.
// Revoking a role the user does not hold (an unknown role included) changes
// nothing (changed is false). Returns ENotFound for an unknown user, and
// ELastAdmin when it would take admin from the last active user holding it.
func (t *userTx) RevokeRole(ctx context.Context, role string, at time.Time) (changed bool, err error) {
	if role == auth.RoleAdmin {
		if err := guardLastAdmin(ctx, t.tx, t.userID); err != nil {
			return false, err
		}
	}
	tag, err := t.tx.Exec(ctx, `DELETE FROM user_roles WHERE user_id = $1 AND role = $2`, t.userID, role)
	if err != nil {
		return false, dbError("revoke role", err)
	}
	if tag.RowsAffected() == 0 {
		// Not held: a no-op for a known user.
		var exists bool
		err := t.tx.QueryRow(ctx, `SELECT EXISTS (SELECT FROM users WHERE id = $1)`, t.userID).Scan(&exists)
		switch {
		case err != nil:
			return false, dbError("revoke role", err)
		case !exists:
			return false, auth.ErrUserNotFound
		}
		return false, nil
	}
	if _, err := t.tx.Exec(ctx, `UPDATE users SET updated_at = $2, version = version + 1 WHERE id = $1`, t.userID, at); err != nil {
		return false, dbError("revoke role", err)
	}
	return true, nil
}

// guardLastAdmin returns ELastAdmin if the user is active and holds the admin
// role while no other active user does. Every write that could leave no
// active admin (disabling or deleting a user, revoking admin) calls it
// before its change, in the caller's unit of work, and the lock it takes,
// held until that transaction ends, makes them run one at a time: of two
// that each take admin from one of the last two admins, the second sees the
// first's change and fails.
func guardLastAdmin(ctx context.Context, tx pgx.Tx, userID string) error {
	// FOR NO KEY UPDATE excludes the other guards as FOR UPDATE would, but
	// not the KEY SHARE lock that a foreign-key check on user_roles takes on
	// the role: granting admin never waits for a guard, nor deadlocks with
	// one that deletes the user it grants to.
	if _, err := tx.Exec(ctx, `SELECT FROM roles WHERE name = $1 FOR NO KEY UPDATE`, auth.RoleAdmin); err != nil {
		return dbError("last admin check", err)
	}
	// A new statement, so under READ COMMITTED a new snapshot, taken once the
	// lock is ours: it sees everything the guard before us committed.
	var last bool
	err := tx.QueryRow(ctx, `
		SELECT EXISTS (
			SELECT FROM users u JOIN user_roles r ON r.user_id = u.id
			WHERE r.role = $2 AND u.status = $3 AND u.id = $1
		) AND NOT EXISTS (
			SELECT FROM users u JOIN user_roles r ON r.user_id = u.id
			WHERE r.role = $2 AND u.status = $3 AND u.id <> $1
		)`, userID, auth.RoleAdmin, string(auth.StatusActive)).Scan(&last)
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

func scanRole(row pgx.Row) (*auth.Role, error) {
	var r auth.Role
	err := row.Scan(&r.Name, &r.Description, &r.Permissions, &r.Builtin, &r.Version, &r.CreatedAt, &r.UpdatedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, auth.ErrRoleNotFound
	}
	if err != nil {
		return nil, err
	}
	// Rows written before roles became editable (the seeded admin role)
	// may hold an unsorted list.
	r.Permissions = auth.SortedSet(r.Permissions)
	r.CreatedAt, r.UpdatedAt = r.CreatedAt.UTC(), r.UpdatedAt.UTC()
	return &r, nil
}

// Roles returns every role, ordered by name.
func (db *DB) Roles(ctx context.Context) ([]*auth.Role, error) {
	rows, err := db.pool.Query(ctx, `SELECT `+roleColumns+` FROM roles ORDER BY name COLLATE "C"`)
	if err != nil {
		return nil, dbError("roles", err)
	}
	roles, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (*auth.Role, error) {
		return scanRole(row)
	})
	if err != nil {
		return nil, dbError("roles", err)
	}
	return roles, nil
}

// Role returns the named role, or ENotFound.
func (db *DB) Role(ctx context.Context, name string) (*auth.Role, error) {
	r, err := scanRole(db.pool.QueryRow(ctx, `SELECT `+roleColumns+` FROM roles WHERE name = $1`, name))
	if err != nil && auth.ErrorCode(err) == auth.EInternal {
		return nil, dbError("role", err)
	}
	return r, err
}

// CreateRole inserts r, its permissions sorted without duplicates. Returns
// EConflict if the name is taken.
func (t *globalTx) CreateRole(ctx context.Context, r *auth.Role) error {
	_, err := t.tx.Exec(ctx, `
		INSERT INTO roles (name, description, permissions, builtin, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6)`,
		r.Name, r.Description, nonNil(auth.SortedSet(r.Permissions)), r.Builtin, r.CreatedAt, r.UpdatedAt)
	switch state, _ := violation(err); {
	case state == uniqueViolation:
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
	var perms []string
	if up.Permissions != nil {
		perms = nonNil(auth.SortedSet(*up.Permissions))
	}
	tag, err := t.tx.Exec(ctx, `
		UPDATE roles SET description = coalesce($2, description),
		                 permissions = coalesce($3, permissions),
		                 updated_at = $4, version = version + 1
		WHERE name = $1 AND version = $5`,
		up.Name, up.Description, perms, up.At, up.Version)
	if err != nil {
		return dbError("update role", err)
	}
	if tag.RowsAffected() == 0 {
		var exists bool
		if err := t.tx.QueryRow(ctx, `SELECT EXISTS (SELECT FROM roles WHERE name = $1)`, up.Name).Scan(&exists); err != nil {
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
// returning their ids, sorted (their cached state must be dropped). The
// holders' UpdatedAt is left alone. Returns ENotFound.
func (t *globalTx) DeleteRole(ctx context.Context, name string) ([]string, error) {
	// Locking the role first keeps a concurrent grant from adding a holder
	// between the two deletes (it waits, then finds no role), and serialises
	// a deletion of admin with the last-admin guards.
	var found bool
	err := t.tx.QueryRow(ctx, `SELECT true FROM roles WHERE name = $1 FOR UPDATE`, name).Scan(&found)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return nil, auth.ErrRoleNotFound
	case err != nil:
		return nil, dbError("delete role", err)
	}
	rows, _ := t.tx.Query(ctx, `DELETE FROM user_roles WHERE role = $1 RETURNING user_id::text`, name)
	holders, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, dbError("delete role", err)
	}
	slices.Sort(holders)
	if _, err := t.tx.Exec(ctx, `DELETE FROM roles WHERE name = $1`, name); err != nil {
		return nil, dbError("delete role", err)
	}
	return holders, nil
}
