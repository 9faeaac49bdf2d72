package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/talentforge/authd/internal/auth"
)

// CreateClient inserts c. Returns EConflict if the id is taken and EInvalid
// if it is not a canonical UUID.
func (t *globalTx) CreateClient(ctx context.Context, c *auth.ServiceClient) error {
	if !auth.ValidID(c.ID) {
		return auth.ErrInvalidID
	}
	_, err := t.tx.Exec(ctx, `
		INSERT INTO clients (id, name, secret_hash, scopes, created_by, created_at)
		VALUES ($1, $2, $3, $4, $5, $6)`,
		c.ID, c.Name, nonNil(c.SecretHash), nonNil(c.Scopes), c.CreatedBy, c.CreatedAt)
	switch state, _ := violation(err); {
	case state == uniqueViolation:
		return auth.ErrExists
	case err != nil:
		return dbError("create client", err)
	}
	return nil
}

// clientColumns is the select list of clients.
const clientColumns = `id, name, secret_hash, scopes, created_by, created_at`

func scanClient(row pgx.Row) (*auth.ServiceClient, error) {
	var c auth.ServiceClient
	err := row.Scan(&c.ID, &c.Name, &c.SecretHash, &c.Scopes, &c.CreatedBy, &c.CreatedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, auth.ErrClientNotFound
	}
	if err != nil {
		return nil, err
	}
	c.SecretHash = nullBytes(c.SecretHash)
	if len(c.Scopes) == 0 {
		c.Scopes = nil
	}
	c.CreatedAt = c.CreatedAt.UTC()
	return &c, nil
}

// Client returns the client with the given id, or ENotFound.
func (db *DB) Client(ctx context.Context, id string) (*auth.ServiceClient, error) {
	if !auth.ValidID(id) {
		return nil, auth.ErrClientNotFound
	}
	c, err := scanClient(db.pool.QueryRow(ctx, `SELECT `+clientColumns+` FROM clients WHERE id = $1`, id))
	if err != nil && auth.ErrorCode(err) == auth.EInternal {
		return nil, dbError("client", err)
	}
	return c, err
}

// ListClients returns every client, ordered by id.
func (db *DB) ListClients(ctx context.Context) ([]*auth.ServiceClient, error) {
	rows, err := db.pool.Query(ctx, `SELECT `+clientColumns+` FROM clients ORDER BY id`)
	if err != nil {
		return nil, dbError("list clients", err)
	}
	clients, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (*auth.ServiceClient, error) {
		return scanClient(row)
	})
	if err != nil {
		return nil, dbError("list clients", err)
	}
	return clients, nil
}

// DeleteClient removes the client. Returns ENotFound.
//
// Revoked-token records don't name the client whose token they revoke (see
// RevokeToken), so they stay until they expire; a deleted client's tokens are
// refused whether revoked or not.
func (t *globalTx) DeleteClient(ctx context.Context, id string) error {
	if !auth.ValidID(id) {
		return auth.ErrClientNotFound
	}
	tag, err := t.tx.Exec(ctx, `DELETE FROM clients WHERE id = $1`, id)
	return oneRow(tag, err, "delete client", auth.ErrClientNotFound)
}

// RevokeToken records that the access token with the given jti, valid until
// expiresAt, is revoked. Revoking it again changes nothing (revoked is
// false). Records whose expiresAt passed more than an hour ago (by the
// database's clock) are forgotten.
func (t *globalTx) RevokeToken(ctx context.Context, jti string, expiresAt time.Time) (revoked bool, err error) {
	// Each revocation purges a bounded batch of records whose tokens expired
	// long ago (an hour covers clock skew and verification leeway), so the
	// table holds roughly the live revocations without a cleanup job. SKIP
	// LOCKED: concurrent revocations purge disjoint rows instead of waiting
	// for (or deadlocking on) each other.
	_, err = t.tx.Exec(ctx, `
		DELETE FROM revoked_tokens WHERE jti IN (
			SELECT jti FROM revoked_tokens
			WHERE expires_at < now() - interval '1 hour'
			LIMIT 1000 FOR UPDATE SKIP LOCKED)`)
	if err != nil {
		return false, dbError("revoke token: purge", err)
	}
	tag, err := t.tx.Exec(ctx, `
		INSERT INTO revoked_tokens (jti, expires_at) VALUES ($1, $2)
		ON CONFLICT DO NOTHING`, jti, expiresAt)
	if err != nil {
		return false, dbError("revoke token", err)
	}
	return tag.RowsAffected() == 1, nil
}

// TokenRevoked reports whether RevokeToken recorded jti (and has not yet
// forgotten it).
func (db *DB) TokenRevoked(ctx context.Context, jti string) (bool, error) {
	var revoked bool
	err := db.pool.QueryRow(ctx, `SELECT EXISTS (SELECT FROM revoked_tokens WHERE jti = $1)`, jti).Scan(&revoked)
	if err != nil {
		return false, dbError("token revoked", err)
	}
	return revoked, nil
}
