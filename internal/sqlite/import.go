package sqlite

import (
	"context"
	"database/sql"
	"slices"
	"strings"

	"github.com/talentforge/authd/internal/auth"
)

// importChunk is how many users one INSERT statement of ImportUsers carries:
// 9 parameters each, well below SQLite's limit of 32,766.
const importChunk = 500

// ImportUsers inserts users with their roles in bulk, skipping any whose
// email or id is already taken (by a stored user or by one earlier in
// users), and returns how many it inserted. It is for seeding benchmarks and
// for imports: each call is one transaction of multi-row inserts, so callers
// pass batches (10,000 users is a good size). Emails must be normalised (see
// auth.NormalizeEmail). Returns EInvalid, inserting nothing, if a user fails
// CheckNew or a role does not exist.
func (db *DB) ImportUsers(ctx context.Context, users []*auth.User) (int, error) {
	users, err := auth.Importable(users)
	if err != nil || len(users) == 0 {
		return 0, err
	}
	inserted := 0
	err = db.inTx(ctx, func(tx *sql.Tx) error {
		if err := checkRoles(ctx, tx, users); err != nil {
			return err
		}
		full, err := tx.PrepareContext(ctx, insertUsersSQL(importChunk))
		if err != nil {
			return dbError("import users", err)
		}
		defer full.Close()
		grant, err := tx.PrepareContext(ctx, `INSERT INTO user_roles (user_id, role) VALUES (?, ?)`)
		if err != nil {
			return dbError("import users", err)
		}
		defer grant.Close()

		for chunk := range slices.Chunk(users, importChunk) {
			ids, err := insertUsers(ctx, tx, full, chunk)
			if err != nil {
				return err
			}
			inserted += len(ids)
			// Roles go only to the users inserted here, never to a stored
			// user whose id or email an imported one repeats.
			for _, u := range chunk {
				if !ids[u.ID] {
					continue
				}
				for _, role := range auth.SortedSet(u.Roles) {
					if _, err := grant.ExecContext(ctx, u.ID, role); err != nil {
						if isForeignKey(err) {
							return auth.ErrUnknownRole
						}
						return dbError("import users: grant role", err)
					}
				}
			}
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	return inserted, nil
}

// insertUsersSQL returns an INSERT OR IGNORE of n users that returns the ids
// of those it inserted.
func insertUsersSQL(n int) string {
	return `INSERT OR IGNORE INTO users (id, email, email_verified, name, password_hash, status,
		created_at, updated_at, last_login_at) VALUES ` +
		strings.Repeat("(?, ?, ?, ?, ?, ?, ?, ?, ?), ", n-1) + `(?, ?, ?, ?, ?, ?, ?, ?, ?)
		RETURNING id`
}

// insertUsers inserts users with full, the prepared insertUsersSQL(importChunk),
// or with a statement of their own when there are fewer, and returns the ids
// it inserted.
func insertUsers(ctx context.Context, tx *sql.Tx, full *sql.Stmt, users []*auth.User) (map[string]bool, error) {
	args := make([]any, 0, 9*len(users))
	for _, u := range users {
		args = append(args, u.ID, u.Email, u.EmailVerified, u.Name, u.PasswordHash, string(u.Status),
			formatTime(u.CreatedAt), formatTime(u.UpdatedAt), formatNullTime(u.LastLoginAt))
	}
	var (
		rows *sql.Rows
		err  error
	)
	if len(users) == importChunk {
		rows, err = full.QueryContext(ctx, args...)
	} else {
		rows, err = tx.QueryContext(ctx, insertUsersSQL(len(users)), args...)
	}
	if err != nil {
		return nil, dbError("import users", err)
	}
	defer rows.Close()
	ids := make(map[string]bool, len(users))
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, dbError("import users", err)
		}
		ids[id] = true
	}
	if err := rows.Err(); err != nil {
		return nil, dbError("import users", err)
	}
	return ids, nil
}

// checkRoles returns EInvalid naming a role of users that does not exist.
func checkRoles(ctx context.Context, tx *sql.Tx, users []*auth.User) error {
	seen := map[string]bool{}
	for _, u := range users {
		for _, role := range u.Roles {
			if seen[role] {
				continue
			}
			seen[role] = true
			var ok bool
			err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM roles WHERE name = ?)`, role).Scan(&ok)
			if err != nil {
				return dbError("import users: check roles", err)
			}
			if !ok {
				return auth.ErrUnknownRole
			}
		}
	}
	return nil
}
