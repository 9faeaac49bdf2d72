package postgres

import (
	"cmp"
	"context"
	"slices"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"

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
	_, err := t.tx.Exec(ctx, `
		INSERT INTO outbox (id, user_id, kind, payload, created_at, next_attempt_at, attempts, last_error, expires_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
		m.ID, t.userID, string(m.Kind), nonNil(m.Payload), m.CreatedAt, m.NextAttemptAt, m.Attempts, m.LastError,
		nullTime(m.ExpiresAt))
	switch state, _ := violation(err); {
	case state == uniqueViolation:
		return auth.ErrExists
	case state == foreignKeyViolation:
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
	tag, err := t.tx.Exec(ctx, `DELETE FROM outbox WHERE user_id = $1 AND id = $2`, t.userID, id)
	return oneRow(tag, err, "delete mail", auth.ErrMailNotFound)
}

// outboxColumns is the select (and RETURNING) list of outbox o.
const outboxColumns = `o.id, o.user_id, o.kind, o.payload, o.created_at, o.next_attempt_at, o.attempts, o.last_error, o.expires_at`

// ClaimMail leases up to limit mails due at now, the earliest due first,
// until leaseUntil, and returns them in that order with their new
// NextAttemptAt and Attempts. A limit that is not positive claims none.
//
// One statement: the CTE picks and locks the due rows through
// outbox_next_attempt_at, skipping those a concurrent claim (or a
// DeleteMail, RetryMail) has locked, and the UPDATE moves them past the
// lease. A row a concurrent claim leased and committed meanwhile is
// re-checked against the WHERE clause and no longer due, so no mail goes
// to two claims. MATERIALIZED makes the locking SELECT run once: as a
// plain IN (subquery) the planner may rescan it, a rescan with SKIP LOCKED
// can return other rows than the first scan did, and the UPDATE then
// claims more than limit mails. The limit is written into the statement, not
// passed as a parameter, so that a generic plan of the prepared statement
// (which pgx caches) knows how few rows come out of the CTE and joins them
// through outbox_pkey: with LIMIT $n the planner expects a tenth of the
// queue, and hashes all of it.
func (db *DB) ClaimMail(ctx context.Context, now, leaseUntil time.Time, limit int) ([]*auth.OutboxMail, error) {
	if limit <= 0 {
		return nil, nil
	}
	rows, err := db.pool.Query(ctx, `
		WITH due AS MATERIALIZED (
			SELECT id, next_attempt_at FROM outbox
			WHERE next_attempt_at <= $1
			ORDER BY next_attempt_at
			LIMIT `+strconv.Itoa(limit)+`
			FOR UPDATE SKIP LOCKED
		)
		UPDATE outbox o SET next_attempt_at = $2, attempts = o.attempts + 1
		FROM due WHERE o.id = due.id
		RETURNING `+outboxColumns+`, due.next_attempt_at`,
		now, leaseUntil)
	if err != nil {
		return nil, dbError("claim mail", err)
	}
	type claimed struct {
		m   *auth.OutboxMail
		due time.Time
	}
	list, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (claimed, error) {
		var (
			m       auth.OutboxMail
			kind    string
			due     time.Time
			expires *time.Time // NULL: no link
		)
		err := row.Scan(&m.ID, &m.UserID, &kind, &m.Payload, &m.CreatedAt, &m.NextAttemptAt,
			&m.Attempts, &m.LastError, &expires, &due)
		m.Kind = auth.MailKind(kind)
		m.CreatedAt, m.NextAttemptAt = m.CreatedAt.UTC(), m.NextAttemptAt.UTC()
		m.ExpiresAt = fromNullTime(expires)
		return claimed{&m, due}, err
	})
	if err != nil {
		return nil, dbError("claim mail", err)
	}
	// RETURNING keeps no order: sort by when each mail was due.
	slices.SortFunc(list, func(a, b claimed) int {
		return cmp.Or(a.due.Compare(b.due), cmp.Compare(a.m.ID, b.m.ID))
	})
	mails := make([]*auth.OutboxMail, len(list))
	for i, c := range list {
		mails[i] = c.m
	}
	return mails, nil
}

// RetryMail makes the user's mail id due at next and records lastError.
// Returns ENotFound if there is no such mail.
func (db *DB) RetryMail(ctx context.Context, userID, id string, next time.Time, lastError string) error {
	if !auth.ValidID(userID) || !auth.ValidID(id) {
		return auth.ErrMailNotFound
	}
	tag, err := db.pool.Exec(ctx, `
		UPDATE outbox SET next_attempt_at = $3, last_error = $4
		WHERE user_id = $1 AND id = $2`,
		userID, id, next, lastError)
	return oneRow(tag, err, "retry mail", auth.ErrMailNotFound)
}

// OutboxStats returns how many mails are queued and when the oldest of
// them was queued (the zero time when none is).
func (db *DB) OutboxStats(ctx context.Context) (queued int64, oldest time.Time, err error) {
	var first *time.Time // NULL when the queue is empty
	if err := db.pool.QueryRow(ctx, `SELECT count(*), min(created_at) FROM outbox`).Scan(&queued, &first); err != nil {
		return 0, time.Time{}, dbError("outbox stats", err)
	}
	return queued, fromNullTime(first), nil
}
