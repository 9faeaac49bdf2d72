package auth

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"
)

// The backends' migrations that bring stored emails under NormalizeEmail
// (rows written by versions that only applied NFC and lower-casing, or
// imported as they came) share the rule of what happens to each row, which
// lives here once.

// StoredEmail is a user's email as a backend holds it.
type StoredEmail struct {
	UserID    string
	Email     string
	CreatedAt time.Time
}

// EmailRewrite replaces a user's stored email From with its normal form To.
type EmailRewrite struct {
	UserID, From, To string
}

// Event returns the audit event of the rewrite: a system edit of the
// user's email field.
func (w EmailRewrite) Event(at time.Time) *Event {
	ev := newEvent(EventUserUpdated, at, Origin{})
	ev.ActorType, ev.UserID, ev.Reason = ActorSystem, w.UserID, "email"
	return ev
}

// Reasons of EventUserEmailFlagged.
const (
	EmailFlagCollision = "email_collision" // another account holds the normal form
	EmailFlagInvalid   = "email_invalid"   // NormalizeEmail refuses the stored email
)

// EmailFlag is a user whose stored email was left as it was because it
// could not be brought under NormalizeEmail.
type EmailFlag struct {
	UserID   string
	Email    string // as stored, and left
	Reason   string // EmailFlagCollision or EmailFlagInvalid
	HolderID string // for a collision, the user who holds the normal form
	Detail   string // one sentence for operators, kept with the user row
}

// Event returns the audit event of the flag: the system failed to
// re-normalise the user's email, Resource naming the holder of a collision.
func (f EmailFlag) Event(at time.Time) *Event {
	ev := newEvent(EventUserEmailFlagged, at, Origin{})
	ev.ActorType, ev.UserID, ev.Resource = ActorSystem, f.UserID, f.HolderID
	ev.Outcome, ev.Reason = OutcomeFailure, f.Reason
	return ev
}

// EmailRenormalization decides, for the stored emails fed to Add, which to
// rewrite to their normal form and which to flag. It merges no accounts and
// never fails over data:
//
//   - a stored email that is its own normal form stays;
//   - one NormalizeEmail refuses (mixed scripts, invisible characters, an
//     invalid domain…) stays as stored and is flagged EmailFlagInvalid;
//   - among the stored emails with one normal form, if a user already holds
//     that form, it keeps it and the others stay as stored, flagged
//     EmailFlagCollision: taking the address from the account every
//     canonical spelling reached would hand that spelling to another
//     account, and rewriting the holder would lock its owner out;
//   - otherwise the oldest account (by creation, then id) gets the normal
//     form and the others are flagged EmailFlagCollision.
//
// A flagged account keeps its sessions, but no sign-in input normalises to
// its stored email any more: it can't log in with a password until an
// operator gives it another address.
//
// The zero value is ready to use.
type EmailRenormalization struct {
	changed map[string][]StoredEmail // by normal form
	flags   []EmailFlag
}

// Add considers one stored email. Emails already in normal form are
// dropped at once, so a backend may stream every row through Add.
func (r *EmailRenormalization) Add(row StoredEmail) {
	n, err := NormalizeEmail(row.Email)
	switch {
	case err != nil:
		r.flags = append(r.flags, EmailFlag{
			UserID: row.UserID, Email: row.Email, Reason: EmailFlagInvalid,
			Detail: "not a valid email under the normalisation rule: " + ErrorMessage(err),
		})
	case n != row.Email:
		if r.changed == nil {
			r.changed = make(map[string][]StoredEmail)
		}
		r.changed[n] = append(r.changed[n], row)
	}
}

// Plan returns the rewrites and the flags, each ordered by user id. holder
// returns the id of the user whose stored email is exactly email, or "" if
// none; it must read the stored emails as they were before any rewrite.
// Returns the first error of holder.
func (r *EmailRenormalization) Plan(ctx context.Context, holder func(ctx context.Context, email string) (string, error)) ([]EmailRewrite, []EmailFlag, error) {
	var rewrites []EmailRewrite
	flags := slices.Clone(r.flags)
	for n, rows := range r.changed {
		keeper, err := holder(ctx, n)
		if err != nil {
			return nil, nil, err
		}
		if keeper == "" {
			// A normal form is a fixed point of NormalizeEmail, so no row
			// holding it is among rows: every one of them changes.
			slices.SortFunc(rows, func(a, b StoredEmail) int {
				return cmp.Or(a.CreatedAt.Compare(b.CreatedAt), cmp.Compare(a.UserID, b.UserID))
			})
			rewrites = append(rewrites, EmailRewrite{UserID: rows[0].UserID, From: rows[0].Email, To: n})
			keeper, rows = rows[0].UserID, rows[1:]
		}
		for _, row := range rows {
			flags = append(flags, EmailFlag{
				UserID: row.UserID, Email: row.Email, Reason: EmailFlagCollision, HolderID: keeper,
				Detail: fmt.Sprintf("normalises to %s, which user %s holds", n, keeper),
			})
		}
	}
	slices.SortFunc(rewrites, func(a, b EmailRewrite) int { return cmp.Compare(a.UserID, b.UserID) })
	slices.SortFunc(flags, func(a, b EmailFlag) int { return cmp.Compare(a.UserID, b.UserID) })
	return rewrites, flags, nil
}
