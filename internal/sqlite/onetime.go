package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/talentforge/authd/internal/auth"
)

// CreateOneTimeToken inserts t and deletes the user's other tokens of
// t.Purpose. Returns EInvalid if t belongs to another user than the
// transaction's, ENotFound if the user does not exist, and EConflict if a
// token with t.Hash exists (whoever's it is). Writers run one at a time, so
// of two creations the later one always supersedes the earlier one.
func (t *userTx) CreateOneTimeToken(ctx context.Context, tok *auth.OneTimeToken) error {
	if tok.UserID != t.userID {
		return auth.ErrOtherUser
	}
	// Inserted before the older ones are deleted, so that a taken hash is
	// EConflict whoever's token has it.
	_, err := t.tx.ExecContext(ctx, `
		INSERT INTO one_time_tokens (token_hash, user_id, purpose, email, created_at, expires_at)
		VALUES (?, ?, ?, ?, ?, ?)`,
		nonNilBytes(tok.Hash), t.userID, string(tok.Purpose), tok.Email,
		formatTime(tok.CreatedAt), formatTime(tok.ExpiresAt))
	switch {
	case isUnique(err):
		return auth.ErrExists
	case isForeignKey(err):
		return auth.ErrUserNotFound
	case err != nil:
		return dbError("create one-time token", err)
	}
	if _, err := t.tx.ExecContext(ctx, `
		DELETE FROM one_time_tokens
		WHERE user_id = ? AND purpose = ? AND token_hash <> ?`,
		t.userID, string(tok.Purpose), nonNilBytes(tok.Hash)); err != nil {
		return dbError("create one-time token: supersede", err)
	}
	return nil
}

// ConsumeOneTimeToken deletes and returns the user's token with the given
// hash if its purpose is one of purposes, expired or not: one DELETE …
// RETURNING, in a transaction that holds the database's single write
// lock, so of concurrent consumptions exactly one finds the row. Returns
// ENotFound if the user has no such token.
func (t *userTx) ConsumeOneTimeToken(ctx context.Context, hash []byte, purposes ...auth.TokenPurpose) (*auth.OneTimeToken, error) {
	var (
		tok                       auth.OneTimeToken
		purpose, created, expires string
	)
	err := t.tx.QueryRowContext(ctx, `
		DELETE FROM one_time_tokens
		WHERE token_hash = ? AND user_id = ?
		  AND purpose IN (SELECT value FROM json_each(?))
		RETURNING token_hash, user_id, purpose, email, created_at, expires_at`,
		nonNilBytes(hash), t.userID, purposeList(purposes)).
		Scan(&tok.Hash, &tok.UserID, &purpose, &tok.Email, &created, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, auth.ErrOneTimeTokenNotFound
	}
	if err != nil {
		return nil, dbError("consume one-time token", err)
	}
	tok.Purpose = auth.TokenPurpose(purpose)
	if tok.CreatedAt, err = parseTime(created); err != nil {
		return nil, err
	}
	if tok.ExpiresAt, err = parseTime(expires); err != nil {
		return nil, err
	}
	return &tok, nil
}

// DeleteOneTimeTokens deletes the user's tokens of the given purposes, or
// all of them when none is given.
func (t *userTx) DeleteOneTimeTokens(ctx context.Context, purposes ...auth.TokenPurpose) error {
	var err error
	if len(purposes) == 0 {
		_, err = t.tx.ExecContext(ctx, `DELETE FROM one_time_tokens WHERE user_id = ?`, t.userID)
	} else {
		_, err = t.tx.ExecContext(ctx, `
			DELETE FROM one_time_tokens
			WHERE user_id = ? AND purpose IN (SELECT value FROM json_each(?))`,
			t.userID, purposeList(purposes))
	}
	if err != nil {
		return dbError("delete one-time tokens", err)
	}
	return nil
}

// purposeList encodes purposes as a JSON array, for json_each: one
// parameter however many there are.
func purposeList(purposes []auth.TokenPurpose) string {
	s := make([]string, len(purposes))
	for i, p := range purposes {
		s[i] = string(p)
	}
	return jsonStrings(s)
}

// DeleteExpiredOneTimeTokens deletes up to limit one-time tokens, of any
// user, whose ExpiresAt is before before, and returns how many it deleted.
func (db *DB) DeleteExpiredOneTimeTokens(ctx context.Context, before time.Time, limit int) (int64, error) {
	res, err := db.db.ExecContext(ctx, `
		DELETE FROM one_time_tokens WHERE token_hash IN (
			SELECT token_hash FROM one_time_tokens WHERE expires_at < ? LIMIT ?)`,
		formatTime(before), limit)
	if err != nil {
		return 0, dbError("delete expired one-time tokens", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, dbError("delete expired one-time tokens", err)
	}
	return n, nil
}
