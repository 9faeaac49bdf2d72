package sqlite

import (
	"context"
	"database/sql"

	"github.com/talentforge/authd/internal/auth"
)

// userTx is the unit of work InUserTx hands to its fn: the statements of one
// write transaction, on the rows of userID. InUserTx checked userID once, so
// its methods take it as valid.
type userTx struct {
	tx     *sql.Tx
	userID string
}

// globalTx is the unit of work InGlobalTx hands to its fn: the statements of
// one write transaction, on the rows no user owns.
type globalTx struct {
	tx *sql.Tx
}

// InUserTx runs fn in one write transaction on the rows of the user userID
// and commits it if fn returns nil; fn's error is returned as it is. A
// malformed userID is ENotFound, before any transaction begins. The database
// is one file with one writer, so the scope to one user routes nothing here:
// it only tells the methods of tx whose rows they write.
func (db *DB) InUserTx(ctx context.Context, userID string, fn func(tx auth.UserTx) error) error {
	if !auth.ValidID(userID) {
		return auth.ErrUserNotFound
	}
	return db.inTx(ctx, func(tx *sql.Tx) error {
		return fn(&userTx{tx: tx, userID: userID})
	})
}

// InGlobalTx runs fn in one write transaction on the rows no user owns
// (roles, clients, revoked tokens, signing keys) and commits it if fn
// returns nil; fn's error is returned as it is.
func (db *DB) InGlobalTx(ctx context.Context, fn func(tx auth.GlobalTx) error) error {
	return db.inTx(ctx, func(tx *sql.Tx) error {
		return fn(&globalTx{tx: tx})
	})
}
