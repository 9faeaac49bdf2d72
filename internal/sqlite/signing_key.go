package sqlite

import (
	"context"
	"database/sql"

	"github.com/talentforge/authd/internal/auth"
)

// CreateSigningKey inserts k and, in the same transaction, appends ev (nil:
// nothing). Returns EConflict if a key with k.ID exists.
func (db *DB) CreateSigningKey(ctx context.Context, k *auth.SigningKey, ev *auth.Event) error {
	return db.inTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `
			INSERT INTO signing_keys (id, algorithm, public_key, private_key, created_at, activates_at)
			VALUES (?, ?, ?, ?, ?, ?)`,
			k.ID, k.Algorithm, k.PublicKey, k.PrivateKey, formatTime(k.CreatedAt), formatTime(k.ActivatesAt))
		switch {
		case isUnique(err):
			return auth.ErrExists
		case err != nil:
			return dbError("create signing key", err)
		}
		return insertEvent(ctx, tx, ev)
	})
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
