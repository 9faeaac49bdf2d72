package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/talentforge/authd/internal/auth"
)

var (
	_ auth.UserTx   = (*userTx)(nil)
	_ auth.GlobalTx = (*globalTx)(nil)
)

// userTx is a unit of work on one user's rows. InUserTx checked userID
// once, so its methods trust it; they check only the other ids they get.
type userTx struct {
	tx     pgx.Tx
	userID string
}

// globalTx is a unit of work on the rows no user owns.
type globalTx struct {
	tx pgx.Tx
}

// InUserTx runs fn in one READ COMMITTED transaction on the rows of the
// user userID, committing if fn returns nil. A malformed userID names no
// user: ENotFound, without a round trip to the server.
func (db *DB) InUserTx(ctx context.Context, userID string, fn func(tx auth.UserTx) error) error {
	if !auth.ValidID(userID) {
		return auth.ErrUserNotFound
	}
	return db.inTx(ctx, func(tx pgx.Tx) error {
		return fn(&userTx{tx: tx, userID: userID})
	})
}

// InGlobalTx runs fn in one READ COMMITTED transaction on the rows no user
// owns, committing if fn returns nil.
func (db *DB) InGlobalTx(ctx context.Context, fn func(tx auth.GlobalTx) error) error {
	return db.inTx(ctx, func(tx pgx.Tx) error {
		return fn(&globalTx{tx: tx})
	})
}

// AppendEvent appends ev in the transaction, so that it commits with the
// change it records or not at all. Returns EInvalid if ev is malformed or
// concerns another user, and EConflict if an event with ev.ID exists.
func (t *userTx) AppendEvent(ctx context.Context, ev *auth.Event) error {
	if err := ev.CheckFor(t.userID); err != nil {
		return err
	}
	return insertEvent(ctx, t.tx, ev)
}

// AppendEvent appends ev in the transaction, so that it commits with the
// change it records or not at all. Returns EInvalid if ev is malformed, and
// EConflict if an event with ev.ID exists.
func (t *globalTx) AppendEvent(ctx context.Context, ev *auth.Event) error {
	if err := ev.CheckNew(); err != nil {
		return err
	}
	return insertEvent(ctx, t.tx, ev)
}
