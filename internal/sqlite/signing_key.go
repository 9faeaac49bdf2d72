package sqlite

import (
	"context"

	"github.com/talentforge/authd/internal/auth"
)

// CreateSigningKey inserts k. Returns EConflict if a key with k.ID exists.
func (t *globalTx) CreateSigningKey(ctx context.Context, k *auth.SigningKey) error {
	_, err := t.tx.ExecContext(ctx, `
		INSERT INTO signing_keys (id, algorithm, public_key, private_key, created_at, activates_at)
		VALUES (?, ?, ?, ?, ?, ?)`,
		k.ID, k.Algorithm, k.PublicKey, k.PrivateKey, formatTime(k.CreatedAt), formatTime(k.ActivatesAt))
	switch {
	case isUnique(err):
		return auth.ErrExists
	case err != nil:
		return dbError("create signing key", err)
	}
	return nil
}

// DeleteSigningKey deletes the key with id.
func (t *globalTx) DeleteSigningKey(ctx context.Context, id string) error {
	res, err := t.tx.ExecContext(ctx, `DELETE FROM signing_keys WHERE id = ?`, id)
	if err != nil {
		return dbError("delete signing key", err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return dbError("delete signing key", err)
	} else if n == 0 {
		return auth.ErrSigningKeyNotFound
	}
	return nil
}

// SigningKeys returns every stored key ordered by ActivatesAt, then ID.
func (db *DB) SigningKeys(ctx context.Context) ([]*auth.SigningKey, error) {
	rows, err := db.db.QueryContext(ctx, `
		SELECT id, algorithm, public_key, private_key, created_at, activates_at
		FROM signing_keys ORDER BY activates_at, id`)
	if err != nil {
		return nil, dbError("signing keys", err)
	}
	defer rows.Close()
	var keys []*auth.SigningKey
	for rows.Next() {
		var (
			k                  auth.SigningKey
			created, activates string
		)
		if err := rows.Scan(&k.ID, &k.Algorithm, &k.PublicKey, &k.PrivateKey, &created, &activates); err != nil {
			return nil, dbError("signing keys", err)
		}
		if k.CreatedAt, err = parseTime(created); err != nil {
			return nil, err
		}
		if k.ActivatesAt, err = parseTime(activates); err != nil {
			return nil, err
		}
		keys = append(keys, &k)
	}
	if err := rows.Err(); err != nil {
		return nil, dbError("signing keys", err)
	}
	return keys, nil
}
