package token

import (
	"context"

	"github.com/talentforge/authd/internal/auth"
)

// KeyStore persists signing keys. Both database backends implement it.
type KeyStore interface {
	// CreateSigningKey inserts k and, in the same transaction, appends ev
	// to the audit log (nil: nothing). Returns auth.EConflict, recording
	// nothing, if a key with the same ID exists.
	CreateSigningKey(ctx context.Context, k *auth.SigningKey, ev *auth.Event) error
	// SigningKeys returns every stored key ordered by ActivatesAt, then ID.
	SigningKeys(ctx context.Context) ([]*auth.SigningKey, error)
}
