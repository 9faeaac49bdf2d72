package auth

import (
	"context"
	"errors"
)

// errUnchanged, returned by a change given to inUser or inGlobal, says that
// the change found nothing to do: there is nothing to audit, and the unit of
// work ends without error.
var errUnchanged = errors.New("auth: nothing changed")

// inUser runs change in a unit of work on the user's rows and, if change
// succeeds, appends ev in the same transaction: the change and its audit
// event commit together or not at all.
func (s *core) inUser(ctx context.Context, userID string, ev *Event, change func(tx UserTx) error) error {
	err := s.store.InUserTx(ctx, userID, func(tx UserTx) error {
		if err := change(tx); err != nil {
			return err
		}
		return tx.AppendEvent(ctx, ev)
	})
	if errors.Is(err, errUnchanged) {
		return nil
	}
	return err
}

// inGlobal is inUser for the rows no user owns (roles, clients).
func (s *core) inGlobal(ctx context.Context, ev *Event, change func(tx GlobalTx) error) error {
	err := s.store.InGlobalTx(ctx, func(tx GlobalTx) error {
		if err := change(tx); err != nil {
			return err
		}
		return tx.AppendEvent(ctx, ev)
	})
	if errors.Is(err, errUnchanged) {
		return nil
	}
	return err
}
