package token

import (
	"context"

	"github.com/talentforge/authd/internal/auth"
)

// KeyStore persists signing keys. Both database backends implement it.
type KeyStore interface {
	// InGlobalTx runs fn in one transaction (auth.Transactor): a new key is
	// inserted with its audit event through tx.CreateSigningKey.
	InGlobalTx(ctx context.Context, fn func(tx auth.GlobalTx) error) error
	// SigningKeys returns every stored key ordered by ActivatesAt, then ID.
	SigningKeys(ctx context.Context) ([]*auth.SigningKey, error)
}
