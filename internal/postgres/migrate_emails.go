package postgres

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/pressly/goose/v3"

	"github.com/talentforge/authd/internal/auth"
)

// normalizeEmailsMigration is migration 00005, in Go because SQL can't
// apply IDNA and script checks. It brings the emails stored by earlier
// versions (NFC and lower-case only) under auth.NormalizeEmail, so that
// every spelling of an address reaches one account:
//
//   - users.email_flag (text, NULL for every row it leaves alone) is added;
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
// Only the rows that plainEmail does not match are read into Go: at 200
// million users the scan stays in the server, and the few addresses with
// upper case, non-ASCII characters or unusual domains cross the wire. A
// sign-up of a previous-version replica that takes a normal form while this
// runs makes the rewrite fail on the unique index, and with it the
// migration, which can then simply be run again.
//
// Down drops email_flag and keeps the rewritten emails: the previous
// version reads them, but finds an IDN address only when it is typed with
// its domain in punycode, the form it is stored in.
//
// It applies the rule of the binary that runs it; should the rule change
// again, a later migration runs this one's up function again.
func normalizeEmailsMigration() *goose.Migration {
	m := goose.NewGoMigration(5,
		&goose.GoFunc{RunTx: normalizeEmailsUp},
		&goose.GoFunc{RunTx: func(ctx context.Context, tx *sql.Tx) error {
			_, err := tx.ExecContext(ctx, `ALTER TABLE users DROP COLUMN email_flag`)
			return err
		}},
	)
	m.Source = "00005_normalize_emails.go" // the name `authd migrate status` shows
	return m
}

// plainEmail matches the addresses that auth.NormalizeEmail returns
// unchanged without needing a look: lower-case ASCII dot-atoms at a domain
// of LDH labels of 1 to 63 characters with no hyphen at either end, at most
// MaxEmailLength bytes in all. Labels with "--" in their third and fourth
// places (punycode "xn--" among them) are not plain: IDNA has things to say
// about them. A row this misses is only checked in Go, never skipped, so it
// errs on the side of not matching.
const plainEmail = `
	email ~ '^[a-z0-9!#$%&''*+/=?^_` + "`" + `{|}~-]+(\.[a-z0-9!#$%&''*+/=?^_` + "`" + `{|}~-]+)*@[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$'
	AND split_part(email, '@', 2) !~ '(^|\.)[a-z0-9-]{2}--'
	AND octet_length(email) <= 254`

func normalizeEmailsUp(ctx context.Context, tx *sql.Tx) error {
	if _, err := tx.ExecContext(ctx, `ALTER TABLE users ADD COLUMN email_flag text`); err != nil {
		return err
	}
	var r auth.EmailRenormalization
	rows, err := tx.QueryContext(ctx, `SELECT id, email, created_at FROM users WHERE NOT (`+plainEmail+`)`)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var row auth.StoredEmail
		if err := rows.Scan(&row.UserID, &row.Email, &row.CreatedAt); err != nil {
			return err
		}
		r.Add(row)
	}
	if err := rows.Err(); err != nil {
		return err
	}
	rewrites, flags, err := r.Plan(ctx, func(ctx context.Context, email string) (string, error) {
		var id string
		err := tx.QueryRowContext(ctx, `SELECT id FROM users WHERE email = $1`, email).Scan(&id)
		if errors.Is(err, sql.ErrNoRows) {
			return "", nil
		}
		return id, err
	})
	if err != nil {
		return err
	}
	now := time.Now().UTC().Truncate(time.Microsecond)
	for _, w := range rewrites {
		if _, err := tx.ExecContext(ctx, `UPDATE users SET email = $1, updated_at = $2, version = version + 1 WHERE id = $3`,
			w.To, now, w.UserID); err != nil {
			return fmt.Errorf("rewrite the email of user %s: %w", w.UserID, err)
		}
		if err := insertEventTx(ctx, tx, w.Event(now)); err != nil {
			return err
		}
	}
	for _, f := range flags {
		if _, err := tx.ExecContext(ctx, `UPDATE users SET email_flag = $1 WHERE id = $2`, f.Detail, f.UserID); err != nil {
			return fmt.Errorf("flag the email of user %s: %w", f.UserID, err)
		}
		if err := insertEventTx(ctx, tx, f.Event(now)); err != nil {
			return err
		}
	}
	return nil
}

// insertEventTx is insertEvent for the database/sql transaction goose
// gives a migration, writing the audit_events columns of migration 00002.
func insertEventTx(ctx context.Context, tx *sql.Tx, ev *auth.Event) error {
	if err := ev.CheckNew(); err != nil {
		return err
	}
	var userID *string
	if ev.UserID != "" {
		userID = &ev.UserID
	}
	_, err := tx.ExecContext(ctx, `
		INSERT INTO audit_events (id, at, type, actor_type, actor_id, user_id, resource,
		                          ip, user_agent, outcome, reason)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
		ev.ID, ev.At, string(ev.Type), string(ev.ActorType), ev.ActorID, userID, ev.Resource,
		ev.IP, ev.UserAgent, string(ev.Outcome), ev.Reason)
	if err != nil {
		return fmt.Errorf("record audit event: %w", err)
	}
	return nil
}
