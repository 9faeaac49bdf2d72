package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/talentforge/authd/internal/auth"
)

// identityColumns is the select list of identities.
const identityColumns = `user_id, provider, subject, email, email_verified, created_at, last_used_at`

// scanIdentity scans one row of identityColumns.
func scanIdentity(row scanner) (*auth.Identity, error) {
	var (
		id            auth.Identity
		created, used string
	)
	if err := row.Scan(&id.UserID, &id.Provider, &id.Subject, &id.Email, &id.EmailVerified,
		&created, &used); err != nil {
		return nil, err
	}
	var err error
	if id.CreatedAt, err = parseTime(created); err != nil {
		return nil, err
	}
	if id.LastUsedAt, err = parseTime(used); err != nil {
		return nil, err
	}
	return &id, nil
}

// LinkIdentity links id to the user. Returns EInvalid if id belongs to
// another user than the transaction's, ENotFound if the user does not
// exist, and EConflict (ErrIdentityTaken) if (Provider, Subject) is linked
// to anyone or the user has an identity at Provider.
func (t *userTx) LinkIdentity(ctx context.Context, id *auth.Identity) error {
	if id.UserID != t.userID {
		return auth.ErrOtherUser
	}
	_, err := t.tx.ExecContext(ctx, `
		INSERT INTO identities (`+identityColumns+`)
		VALUES (?, ?, ?, ?, ?, ?, ?)`,
		t.userID, id.Provider, id.Subject, id.Email, id.EmailVerified,
		formatTime(id.CreatedAt), formatTime(id.LastUsedAt))
	switch {
	case isUnique(err):
		return auth.ErrIdentityTaken
	case isForeignKey(err):
		return auth.ErrUserNotFound
	case err != nil:
		return dbError("link identity", err)
	}
	return nil
}

// TouchIdentity records a sign-in with the user's identity at provider.
// Returns ENotFound if the user has none there.
func (t *userTx) TouchIdentity(ctx context.Context, provider, email string, emailVerified bool, at time.Time) error {
	res, err := t.tx.ExecContext(ctx, `
		UPDATE identities SET email = ?, email_verified = ?, last_used_at = ?
		WHERE user_id = ? AND provider = ?`,
		email, emailVerified, formatTime(at), t.userID, provider)
	return affectedOne(res, err, "touch identity", auth.ErrIdentityNotFound)
}

// UnlinkIdentity removes the user's identity at provider unless it is the
// user's last way to sign in (ELastSignIn). Writers run one at a time, so
// what it reads stays true until it commits: of two unlinks of a
// password-less user's last two identities the later one sees the earlier
// one's. Returns ENotFound for an unknown user or if the user has no
// identity there.
func (t *userTx) UnlinkIdentity(ctx context.Context, provider string) error {
	var (
		hash         string
		here, others int64
	)
	err := t.tx.QueryRowContext(ctx, `
		SELECT password_hash,
		       (SELECT count(*) FROM identities WHERE user_id = u.id AND provider = ?),
		       (SELECT count(*) FROM identities WHERE user_id = u.id AND provider <> ?)
		FROM users u WHERE u.id = ?`,
		provider, provider, t.userID).Scan(&hash, &here, &others)
	if errors.Is(err, sql.ErrNoRows) {
		return auth.ErrUserNotFound
	}
	if err != nil {
		return dbError("unlink identity", err)
	}
	switch {
	case here == 0:
		return auth.ErrIdentityNotFound
	case hash == "" && others == 0:
		return auth.ErrLastSignIn
	}
	res, err := t.tx.ExecContext(ctx, `DELETE FROM identities WHERE user_id = ? AND provider = ?`,
		t.userID, provider)
	return affectedOne(res, err, "unlink identity", auth.ErrIdentityNotFound)
}

