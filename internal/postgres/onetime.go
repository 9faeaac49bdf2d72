package postgres

import (
	"context"
	"errors"
	"hash/fnv"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/talentforge/authd/internal/auth"
)

// CreateOneTimeToken inserts t and deletes the user's other tokens of
// t.Purpose. Returns EInvalid if t belongs to another user than the
// transaction's, ENotFound if the user does not exist, and EConflict if a
// token with t.Hash exists (whoever's it is).
//
// Concurrent creations for one user and purpose are serialised by a
// transaction-scoped advisory lock on the pair: under READ COMMITTED each
// DELETE would otherwise miss the other's uncommitted token, and both would
// stay valid. The user's row won't do as the lock, since a reset
// (ConsumeOneTimeToken, then ChangePassword) takes the two locks the other
// way round and the pair would deadlock; nothing else takes this one.
func (t *userTx) CreateOneTimeToken(ctx context.Context, tok *auth.OneTimeToken) error {
	if tok.UserID != t.userID {
		return auth.ErrOtherUser
	}
	if _, err := t.tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1, $2)`,
		oneTimeTokenLockClass, oneTimeTokenLockKey(t.userID, tok.Purpose)); err != nil {
		return dbError("create one-time token: lock", err)
	}
	// Inserted before the older ones are deleted, so that a taken hash is
	// EConflict whoever's token has it.
	_, err := t.tx.Exec(ctx, `
		INSERT INTO one_time_tokens (token_hash, user_id, purpose, email, created_at, expires_at)
		VALUES ($1, $2, $3, $4, $5, $6)`,
		tok.Hash, t.userID, string(tok.Purpose), tok.Email, tok.CreatedAt, tok.ExpiresAt)
	switch state, _ := violation(err); {
	case state == uniqueViolation:
		return auth.ErrExists
	case state == foreignKeyViolation:
		return auth.ErrUserNotFound
	case err != nil:
		return dbError("create one-time token", err)
	}
	if _, err := t.tx.Exec(ctx, `
		DELETE FROM one_time_tokens
		WHERE user_id = $1 AND purpose = $2 AND token_hash <> $3`,
		t.userID, string(tok.Purpose), tok.Hash); err != nil {
		return dbError("create one-time token: supersede", err)
	}
	return nil
}

// oneTimeTokenLockClass is the first key of the advisory locks of
// CreateOneTimeToken: its own class, so that they can't collide with the
// advisory locks of anything else sharing the database.
const oneTimeTokenLockClass int32 = 0x61757468 // "auth"

// oneTimeTokenLockKey is the second key: a hash of the user and purpose.
// Two pairs that collide only share a lock, which costs a wait, not
// correctness.
func oneTimeTokenLockKey(userID string, purpose auth.TokenPurpose) int32 {
	h := fnv.New32a()
	h.Write([]byte(userID))
	h.Write([]byte{0})
	h.Write([]byte(purpose))
	return int32(h.Sum32())
}

// oneTimeTokenColumns is the select (and RETURNING) list of one_time_tokens.
const oneTimeTokenColumns = `token_hash, user_id, purpose, email, created_at, expires_at`

// ConsumeOneTimeToken deletes and returns the user's token with the given
// hash if its purpose is one of purposes, expired or not. One DELETE …
// RETURNING decides: of concurrent consumptions, those that lose wait on
// the winner's row lock, then find the row gone and return nothing.
// Returns ENotFound if the user has no such token.
func (t *userTx) ConsumeOneTimeToken(ctx context.Context, hash []byte, purposes ...auth.TokenPurpose) (*auth.OneTimeToken, error) {
	var (
		tok     auth.OneTimeToken
		purpose string
	)
	err := t.tx.QueryRow(ctx, `
		DELETE FROM one_time_tokens
		WHERE token_hash = $1 AND user_id = $2 AND purpose = ANY($3)
		RETURNING `+oneTimeTokenColumns,
		hash, t.userID, purposeStrings(purposes)).
		Scan(&tok.Hash, &tok.UserID, &purpose, &tok.Email, &tok.CreatedAt, &tok.ExpiresAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, auth.ErrOneTimeTokenNotFound
	}
	if err != nil {
		return nil, dbError("consume one-time token", err)
	}
	tok.Purpose = auth.TokenPurpose(purpose)
	tok.CreatedAt, tok.ExpiresAt = tok.CreatedAt.UTC(), tok.ExpiresAt.UTC()
	return &tok, nil
}

// DeleteOneTimeTokens deletes the user's tokens of the given purposes, or
// all of them when none is given.
func (t *userTx) DeleteOneTimeTokens(ctx context.Context, purposes ...auth.TokenPurpose) error {
	var err error
	if len(purposes) == 0 {
		_, err = t.tx.Exec(ctx, `DELETE FROM one_time_tokens WHERE user_id = $1`, t.userID)
	} else {
		_, err = t.tx.Exec(ctx, `DELETE FROM one_time_tokens WHERE user_id = $1 AND purpose = ANY($2)`,
			t.userID, purposeStrings(purposes))
	}
	if err != nil {
		return dbError("delete one-time tokens", err)
	}
	return nil
}

// purposeStrings returns purposes as the text[] pgx sends; never nil, which
// pgx would send as NULL, matching nothing either way but less plainly.
func purposeStrings(purposes []auth.TokenPurpose) []string {
	s := make([]string, len(purposes))
	for i, p := range purposes {
		s[i] = string(p)
	}
	return s
}

// DeleteExpiredOneTimeTokens deletes up to limit one-time tokens, of any
// user, whose ExpiresAt is before before, and returns how many it deleted.
func (db *DB) DeleteExpiredOneTimeTokens(ctx context.Context, before time.Time, limit int) (int64, error) {
	tag, err := db.pool.Exec(ctx, `
		DELETE FROM one_time_tokens WHERE token_hash IN (
			SELECT token_hash FROM one_time_tokens WHERE expires_at < $1 LIMIT $2)`,
		before, limit)
	if err != nil {
		return 0, dbError("delete expired one-time tokens", err)
	}
	return tag.RowsAffected(), nil
}
