package sqlite

import (
	"context"
	"database/sql"
	"time"

	"github.com/talentforge/authd/internal/auth"
)

// EnqueueMail inserts m, due at m.NextAttemptAt; a zero ExpiresAt (a mail
// without a link) is stored as NULL. Returns EInvalid if m.ID is not a
// canonical UUID or m belongs to another user than the transaction's,
// ENotFound if the user does not exist, and EConflict if a mail with m.ID
// exists.
func (t *userTx) EnqueueMail(ctx context.Context, m *auth.OutboxMail) error {
	if !auth.ValidID(m.ID) {
		return auth.ErrInvalidID
	}
	if m.UserID != t.userID {
		return auth.ErrOtherUser
	}
	_, err := t.tx.ExecContext(ctx, `
		INSERT INTO outbox (id, user_id, kind, payload, created_at, next_attempt_at, attempts, last_error, expires_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		m.ID, t.userID, string(m.Kind), nonNilBytes(m.Payload), formatTime(m.CreatedAt),
		formatTime(m.NextAttemptAt), m.Attempts, m.LastError, formatNullTime(m.ExpiresAt))
	switch {
	case isUnique(err):
		return auth.ErrExists
	case isForeignKey(err):
		return auth.ErrUserNotFound
	case err != nil:
		return dbError("enqueue mail", err)
	}
	return nil
}

// DeleteMail removes the user's queued mail id. Returns ENotFound if the
// user has no such mail.
func (t *userTx) DeleteMail(ctx context.Context, id string) error {
	if !auth.ValidID(id) {
		return auth.ErrMailNotFound
	}
	res, err := t.tx.ExecContext(ctx, `DELETE FROM outbox WHERE user_id = ? AND id = ?`, t.userID, id)
	return affectedOne(res, err, "delete mail", auth.ErrMailNotFound)
}

// ClaimMail leases up to limit mails due at now, the earliest due first,
// until leaseUntil, and returns them in that order with their new
// NextAttemptAt and Attempts. A limit that is not positive claims none.
//
// It picks the mails and moves them past the lease in one write
// transaction, which holds the database's single write lock: a concurrent
// claim waits for it, and then finds them no longer due.
func (db *DB) ClaimMail(ctx context.Context, now, leaseUntil time.Time, limit int) ([]*auth.OutboxMail, error) {
	if limit <= 0 {
		return nil, nil // to SQLite, a negative LIMIT is no limit at all
	}
	var mails []*auth.OutboxMail
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		// The due mails in order, through outbox_next_attempt_at, first:
		// RETURNING keeps no order, and returns only the new next_attempt_at.
		rows, err := tx.QueryContext(ctx, `
			SELECT id FROM outbox WHERE next_attempt_at <= ?
			ORDER BY next_attempt_at, id LIMIT ?`,
			formatTime(now), limit)
		if err != nil {
			return err
		}
		var ids []string
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return err
			}
			ids = append(ids, id)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		if len(ids) == 0 {
			return nil
		}
		rows, err = tx.QueryContext(ctx, `
			UPDATE outbox SET next_attempt_at = ?, attempts = attempts + 1
			WHERE id IN (SELECT value FROM json_each(?))
			RETURNING id, user_id, kind, payload, created_at, next_attempt_at, attempts, last_error, expires_at`,
			formatTime(leaseUntil), jsonStrings(ids))
		if err != nil {
			return err
		}
		defer rows.Close()
		byID := make(map[string]*auth.OutboxMail, len(ids))
		for rows.Next() {
			m, err := scanMail(rows)
			if err != nil {
				return err
			}
			byID[m.ID] = m
		}
		if err := rows.Err(); err != nil {
			return err
		}
		for _, id := range ids {
			mails = append(mails, byID[id])
		}
		return nil
	})
	if err != nil {
		return nil, dbError("claim mail", err)
	}
	return mails, nil
}

func scanMail(row scanner) (*auth.OutboxMail, error) {
	var (
		m                   auth.OutboxMail
		kind, created, next string
		expires             sql.NullString
	)
	if err := row.Scan(&m.ID, &m.UserID, &kind, &m.Payload, &created, &next, &m.Attempts, &m.LastError, &expires); err != nil {
		return nil, err
	}
	m.Kind = auth.MailKind(kind)
	var err error
	if m.CreatedAt, err = parseTime(created); err != nil {
		return nil, err
	}
	if m.NextAttemptAt, err = parseTime(next); err != nil {
		return nil, err
	}
	if m.ExpiresAt, err = parseNullTime(expires); err != nil {
		return nil, err
	}
	return &m, nil
}

// RetryMail makes the user's mail id due at next and records lastError.
// Returns ENotFound if there is no such mail.
func (db *DB) RetryMail(ctx context.Context, userID, id string, next time.Time, lastError string) error {
	if !auth.ValidID(userID) || !auth.ValidID(id) {
		return auth.ErrMailNotFound
	}
	res, err := db.db.ExecContext(ctx, `
		UPDATE outbox SET next_attempt_at = ?, last_error = ?
		WHERE user_id = ? AND id = ?`,
		formatTime(next), lastError, userID, id)
	return affectedOne(res, err, "retry mail", auth.ErrMailNotFound)
}

// OutboxStats returns how many mails are queued and when the oldest of
// them was queued (the zero time when none is).
func (db *DB) OutboxStats(ctx context.Context) (queued int64, oldest time.Time, err error) {
	var first sql.NullString // NULL when the queue is empty
	if err := db.db.QueryRowContext(ctx, `SELECT count(*), min(created_at) FROM outbox`).Scan(&queued, &first); err != nil {
		return 0, time.Time{}, dbError("outbox stats", err)
	}
	if oldest, err = parseNullTime(first); err != nil {
		return 0, time.Time{}, err
	}
	return queued, oldest, nil
}
