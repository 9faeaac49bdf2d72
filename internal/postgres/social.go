package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/talentforge/authd/internal/auth"
)

// identityColumns is the select (and RETURNING) list of identities.
const identityColumns = `user_id, provider, subject, email, email_verified, created_at, last_used_at`

// scanIdentity scans one row of identityColumns, its times in UTC.
func scanIdentity(row pgx.Row) (*auth.Identity, error) {
	var id auth.Identity
	if err := row.Scan(&id.UserID, &id.Provider, &id.Subject, &id.Email, &id.EmailVerified,
		&id.CreatedAt, &id.LastUsedAt); err != nil {
		return nil, err
	}
	id.CreatedAt, id.LastUsedAt = id.CreatedAt.UTC(), id.LastUsedAt.UTC()
	return &id, nil
}

// LinkIdentity links id to the user. Returns EInvalid if id belongs to
// another user than the transaction's, ENotFound if the user does not
// exist, and EConflict (ErrIdentityTaken) if (Provider, Subject) is linked
// to anyone or the user has an identity at Provider: either unique
// constraint decides, so of concurrent links of one account exactly one
// wins.
func (t *userTx) LinkIdentity(ctx context.Context, id *auth.Identity) error {
	if id.UserID != t.userID {
		return auth.ErrOtherUser
	}
	_, err := t.tx.Exec(ctx, `
		INSERT INTO identities (`+identityColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7)`,
		t.userID, id.Provider, id.Subject, id.Email, id.EmailVerified, id.CreatedAt, id.LastUsedAt)
	switch state, _ := violation(err); {
	case state == uniqueViolation:
		return auth.ErrIdentityTaken
	case state == foreignKeyViolation:
		return auth.ErrUserNotFound
	case err != nil:
		return dbError("link identity", err)
	}
	return nil
}

// TouchIdentity records a sign-in with the user's identity at provider.
// Returns ENotFound if the user has none there.
func (t *userTx) TouchIdentity(ctx context.Context, provider, email string, emailVerified bool, at time.Time) error {
	tag, err := t.tx.Exec(ctx, `
		UPDATE identities SET email = $3, email_verified = $4, last_used_at = $5
		WHERE user_id = $1 AND provider = $2`,
		t.userID, provider, email, emailVerified, at)
	return oneRow(tag, err, "touch identity", auth.ErrIdentityNotFound)
}

// UnlinkIdentity removes the user's identity at provider unless it is the
// user's last way to sign in (ELastSignIn). It first locks the user's row:
// concurrent unlinks of one user then run one after the other, and each
// counts the identities the one before it left (under READ COMMITTED every
// statement sees what committed before it began), so two unlinks of a
// password-less user's last two identities can't both succeed. Returns
// ENotFound for an unknown user or if the user has no identity there.
func (t *userTx) UnlinkIdentity(ctx context.Context, provider string) error {
	var hash string
	err := t.tx.QueryRow(ctx, `SELECT password_hash FROM users WHERE id = $1 FOR UPDATE`, t.userID).Scan(&hash)
	if errors.Is(err, pgx.ErrNoRows) {
		return auth.ErrUserNotFound
	}
	if err != nil {
		return dbError("unlink identity: lock user", err)
	}
	var here, others int64
	if err := t.tx.QueryRow(ctx, `
		SELECT count(*) FILTER (WHERE provider = $2), count(*) FILTER (WHERE provider <> $2)
		FROM identities WHERE user_id = $1`,
		t.userID, provider).Scan(&here, &others); err != nil {
		return dbError("unlink identity: count", err)
	}
	switch {
	case here == 0:
		return auth.ErrIdentityNotFound
	case hash == "" && others == 0:
		return auth.ErrLastSignIn
	}
	tag, err := t.tx.Exec(ctx, `DELETE FROM identities WHERE user_id = $1 AND provider = $2`,
		t.userID, provider)
	return oneRow(tag, err, "unlink identity", auth.ErrIdentityNotFound)
}

// UnlinkUnverifiedIdentities removes the user's identities whose provider
// did not verify their address, returning how many.
func (t *userTx) UnlinkUnverifiedIdentities(ctx context.Context) (int64, error) {
	tag, err := t.tx.Exec(ctx, `DELETE FROM identities WHERE user_id = $1 AND NOT email_verified`, t.userID)
	if err != nil {
		return 0, dbError("unlink unverified identities", err)
	}
	return tag.RowsAffected(), nil
}

// IdentityBySubject returns the identity of the account subject at
// provider, whoever it is linked to, or ENotFound.
func (db *DB) IdentityBySubject(ctx context.Context, provider, subject string) (*auth.Identity, error) {
	id, err := scanIdentity(db.pool.QueryRow(ctx, `
		SELECT `+identityColumns+` FROM identities WHERE provider = $1 AND subject = $2`,
		provider, subject))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, auth.ErrIdentityNotFound
	}
	if err != nil {
		return nil, dbError("identity by subject", err)
	}
	return id, nil
}

// Identities returns the user's identities, ordered by provider; none for
// an unknown or malformed user id.
func (db *DB) Identities(ctx context.Context, userID string) ([]*auth.Identity, error) {
	if !auth.ValidID(userID) {
		return nil, nil
	}
	rows, err := db.pool.Query(ctx, `
		SELECT `+identityColumns+` FROM identities WHERE user_id = $1 ORDER BY provider`, userID)
	if err != nil {
		return nil, dbError("identities", err)
	}
	list, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (*auth.Identity, error) {
		return scanIdentity(row)
	})
	if err != nil {
		return nil, dbError("identities", err)
	}
	return list, nil
}

// oauthCodeColumns is the RETURNING list of oauth_codes.
const oauthCodeColumns = `code_hash, user_id, provider, challenge, created_at, expires_at`

// CreateOAuthCode inserts c. Returns EInvalid if c belongs to another user
// than the transaction's, ENotFound if the user does not exist, and
// EConflict if a code with c.Hash exists (whoever's it is).
func (t *userTx) CreateOAuthCode(ctx context.Context, c *auth.OAuthCode) error {
	if c.UserID != t.userID {
		return auth.ErrOtherUser
	}
	_, err := t.tx.Exec(ctx, `
		INSERT INTO oauth_codes (`+oauthCodeColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6)`,
		c.Hash, t.userID, c.Provider, c.Challenge, c.CreatedAt, c.ExpiresAt)
	switch state, _ := violation(err); {
	case state == uniqueViolation:
		return auth.ErrExists
	case state == foreignKeyViolation:
		return auth.ErrUserNotFound
	case err != nil:
		return dbError("create oauth code", err)
	}
	return nil
}

