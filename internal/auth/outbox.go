package auth

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
)

// MailKind names a mail the domain sends. The values name the templates of
// package mail.
type MailKind string

const (
	MailVerifyEmail       MailKind = "verify_email"        // sign-up and resend: confirm the address
	MailResetPassword     MailKind = "reset_password"      // forgot password: the reset link
	MailEmailChangeVerify MailKind = "email_change_verify" // to the new address: confirm it
	MailEmailChangeNotice MailKind = "email_change_notice" // to the old address: a change was asked for; no link
)

// Mail is what a flow sends: the Mailer renders it. Token is the raw
// one-time token the link carries (empty for a notice).
type Mail struct {
	Kind       MailKind
	To         string
	Token      string
	TokenTTL   time.Duration // how long the link works, said in the mail
	NewAddress string        // MailEmailChangeNotice: the address asked for
}

// Mailer renders mail for the outbox (package mail implements it).
type Mailer interface {
	// Compose renders m and returns it ready to queue: sealed, since a
	// link's token must not sit in the database in the clear.
	Compose(m Mail) ([]byte, error)
}

// OutboxMail is a queued mail, as stored. The outbox's senders (package
// mail) deliver it; the domain only queues it, in the unit of work of the
// change it tells of.
type OutboxMail struct {
	ID            string // UUIDv7
	UserID        string // whose change it tells of; deleting the user drops it
	Kind          MailKind
	Payload       []byte // what Mailer.Compose returned
	CreatedAt     time.Time
	NextAttemptAt time.Time
	Attempts      int
	LastError     string
	// ExpiresAt is when the mail's link stops working (its token's
	// ExpiresAt): after it the mail is useless and is not sent. Zero for a
	// mail without a link.
	ExpiresAt time.Time
}

// mailToken creates a one-time token of purpose for the user, for the
// address it is mailed to, and queues its mail, in tx: the token exists
// exactly if its mail is queued. A newer token of a purpose supersedes the
// user's older ones.
func (s *core) mailToken(ctx context.Context, tx UserTx, userID string, purpose TokenPurpose, address string, now time.Time) error {
	kind, ttl := MailVerifyEmail, s.cfg.VerifyTokenTTL
	switch purpose {
	case PurposeResetPassword:
		kind, ttl = MailResetPassword, s.cfg.ResetTokenTTL
	case PurposeChangeEmail:
		kind = MailEmailChangeVerify
	}
	raw, hash, err := newOneTimeToken(userID)
	if err != nil {
		return err
	}
	t := &OneTimeToken{
		Hash: hash, UserID: userID, Purpose: purpose, Email: address,
		CreatedAt: now, ExpiresAt: now.Add(ttl),
	}
	if err := tx.CreateOneTimeToken(ctx, t); err != nil {
		return err
	}
	return s.queueMail(ctx, tx, userID, Mail{Kind: kind, To: address, Token: raw, TokenTTL: ttl}, now, t.ExpiresAt)
}

// queueMail renders m and queues it in tx, due at once. expiresAt is when
// m's link stops working, after which the outbox drops m unsent; zero for
// a mail without a link.
func (s *core) queueMail(ctx context.Context, tx UserTx, userID string, m Mail, now, expiresAt time.Time) error {
	payload, err := s.mailer.Compose(m)
	if err != nil {
		return fmt.Errorf("compose %s mail: %w", m.Kind, err)
	}
	id, err := uuid.NewV7()
	if err != nil {
		return fmt.Errorf("new mail id: %w", err)
	}
	return tx.EnqueueMail(ctx, &OutboxMail{
		ID: id.String(), UserID: userID, Kind: m.Kind, Payload: payload,
		CreatedAt: now, NextAttemptAt: now, ExpiresAt: expiresAt,
	})
}
