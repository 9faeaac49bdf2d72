package auth

import (
	"context"
	"time"
)

// VerifyEmail spends a token from a verification mail: the sign-up's (or a
// resend's), which marks the account's address verified, or an email
// change's, which moves the account to the new address, verified, and
// voids every other pending token (they were mailed to the old address).
// The token is single use. Returns EInvalidToken for a token that is
// malformed, unknown, used, superseded, expired or of another purpose,
// EEmailTaken when another account took the new address meanwhile (the
// token is not spent then), and EUnavailable.
func (s *Accounts) VerifyEmail(ctx context.Context, token string, c Origin) error {
	userID, hash, err := parseOneTimeToken(token)
	if err != nil {
		return err
	}
	now := s.now()
	err = s.store.InUserTx(ctx, userID, func(tx UserTx) error {
		t, err := tx.ConsumeOneTimeToken(ctx, hash, PurposeVerifyEmail, PurposeChangeEmail)
		if err != nil {
			return err
		}
		if !now.Before(t.ExpiresAt) {
			return errInvalidToken
		}
		ev := newEvent(EventEmailVerified, now, c).byUser(userID)
		if t.Purpose == PurposeChangeEmail {
			ev.Type = EventEmailChanged
			if err := tx.ChangeEmail(ctx, t.Email, now); err != nil {
				return err
			}
			if err := tx.DeleteOneTimeTokens(ctx); err != nil {
				return err
			}
		} else if changed, err := tx.VerifyEmail(ctx, t.Email, now); err != nil || !changed {
			// Verified already (by an admin, say): the token is spent,
			// and there is nothing to audit.
			return err
		}
		return tx.AppendEvent(ctx, ev)
	})
	if ErrorCode(err) == ENotFound {
		return errInvalidToken
	}
	if err != nil {
		return err
	}
	s.invalidate(ctx, userID)
	return nil
}

// ResendVerification queues a new verification mail to the caller's
// address, superseding the links mailed before; for a verified address it
// does nothing. Returns ETooManyAttempts past the per-IP or per-address
// limit, and EUnavailable.
func (s *Accounts) ResendVerification(ctx context.Context, p *Principal) error {
	if err := s.takeIP(ctx, s.limits.MailIP, p.Origin.IP); err != nil {
		return err
	}
	u, err := s.account(ctx, p)
	if err != nil {
		return err
	}
	if u.EmailVerified {
		return nil
	}
	if err := s.take(ctx, s.limits.MailAddress, u.Email, "email_hash", s.emailHash(u.Email)); err != nil {
		return err
	}
	now := s.now()
	err = s.store.InUserTx(ctx, u.ID, func(tx UserTx) error {
		return s.mailToken(ctx, tx, u.ID, PurposeVerifyEmail, u.Email, now)
	})
	return notFoundAs(err, errSessionEnded)
}

// ChangeEmail asks to move the caller's account to newEmail after
// checking the current password: it mails a link to newEmail that makes
// the change (VerifyEmail) and a notice without a link to the current
// address, so that the owner learns of a change they did not ask for. The
// account stays on the old address until the new one is proved. It reports
// whether it mailed anything (not for the current address). Returns
// EInvalid for a malformed address, EInvalidCredentials for a wrong
// password, EEmailTaken when another account has newEmail, and
// ETooManyAttempts past the per-address limit of the new address.
func (s *Accounts) ChangeEmail(ctx context.Context, p *Principal, newEmail, currentPassword string) (bool, error) {
	newEmail, err := NormalizeEmail(newEmail)
	if err != nil {
		return false, err
	}
	u, err := s.account(ctx, p)
	if err != nil {
		return false, err
	}
	if newEmail == u.Email {
		return false, nil
	}
	if err := s.confirmPassword(ctx, p, u, "current_password", currentPassword); err != nil {
		return false, err
	}
	switch _, err := s.store.UserByEmail(ctx, newEmail); ErrorCode(err) {
	case "":
		return false, ErrEmailTaken
	case ENotFound:
	default:
		return false, err
	}
	if err := s.take(ctx, s.limits.MailAddress, newEmail, "email_hash", s.emailHash(newEmail)); err != nil {
		return false, err
	}
	now := s.now()
	ev := newEvent(EventEmailChangeAsked, now, Origin{}).byPrincipal(p)
	err = s.inUser(ctx, u.ID, ev, func(tx UserTx) error {
		if err := s.mailToken(ctx, tx, u.ID, PurposeChangeEmail, newEmail, now); err != nil {
			return err
		}
		// The notice has no link: it never expires.
		return s.queueMail(ctx, tx, u.ID, Mail{Kind: MailEmailChangeNotice, To: u.Email, NewAddress: newEmail}, now, time.Time{})
	})
	if err != nil {
		return false, notFoundAs(err, errSessionEnded)
	}
	return true, nil
}
