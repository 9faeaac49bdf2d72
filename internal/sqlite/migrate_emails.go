package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/pressly/goose/v3"

	"github.com/talentforge/authd/internal/auth"
)

// normalizeEmailsMigration is migration 00004, in Go because SQL can't
// apply NFKC and IDNA. It brings the emails stored by earlier versions
// (NFC and lower-case only) under auth.NormalizeEmail, so that every
// spelling of an address reaches one account:
//
//   - users.email_flag (TEXT, NULL for every row it leaves alone) is added;
//   - an email that changes is rewritten, updated_at is set and a user.updated
//     event (reason "email") is recorded;
//   - an email that can't be rewritten, because the rule refuses it or
//     because another account already holds or gets its normal form (see
//     auth.EmailRenormalization for who keeps an address), is left as it
//     was: the row gets a sentence in email_flag and a user.email_flagged
//     event. Nothing is merged and the migration does not fail over data.
//
// A flagged account can't sign in with its password until an operator gives
// it another address and clears email_flag; the flag column survives the
// audit retention that eventually deletes the event.
//
// Down drops email_flag and keeps the rewritten emails: the previous
// version reads them, but finds an IDN address only when it is typed with
// its domain in punycode, the form it is stored in.
//
// It applies the rule of the binary that runs it; should the rule change
// again, a later migration runs this one's up function again.
func normalizeEmailsMigration() *goose.Migration {
	m := goose.NewGoMigration(4,
		&goose.GoFunc{RunTx: normalizeEmailsUp},
		&goose.GoFunc{RunTx: func(ctx context.Context, tx *sql.Tx) error {
			_, err := tx.ExecContext(ctx, `ALTER TABLE users DROP COLUMN email_flag`)
			return err
		}},
	)
	m.Source = "00004_normalize_emails.go" // the name `authd migrate status` shows
	return m
}

func normalizeEmailsUp(ctx context.Context, tx *sql.Tx) error {
	if _, err := tx.ExecContext(ctx, `ALTER TABLE users ADD COLUMN email_flag TEXT`); err != nil {
		return err
	}
	var r auth.EmailRenormalization
	rows, err := tx.QueryContext(ctx, `SELECT id, email, created_at FROM users`)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var (
			row     auth.StoredEmail
			created string
		)
		if err := rows.Scan(&row.UserID, &row.Email, &created); err != nil {
			return err
		}
		if row.CreatedAt, err = parseTime(created); err != nil {
			return err
		}
		r.Add(row)
	}
	if err := rows.Err(); err != nil {
		return err
	}
	rewrites, flags, err := r.Plan(ctx, func(ctx context.Context, email string) (string, error) {
		var id string
		err := tx.QueryRowContext(ctx, `SELECT id FROM users WHERE email = ?`, email).Scan(&id)
		if err == sql.ErrNoRows {
			return "", nil
		}
		return id, err
	})
	if err != nil {
		return err
	}
	now := time.Now().UTC().Truncate(time.Microsecond)
	for _, w := range rewrites {
		if _, err := tx.ExecContext(ctx, `UPDATE users SET email = ?, updated_at = ?, version = version + 1 WHERE id = ?`,
			w.To, formatTime(now), w.UserID); err != nil {
			return fmt.Errorf("rewrite the email of user %s: %w", w.UserID, err)
		}
		if err := insertEvent(ctx, tx, w.Event(now)); err != nil {
			return err
		}
	}
	for _, f := range flags {
		if _, err := tx.ExecContext(ctx, `UPDATE users SET email_flag = ? WHERE id = ?`, f.Detail, f.UserID); err != nil {
			return fmt.Errorf("flag the email of user %s: %w", f.UserID, err)
		}
		if err := insertEvent(ctx, tx, f.Event(now)); err != nil {
			return err
		}
	}
	return nil
}
