package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/talentforge/authd/internal/auth"
)

// CreateSigningKey inserts k. Returns EConflict if a key with k.ID exists.
func (t *globalTx) CreateSigningKey(ctx context.Context, k *auth.SigningKey) error {
	_, err := t.tx.Exec(ctx, `
		INSERT INTO signing_keys (id, algorithm, public_key, private_key, created_at, activates_at)
		VALUES ($1, $2, $3, $4, $5, $6)`,
		k.ID, k.Algorithm, k.PublicKey, k.PrivateKey, k.CreatedAt, k.ActivatesAt)
	switch state, _ := violation(err); {
	case state == uniqueViolation:
		return auth.ErrExists
	case err != nil:
		return dbError("create signing key", err)
	}
	return nil
}

// DeleteSigningKey deletes the key with id.
func (t *globalTx) DeleteSigningKey(ctx context.Context, id string) error {
	tag, err := t.tx.Exec(ctx, `DELETE FROM signing_keys WHERE id = $1`, id)
	if err != nil {
		return dbError("delete signing key", err)
	}
	if tag.RowsAffected() == 0 {
		return auth.ErrSigningKeyNotFound
	}
	return nil
}

// SigningKeys returns every stored key ordered by ActivatesAt, then ID
// (bytewise, as Go orders strings).
func (db *DB) SigningKeys(ctx context.Context) ([]*auth.SigningKey, error) {
	rows, err := db.pool.Query(ctx, `
		SELECT id, algorithm, public_key, private_key, created_at, activates_at
		FROM signing_keys ORDER BY activates_at, id COLLATE "C"`)
	if err != nil {
		return nil, dbError("signing keys", err)
	}
	keys, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (*auth.SigningKey, error) {
		var k auth.SigningKey
		err := row.Scan(&k.ID, &k.Algorithm, &k.PublicKey, &k.PrivateKey, &k.CreatedAt, &k.ActivatesAt)
		k.CreatedAt, k.ActivatesAt = k.CreatedAt.UTC(), k.ActivatesAt.UTC()
		return &k, err
	})
	if err != nil {
		return nil, dbError("signing keys", err)
	}
	return keys, nil
}
