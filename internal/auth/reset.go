package auth

import (
	"context"
	"time"
)

// ForgotPassword queues a password reset mail to email if an active account
// has that address, and answers the same whether or not one does: the
// caller learns nothing of which addresses have accounts. The work done for
// a known and an unknown address is the same up to the queueing (one
// lookup); nothing is sent within the call. Returns EInvalid for a
// malformed address, ETooManyAttempts past the per-IP or per-address limit
// (counted for unknown addresses alike), and EUnavailable.
func (s *Accounts) ForgotPassword(ctx context.Context, email string, c Origin) error {
	email, err := NormalizeEmail(email)
	if err != nil {
		return err
	}
	if err := s.takeIP(ctx, s.limits.MailIP, c.IP); err != nil {
		return err
	}
	if err := s.take(ctx, s.limits.MailAddress, email, "email_hash", s.emailHash(email)); err != nil {
		return err
	}
	u, err := s.store.UserByEmail(ctx, email)
	now := s.now()
	if ErrorCode(err) == ENotFound {
		s.recordResetRefused(ctx, now, c, "unknown_address", "")
		return nil
	}
	if err != nil {
		return err
	}
	if u.Status != StatusActive {
		// A disabled account can't sign in with a new password either.
		s.recordResetRefused(ctx, now, c, "account_disabled", u.ID)
		return nil
	}
	ev := newEvent(EventPasswordResetAsked, now, c).about(u.ID, "")
	ev.ActorType = ActorAnonymous
	err = s.inUser(ctx, u.ID, ev, func(tx UserTx) error {
		return s.mailToken(ctx, tx, u.ID, PurposeResetPassword, u.Email, now)
	})
	if ErrorCode(err) == ENotFound {
		return nil // deleted meanwhile
	}
	return err
}

// recordResetRefused audits a reset asked for an address that gets no
// mail. It also narrows what the answer's timing tells a stranger: the
// known address's path commits a transaction (the token and its mail), and
// this one commits a write too, instead of answering after one read. The
// address itself is not recorded.
func (s *Accounts) recordResetRefused(ctx context.Context, now time.Time, c Origin, reason, userID string) {
	ev := newEvent(EventPasswordResetAsked, now, c)
	ev.ActorType = ActorAnonymous
	ev.Outcome, ev.Reason = OutcomeFailure, reason
	ev.UserID = userID
	s.record(ctx, ev)
}

// ResetPassword sets a new password with a token from a reset mail, ends
// every session of the account, marks its address verified (the mail
// proved control of it), unlinks the social accounts whose provider did not
// verify it, and voids every other pending token: a reset is the owner
// taking the account back. The token is single use. Returns
// EInvalidToken for a token that is malformed, unknown, used, superseded,
// expired or not a reset token, EWeakPassword (or EInvalid) for a rejected
// password (the token is not spent then), and EUnavailable.
func (s *Accounts) ResetPassword(ctx context.Context, token, password string, c Origin) error {
	userID, hash, err := parseOneTimeToken(token)
	if err != nil {
		return err
	}
	if err := s.hasher.Check(password); err != nil {
		return err
	}
	pwHash, err := s.hasher.Hash(ctx, password)
	if err != nil {
		return err
	}
	now := s.now()
	ev := newEvent(EventPasswordReset, now, c).byUser(userID)
	err = s.inUser(ctx, userID, ev, func(tx UserTx) error {
		t, err := tx.ConsumeOneTimeToken(ctx, hash, PurposeResetPassword)
		if err != nil {
			return err
		}
		if !now.Before(t.ExpiresAt) {
			return errInvalidToken
		}
		if err := tx.ChangePassword(ctx, pwHash, "", 0, now); err != nil {
			return err
		}
		if _, err := tx.VerifyEmail(ctx, t.Email, now); err != nil {
			return err
		}
		// Whoever linked a social account whose provider never verified
		// this address (to sit on it before its owner signed up) loses it
		// now that the owner has proved the mailbox.
		if _, err := tx.UnlinkUnverifiedIdentities(ctx); err != nil {
			return err
		}
		return tx.DeleteOneTimeTokens(ctx)
	})
	if ErrorCode(err) == ENotFound {
		return errInvalidToken
	}
	if err != nil {
		return err
	}
	s.invalidate(ctx, userID)
	s.log.InfoContext(ctx, "password reset; every session revoked", "user_id", userID)
	return nil
}