// ConsumeOAuthCode deletes and returns the user's code with the given
// hash, expired or not. One DELETE … RETURNING decides: of concurrent
// consumptions, those that lose wait on the winner's row lock, then find
// the row gone and return nothing. Returns ENotFound if the user has no
// such code.
func (t *userTx) ConsumeOAuthCode(ctx context.Context, hash []byte) (*auth.OAuthCode, error) {
	var c auth.OAuthCode
	err := t.tx.QueryRow(ctx, `
		DELETE FROM oauth_codes WHERE code_hash = $1 AND user_id = $2
		RETURNING `+oauthCodeColumns,
		hash, t.userID).
		Scan(&c.Hash, &c.UserID, &c.Provider, &c.Challenge, &c.CreatedAt, &c.ExpiresAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, auth.ErrOAuthCodeNotFound
	}
	if err != nil {
		return nil, dbError("consume oauth code", err)
	}
	c.CreatedAt, c.ExpiresAt = c.CreatedAt.UTC(), c.ExpiresAt.UTC()
	return &c, nil
}

// oauthStateColumns is the RETURNING list of oauth_states.
const oauthStateColumns = `state_hash, provider, verifier, nonce, redirect_to, challenge,
	browser_hash, link_user_id, created_at, expires_at`

// CreateOAuthState inserts st. Returns EInvalid if st.LinkUserID is set
// and not a canonical UUID, and EConflict if a state with st.Hash exists.
func (db *DB) CreateOAuthState(ctx context.Context, st *auth.OAuthState) error {
	var link *string // NULL for a sign-in
	if st.LinkUserID != "" {
		if !auth.ValidID(st.LinkUserID) {
			return auth.Errorf(auth.EInvalid, "malformed link user id")
		}
		link = &st.LinkUserID
	}
	_, err := db.pool.Exec(ctx, `
		INSERT INTO oauth_states (`+oauthStateColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
		st.Hash, st.Provider, st.Verifier, st.Nonce, st.RedirectTo, st.Challenge,
		nonNil(st.BrowserHash), link, st.CreatedAt, st.ExpiresAt)
	switch state, _ := violation(err); {
	case state == uniqueViolation:
		return auth.ErrExists
	case err != nil:
		return dbError("create oauth state", err)
	}
	return nil
}

// ConsumeOAuthState deletes and returns the state with the given hash,
// expired or not: one DELETE … RETURNING, so of concurrent consumptions
// exactly one gets it. Returns ENotFound.
func (db *DB) ConsumeOAuthState(ctx context.Context, hash []byte) (*auth.OAuthState, error) {
	var (
		st   auth.OAuthState
		link *string
	)
	err := db.pool.QueryRow(ctx, `
		DELETE FROM oauth_states WHERE state_hash = $1
		RETURNING `+oauthStateColumns,
		hash).
		Scan(&st.Hash, &st.Provider, &st.Verifier, &st.Nonce, &st.RedirectTo, &st.Challenge,
			&st.BrowserHash, &link, &st.CreatedAt, &st.ExpiresAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, auth.ErrOAuthStateNotFound
	}
	if err != nil {
		return nil, dbError("consume oauth state", err)
	}
	if link != nil {
		st.LinkUserID = *link
	}
	st.CreatedAt, st.ExpiresAt = st.CreatedAt.UTC(), st.ExpiresAt.UTC()
	return &st, nil
}

// DeleteExpiredOAuth deletes up to limit sign-in states and up to limit
// exchange codes whose ExpiresAt is before before, and returns how many it
// deleted in all.
func (db *DB) DeleteExpiredOAuth(ctx context.Context, before time.Time, limit int) (int64, error) {
	states, err := db.pool.Exec(ctx, `
		DELETE FROM oauth_states WHERE state_hash IN (
			SELECT state_hash FROM oauth_states WHERE expires_at < $1 LIMIT $2)`,
		before, limit)
	if err != nil {
		return 0, dbError("delete expired oauth states", err)
	}
	codes, err := db.pool.Exec(ctx, `
		DELETE FROM oauth_codes WHERE code_hash IN (
			SELECT code_hash FROM oauth_codes WHERE expires_at < $1 LIMIT $2)`,
		before, limit)
	if err != nil {
		return states.RowsAffected(), dbError("delete expired oauth codes", err)
	}
	return states.RowsAffected() + codes.RowsAffected(), nil
}
