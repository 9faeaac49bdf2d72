package authtest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/talentforge/authd/internal/auth"
)

// Every write goes through a unit of work (auth.Transactor): a tx method
// changes rows, and the domain appends the change's audit event in the same
// transaction, only if the change happened (auth/write.go). The helpers
// below do what the domain does, one change and its event per unit of work,
// so that a contract test of a write reads as one call; a nil event appends
// nothing. The Transactions group (transactions.go) pins the unit of work
// itself.

// errNoChange is what the helpers of the tx methods that report whether they
// changed anything (GrantRole, RevokeRole, RevokeToken) return when the
// method succeeded and changed nothing. The unit of work then commits
// without the event, so that a stray write of the method would show.
var errNoChange = errors.New("authtest: the tx method reported no change")

// wantNoChange fails unless the call that returned err succeeded and its tx
// method reported no change.
func wantNoChange(t *testing.T, err error) {
	t.Helper()
	if !errors.Is(err, errNoChange) {
		t.Fatalf("err = %v, want success with no change", err)
	}
}

// appendEvent appends ev through tx, if ev is not nil.
func appendEvent(ctx context.Context, tx auth.AuditTx, ev *auth.Event) error {
	if ev == nil {
		return nil
	}
	return tx.AppendEvent(ctx, ev)
}

// inUser runs change in a unit of work on userID's rows and, if change
// succeeds, appends ev in the same transaction.
func inUser(ctx context.Context, s Backend, userID string, ev *auth.Event, change func(tx auth.UserTx) error) error {
	return s.InUserTx(ctx, userID, func(tx auth.UserTx) error {
		if err := change(tx); err != nil {
			return err
		}
		return appendEvent(ctx, tx, ev)
	})
}

// inGlobal is inUser for the rows no user owns.
func inGlobal(ctx context.Context, s Backend, ev *auth.Event, change func(tx auth.GlobalTx) error) error {
	return s.InGlobalTx(ctx, func(tx auth.GlobalTx) error {
		if err := change(tx); err != nil {
			return err
		}
		return appendEvent(ctx, tx, ev)
	})
}

// noChange returns errNoChange for a unit of work that succeeded without a
// change (and committed, so that a stray write of the method would show),
// and err otherwise.
func noChange(changed bool, err error) error {
	if err == nil && !changed {
		return errNoChange
	}
	return err
}

func txCreateUser(ctx context.Context, s Backend, u *auth.User, ev *auth.Event) error {
	return inUser(ctx, s, u.ID, ev, func(tx auth.UserTx) error { return tx.CreateUser(ctx, u) })
}

func txUpdateUser(ctx context.Context, s Backend, userID string, up *auth.UserUpdate, ev *auth.Event) error {
	return inUser(ctx, s, userID, ev, func(tx auth.UserTx) error { return tx.UpdateUser(ctx, up) })
}

func txChangePassword(ctx context.Context, s Backend, userID, hash, keepSessionID string, passwordVersion int64, at time.Time, ev *auth.Event) error {
	return inUser(ctx, s, userID, ev, func(tx auth.UserTx) error {
		return tx.ChangePassword(ctx, hash, keepSessionID, passwordVersion, at)
	})
}

func txDeleteUser(ctx context.Context, s Backend, userID string, version int64, ev *auth.Event) error {
	return inUser(ctx, s, userID, ev, func(tx auth.UserTx) error { return tx.DeleteUser(ctx, version) })
}

// txGrantRole returns errNoChange if the user holds the role already.
func txGrantRole(ctx context.Context, s Backend, userID, role string, at time.Time, ev *auth.Event) error {
	var changed bool
	err := s.InUserTx(ctx, userID, func(tx auth.UserTx) (err error) {
		if changed, err = tx.GrantRole(ctx, role, at); err != nil || !changed {
			return err
		}
		return appendEvent(ctx, tx, ev)
	})
	return noChange(changed, err)
}

// txRevokeRole returns errNoChange if the user does not hold the role.
func txRevokeRole(ctx context.Context, s Backend, userID, role string, at time.Time, ev *auth.Event) error {
	var changed bool
	err := s.InUserTx(ctx, userID, func(tx auth.UserTx) (err error) {
		if changed, err = tx.RevokeRole(ctx, role, at); err != nil || !changed {
			return err
		}
		return appendEvent(ctx, tx, ev)
	})
	return noChange(changed, err)
}

func txCreateSession(ctx context.Context, s Backend, sess *auth.Session, first *auth.RefreshToken, passwordVersion int64, ev *auth.Event) error {
	return inUser(ctx, s, sess.UserID, ev, func(tx auth.UserTx) error {
		return tx.CreateSession(ctx, sess, first, passwordVersion)
	})
}

