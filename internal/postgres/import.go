package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/talentforge/authd/internal/auth"
)

// ImportUsers inserts users with their roles in bulk, skipping any whose
// email or id is already taken (by a stored user or by one earlier in
// users), and returns how many it inserted. It is for seeding benchmarks and
// for imports: each call is one transaction that streams the users with
// COPY, so callers pass batches (10,000 users is a good size; a million
// users then take about half a minute on two cores). Emails must be
// normalised (see auth.NormalizeEmail). Returns EInvalid, inserting nothing,
// if a user fails CheckNew or a role does not exist.
func (db *DB) ImportUsers(ctx context.Context, users []*auth.User) (int, error) {
	users, err := auth.Importable(users)
	if err != nil || len(users) == 0 {
		return 0, err
	}
	inserted := 0
	err = db.inTx(ctx, func(tx pgx.Tx) error {
		// COPY can't skip conflicting rows, so it fills a staging table,
		// private to this transaction and never written to the WAL, from
		// which one INSERT … ON CONFLICT DO NOTHING takes the new users.
		if _, err := tx.Exec(ctx, `
			CREATE TEMPORARY TABLE users_import (LIKE users INCLUDING DEFAULTS, roles text[])
			ON COMMIT DROP`); err != nil {
			return dbError("import users", err)
		}
		_, err := tx.CopyFrom(ctx, pgx.Identifier{"users_import"},
			[]string{"id", "email", "email_verified", "name", "password_hash", "status",
				"created_at", "updated_at", "last_login_at", "roles"},
			pgx.CopyFromSlice(len(users), func(i int) ([]any, error) {
				u := users[i]
				return []any{u.ID, u.Email, u.EmailVerified, u.Name, u.PasswordHash, string(u.Status),
					u.CreatedAt, u.UpdatedAt, nullTime(u.LastLoginAt), auth.SortedSet(u.Roles)}, nil
			}))
		if err != nil {
			return dbError("import users: copy", err)
		}

		var unknown string
		err = tx.QueryRow(ctx, `
			SELECT role FROM users_import, unnest(roles) AS role
			WHERE NOT EXISTS (SELECT FROM roles WHERE name = role)
			LIMIT 1`).Scan(&unknown)
		switch {
		case err == nil:
			return auth.ErrUnknownRole
		case !errors.Is(err, pgx.ErrNoRows):
			return dbError("import users: check roles", err)
		}

		// Roles go only to the users this statement inserted, never to a
		// stored user whose id or email an imported one repeats.
		err = tx.QueryRow(ctx, `
			WITH inserted AS (
				INSERT INTO users (id, email, email_verified, name, password_hash, status,
				                   created_at, updated_at, last_login_at)
				SELECT id, email, email_verified, name, password_hash, status,
				       created_at, updated_at, last_login_at
				FROM users_import
				ON CONFLICT DO NOTHING
				RETURNING id
			), granted AS (
				INSERT INTO user_roles (user_id, role)
				SELECT i.id, unnest(i.roles) FROM users_import i JOIN inserted USING (id)
			)
			SELECT count(*) FROM inserted`).Scan(&inserted)
		switch state, _ := violation(err); {
		case state == foreignKeyViolation:
			// A role was deleted concurrently.
			return auth.ErrUnknownRole
		case state == checkViolation:
			return fmt.Errorf("%w: %w", auth.ErrInvalidUser, err)
		case err != nil:
			return dbError("import users", err)
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	return inserted, nil
}