// UnlinkUnverifiedIdentities removes the user's identities whose provider
// did not verify their address, returning how many.
func (t *userTx) UnlinkUnverifiedIdentities(ctx context.Context) (int64, error) {
	res, err := t.tx.ExecContext(ctx, `DELETE FROM identities WHERE user_id = ? AND NOT email_verified`, t.userID)
	if err != nil {
		return 0, dbError("unlink unverified identities", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, dbError("unlink unverified identities", err)
	}
	return n, nil
}

// IdentityBySubject returns the identity of the account subject at
// provider, whoever it is linked to, or ENotFound.
func (db *DB) IdentityBySubject(ctx context.Context, provider, subject string) (*auth.Identity, error) {
	id, err := scanIdentity(db.db.QueryRowContext(ctx, `
		SELECT `+identityColumns+` FROM identities WHERE provider = ? AND subject = ?`,
		provider, subject))
	if errors.Is(err, sql.ErrNoRows) {
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
	rows, err := db.db.QueryContext(ctx, `
		SELECT `+identityColumns+` FROM identities WHERE user_id = ? ORDER BY provider`, userID)
	if err != nil {
		return nil, dbError("identities", err)
	}
	return collect(rows, "identities", scanIdentity)
}

// CreateOAuthCode inserts c. Returns EInvalid if c belongs to another user
// than the transaction's, ENotFound if the user does not exist, and
// EConflict if a code with c.Hash exists (whoever's it is).
func (t *userTx) CreateOAuthCode(ctx context.Context, c *auth.OAuthCode) error {
	if c.UserID != t.userID {
		return auth.ErrOtherUser
	}
	_, err := t.tx.ExecContext(ctx, `
		INSERT INTO oauth_codes (code_hash, user_id, provider, challenge, created_at, expires_at)
		VALUES (?, ?, ?, ?, ?, ?)`,
		nonNilBytes(c.Hash), t.userID, c.Provider, c.Challenge,
		formatTime(c.CreatedAt), formatTime(c.ExpiresAt))
	switch {
	case isUnique(err):
		return auth.ErrExists
	case isForeignKey(err):
		return auth.ErrUserNotFound
	case err != nil:
		return dbError("create oauth code", err)
	}
	return nil
}

// ConsumeOAuthCode deletes and returns the user's code with the given
// hash, expired or not: one DELETE … RETURNING, in a transaction that
// holds the database's single write lock, so of concurrent consumptions
// exactly one finds the row. Returns ENotFound if the user has no such
// code.
func (t *userTx) ConsumeOAuthCode(ctx context.Context, hash []byte) (*auth.OAuthCode, error) {
	var (
		c                auth.OAuthCode
		created, expires string
	)
	err := t.tx.QueryRowContext(ctx, `
		DELETE FROM oauth_codes WHERE code_hash = ? AND user_id = ?
		RETURNING code_hash, user_id, provider, challenge, created_at, expires_at`,
		nonNilBytes(hash), t.userID).
		Scan(&c.Hash, &c.UserID, &c.Provider, &c.Challenge, &created, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, auth.ErrOAuthCodeNotFound
	}
	if err != nil {
		return nil, dbError("consume oauth code", err)
	}
	if c.CreatedAt, err = parseTime(created); err != nil {
		return nil, err
	}
	if c.ExpiresAt, err = parseTime(expires); err != nil {
		return nil, err
	}
	return &c, nil
}

// CreateOAuthState inserts st. Returns EInvalid if st.LinkUserID is set
// and not a canonical UUID, and EConflict if a state with st.Hash exists.
func (db *DB) CreateOAuthState(ctx context.Context, st *auth.OAuthState) error {
	var link any // NULL for a sign-in
	if st.LinkUserID != "" {
		if !auth.ValidID(st.LinkUserID) {
			return auth.Errorf(auth.EInvalid, "malformed link user id")
		}
		link = st.LinkUserID
	}
	_, err := db.db.ExecContext(ctx, `
		INSERT INTO oauth_states (state_hash, provider, verifier, nonce, redirect_to, challenge,
		                          browser_hash, link_user_id, created_at, expires_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		nonNilBytes(st.Hash), st.Provider, st.Verifier, st.Nonce, st.RedirectTo, st.Challenge,
		nonNilBytes(st.BrowserHash), link, formatTime(st.CreatedAt), formatTime(st.ExpiresAt))
	switch {
	case isUnique(err):
		return auth.ErrExists
	case err != nil:
		return dbError("create oauth state", err)
	}
	return nil
}

// ConsumeOAuthState deletes and returns the state with the given hash,
// expired or not: one DELETE … RETURNING, and writers run one at a time,
// so of concurrent consumptions exactly one finds the row. Returns
// ENotFound.
func (db *DB) ConsumeOAuthState(ctx context.Context, hash []byte) (*auth.OAuthState, error) {
	var (
		st               auth.OAuthState
		link             sql.NullString
		created, expires string
	)
	err := db.db.QueryRowContext(ctx, `
		DELETE FROM oauth_states WHERE state_hash = ?
		RETURNING state_hash, provider, verifier, nonce, redirect_to, challenge,
		          browser_hash, link_user_id, created_at, expires_at`,
		nonNilBytes(hash)).
		Scan(&st.Hash, &st.Provider, &st.Verifier, &st.Nonce, &st.RedirectTo, &st.Challenge,
			&st.BrowserHash, &link, &created, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, auth.ErrOAuthStateNotFound
	}
	if err != nil {
		return nil, dbError("consume oauth state", err)
	}
	st.BrowserHash = nullBytes(st.BrowserHash)
	st.LinkUserID = link.String // "" when NULL: a sign-in
	if st.CreatedAt, err = parseTime(created); err != nil {
		return nil, err
	}
	if st.ExpiresAt, err = parseTime(expires); err != nil {
		return nil, err
	}
	return &st, nil
}

// DeleteExpiredOAuth deletes up to limit sign-in states and up to limit
// exchange codes whose ExpiresAt is before before, and returns how many it
// deleted in all.
func (db *DB) DeleteExpiredOAuth(ctx context.Context, before time.Time, limit int) (int64, error) {
	var n int64
	for _, q := range []struct{ op, query string }{
		{"delete expired oauth states", `
			DELETE FROM oauth_states WHERE state_hash IN (
				SELECT state_hash FROM oauth_states WHERE expires_at < ? LIMIT ?)`},
		{"delete expired oauth codes", `
			DELETE FROM oauth_codes WHERE code_hash IN (
				SELECT code_hash FROM oauth_codes WHERE expires_at < ? LIMIT ?)`},
	} {
		res, err := db.db.ExecContext(ctx, q.query, formatTime(before), limit)
		if err != nil {
			return n, dbError(q.op, err)
		}
		m, err := res.RowsAffected()
		if err != nil {
			return n, dbError(q.op, err)
		}
		n += m
	}
	return n, nil
}