func txRevokeSession(ctx context.Context, s Backend, userID, sessionID string, at time.Time, ev *auth.Event) error {
	return inUser(ctx, s, userID, ev, func(tx auth.UserTx) error { return tx.RevokeSession(ctx, sessionID, at) })
}

func txRevokeSessions(ctx context.Context, s Backend, userID, exceptSessionID string, at time.Time, ev *auth.Event) error {
	return inUser(ctx, s, userID, ev, func(tx auth.UserTx) error { return tx.RevokeSessions(ctx, exceptSessionID, at) })
}

func txCreateRole(ctx context.Context, s Backend, r *auth.Role, ev *auth.Event) error {
	return inGlobal(ctx, s, ev, func(tx auth.GlobalTx) error { return tx.CreateRole(ctx, r) })
}

func txUpdateRole(ctx context.Context, s Backend, up *auth.RoleUpdate, ev *auth.Event) error {
	return inGlobal(ctx, s, ev, func(tx auth.GlobalTx) error { return tx.UpdateRole(ctx, up) })
}

func txDeleteRole(ctx context.Context, s Backend, name string, ev *auth.Event) (holders []string, err error) {
	err = inGlobal(ctx, s, ev, func(tx auth.GlobalTx) (err error) {
		holders, err = tx.DeleteRole(ctx, name)
		return err
	})
	return holders, err
}

func txCreateClient(ctx context.Context, s Backend, c *auth.ServiceClient, ev *auth.Event) error {
	return inGlobal(ctx, s, ev, func(tx auth.GlobalTx) error { return tx.CreateClient(ctx, c) })
}

func txDeleteClient(ctx context.Context, s Backend, id string, ev *auth.Event) error {
	return inGlobal(ctx, s, ev, func(tx auth.GlobalTx) error { return tx.DeleteClient(ctx, id) })
}

// txRevokeToken returns errNoChange if the token was revoked already.
func txRevokeToken(ctx context.Context, s Backend, jti string, expiresAt time.Time, ev *auth.Event) error {
	var revoked bool
	err := s.InGlobalTx(ctx, func(tx auth.GlobalTx) (err error) {
		if revoked, err = tx.RevokeToken(ctx, jti, expiresAt); err != nil || !revoked {
			return err
		}
		return appendEvent(ctx, tx, ev)
	})
	return noChange(revoked, err)
}

func txCreateSigningKey(ctx context.Context, s Backend, k *auth.SigningKey, ev *auth.Event) error {
	return inGlobal(ctx, s, ev, func(tx auth.GlobalTx) error { return tx.CreateSigningKey(ctx, k) })
}

// txVerifyEmail returns errNoChange if there was nothing to verify.
func txVerifyEmail(ctx context.Context, s Backend, userID, email string, at time.Time, ev *auth.Event) error {
	var changed bool
	err := s.InUserTx(ctx, userID, func(tx auth.UserTx) (err error) {
		if changed, err = tx.VerifyEmail(ctx, email, at); err != nil || !changed {
			return err
		}
		return appendEvent(ctx, tx, ev)
	})
	return noChange(changed, err)
}

func txChangeEmail(ctx context.Context, s Backend, userID, email string, at time.Time, ev *auth.Event) error {
	return inUser(ctx, s, userID, ev, func(tx auth.UserTx) error { return tx.ChangeEmail(ctx, email, at) })
}

func txCreateOneTimeToken(ctx context.Context, s Backend, userID string, tok *auth.OneTimeToken, ev *auth.Event) error {
	return inUser(ctx, s, userID, ev, func(tx auth.UserTx) error { return tx.CreateOneTimeToken(ctx, tok) })
}

// txConsumeOneTimeToken consumes the token in a unit of work of its own,
// which commits: a token it returns is gone.
func txConsumeOneTimeToken(ctx context.Context, s Backend, userID string, hash []byte, purposes ...auth.TokenPurpose) (tok *auth.OneTimeToken, err error) {
	err = s.InUserTx(ctx, userID, func(tx auth.UserTx) (err error) {
		tok, err = tx.ConsumeOneTimeToken(ctx, hash, purposes...)
		return err
	})
	return tok, err
}

func txDeleteOneTimeTokens(ctx context.Context, s Backend, userID string, purposes ...auth.TokenPurpose) error {
	return inUser(ctx, s, userID, nil, func(tx auth.UserTx) error { return tx.DeleteOneTimeTokens(ctx, purposes...) })
}

func txEnqueueMail(ctx context.Context, s Backend, userID string, m *auth.OutboxMail, ev *auth.Event) error {
	return inUser(ctx, s, userID, ev, func(tx auth.UserTx) error { return tx.EnqueueMail(ctx, m) })
}

func txDeleteMail(ctx context.Context, s Backend, userID, id string, ev *auth.Event) error {
	return inUser(ctx, s, userID, ev, func(tx auth.UserTx) error { return tx.DeleteMail(ctx, id) })
}
