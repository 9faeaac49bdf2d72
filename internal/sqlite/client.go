package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/talentforge/authd/internal/auth"
)

// CreateClient inserts c. Returns EInvalid if c.ID is not a canonical UUID
// and EConflict if a client with c.ID exists.
func (t *globalTx) CreateClient(ctx context.Context, c *auth.ServiceClient) error {
	if !auth.ValidID(c.ID) {
		return auth.ErrInvalidID
	}
	_, err := t.tx.ExecContext(ctx, `
		INSERT INTO clients (id, name, secret_hash, scopes, created_by, created_at)
		VALUES (?, ?, ?, ?, ?, ?)`,
		c.ID, c.Name, nonNilBytes(c.SecretHash), jsonStrings(c.Scopes), c.CreatedBy, formatTime(c.CreatedAt))
	switch {
	case isUnique(err):
		return auth.ErrExists
	case err != nil:
		return dbError("create client", err)
	}
	return nil
}

// clientColumns is the select list of clients.
const clientColumns = `id, name, secret_hash, scopes, created_by, created_at`

func scanClient(row scanner) (*auth.ServiceClient, error) {
	var (
		c               auth.ServiceClient
		scopes, created string
	)
	err := row.Scan(&c.ID, &c.Name, &c.SecretHash, &scopes, &c.CreatedBy, &created)
	c.SecretHash = nullBytes(c.SecretHash)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, auth.ErrClientNotFound
	}
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(scopes), &c.Scopes); err != nil {
		return nil, fmt.Errorf("sqlite: bad scopes %q: %w", scopes, err)
	}
	if len(c.Scopes) == 0 {
		c.Scopes = nil
	}
	if c.CreatedAt, err = parseTime(created); err != nil {
		return nil, err
	}
	return &c, nil
}

// Client returns the client with the given id, or ENotFound.
func (db *DB) Client(ctx context.Context, id string) (*auth.ServiceClient, error) {
	if !auth.ValidID(id) {
		return nil, auth.ErrClientNotFound
	}
	c, err := scanClient(db.db.QueryRowContext(ctx, `SELECT `+clientColumns+` FROM clients WHERE id = ?`, id))
	if err != nil && auth.ErrorCode(err) == auth.EInternal {
		return nil, dbError("client", err)
	}
	return c, err
}

// ListClients returns every client, ordered by id.
func (db *DB) ListClients(ctx context.Context) ([]*auth.ServiceClient, error) {
	rows, err := db.db.QueryContext(ctx, `SELECT `+clientColumns+` FROM clients ORDER BY id`)
	if err != nil {
		return nil, dbError("list clients", err)
	}
	return collect(rows, "list clients", scanClient)
}

// DeleteClient removes the client. Returns ENotFound.
//
// Revocation records are kept by jti alone, which does not name the client:
// those of the client's tokens stay until RevokeToken purges them, an hour
// after the tokens expire.
func (t *globalTx) DeleteClient(ctx context.Context, id string) error {
	if !auth.ValidID(id) {
		return auth.ErrClientNotFound
	}
	res, err := t.tx.ExecContext(ctx, `DELETE FROM clients WHERE id = ?`, id)
	return affectedOne(res, err, "delete client", auth.ErrClientNotFound)
}

// revokedRetention is how long past its expiry a revocation record is kept:
// a margin for clocks that run behind ours, after which the token is refused
// for its expiry alone.
const revokedRetention = time.Hour

// RevokeToken records that the access token with the given jti, valid until
// expiresAt, is revoked, and reports whether it was not recorded before
// (revoking it again changes nothing). Each call forgets the records of
// tokens that expired more than an hour ago.
func (t *globalTx) RevokeToken(ctx context.Context, jti string, expiresAt time.Time) (revoked bool, err error) {
	if _, err := t.tx.ExecContext(ctx, `DELETE FROM revoked_tokens WHERE expires_at < ?`,
		formatTime(time.Now().Add(-revokedRetention))); err != nil {
		return false, dbError("revoke token", err)
	}
	res, err := t.tx.ExecContext(ctx, `
		INSERT INTO revoked_tokens (jti, expires_at) VALUES (?, ?) ON CONFLICT DO NOTHING`,
		jti, formatTime(expiresAt))
	if err != nil {
		return false, dbError("revoke token", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, dbError("revoke token", err)
	}
	return n > 0, nil // none: already revoked
}

// TokenRevoked reports whether RevokeToken recorded jti (and has not
// forgotten it since).
func (db *DB) TokenRevoked(ctx context.Context, jti string) (bool, error) {
	var revoked bool
	err := db.db.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM revoked_tokens WHERE jti = ?)`, jti).Scan(&revoked)
	if err != nil {
		return false, dbError("token revoked", err)
	}
	return revoked, nil
}
