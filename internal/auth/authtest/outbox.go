package authtest

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/talentforge/authd/internal/auth"
)

// The outbox (auth.OutboxTx, auth.OutboxStore): mail queued in a user's
// unit of work, leased to one sender at a time by ClaimMail, made due
// again by RetryMail, and deleted once sent.

// newMail returns a valid, not yet queued mail of the user, due at due.
// Its payload is binary, as a sealed one is.
func newMail(t *testing.T, userID string, due time.Time) *auth.OutboxMail {
	t.Helper()
	return &auth.OutboxMail{
		ID:            newID(t),
		UserID:        userID,
		Kind:          auth.MailVerifyEmail,
		Payload:       append([]byte{0, 0xff, '\n'}, randomBytes(t, 200)...),
		CreatedAt:     at(due, -time.Second),
		NextAttemptAt: due,
	}
}

// enqueueMail queues a new mail of the user, due at due.
func enqueueMail(t *testing.T, s Backend, userID string, due time.Time) *auth.OutboxMail {
	t.Helper()
	m := newMail(t, userID, due)
	mustOK(t, txEnqueueMail(context.Background(), s, userID, m, nil))
	return m
}

// claimMail returns what ClaimMail returns, its times in UTC.
func claimMail(t *testing.T, s Backend, now, leaseUntil time.Time, limit int) []*auth.OutboxMail {
	t.Helper()
	mails, err := s.ClaimMail(context.Background(), now, leaseUntil, limit)
	mustOK(t, err)
	for _, m := range mails {
		wantUTC(t, m.CreatedAt, m.NextAttemptAt, m.ExpiresAt)
	}
	return mails
}

// claimed returns m as ClaimMail returns it when it leases m until
// leaseUntil.
func claimed(m *auth.OutboxMail, leaseUntil time.Time) *auth.OutboxMail {
	c := *m
	c.NextAttemptAt = leaseUntil
	c.Attempts++
	return &c
}

func mailIDs(mails []*auth.OutboxMail) []string {
	ids := make([]string, len(mails))
	for i, m := range mails {
		ids[i] = m.ID
	}
	return ids
}

// wantQueued fails unless OutboxStats reports n mails, the oldest queued
// at oldest.
func wantQueued(t *testing.T, s Backend, n int64, oldest time.Time) {
	t.Helper()
	got, first, err := s.OutboxStats(context.Background())
	mustOK(t, err)
	if got != n || !first.Equal(oldest) {
		t.Errorf("OutboxStats = %d, %v; want %d, %v", got, first, n, oldest)
	}
	wantUTC(t, first)
}

// testEnqueueClaimMail: a queued mail is claimed whole, its lease keeps
// it from a second claim, and once the lease runs out (its sender died)
// it is claimed again.
func testEnqueueClaimMail(t *testing.T, s Backend) {
	u := createUser(t, s)
	base := at(now(), 0)
	m := enqueueMail(t, s, u.ID, base)

	lease := at(base, time.Minute)
	got := claimMail(t, s, base, lease, 10)
	if d := diff([]*auth.OutboxMail{claimed(m, lease)}, got); d != "" {
		t.Errorf("ClaimMail (-want +got):\n%s", d)
	}
	if got := claimMail(t, s, at(base, 30*time.Second), at(base, 2*time.Minute), 10); len(got) != 0 {
		t.Errorf("ClaimMail within the lease = %v, want none", mailIDs(got))
	}
	lease2 := at(lease, time.Minute)
	got = claimMail(t, s, lease, lease2, 10) // due again as the lease ends
	if d := diff([]*auth.OutboxMail{claimed(claimed(m, lease), lease2)}, got); d != "" {
		t.Errorf("ClaimMail after the lease (-want +got):\n%s", d)
	}

	// Attempts, LastError and ExpiresAt are stored as given.
	retried := newMail(t, u.ID, base)
	retried.Kind, retried.Attempts, retried.LastError = auth.MailResetPassword, 3, "smtp: 421 busy"
	retried.ExpiresAt = at(base, time.Hour)
	retried.Payload = nil
	mustOK(t, txEnqueueMail(context.Background(), s, u.ID, retried, nil))
	got = claimMail(t, s, at(base, time.Second), lease, 10)
	if d := diff([]*auth.OutboxMail{claimed(retried, lease)}, got); d != "" {
		t.Errorf("ClaimMail of a mail queued with attempts and an expiry (-want +got):\n%s", d)
	}
}

// testMailExpiresAt: ExpiresAt round-trips, to the microsecond, in UTC
// whatever zone it was given in; the zero time (a mail without a link)
// comes back zero. An expired mail is still claimed: the sender decides.
func testMailExpiresAt(t *testing.T, s Backend) {
	u := createUser(t, s)
	base := at(now(), 0)
	withLink := newMail(t, u.ID, base)
	withLink.ExpiresAt = at(base, 24*time.Hour).In(time.FixedZone("UTC+5", 5*60*60))
	expired := newMail(t, u.ID, at(base, time.Second))
	expired.Kind, expired.ExpiresAt = auth.MailResetPassword, at(base, -time.Hour)
	notice := newMail(t, u.ID, at(base, 2*time.Second))
	notice.Kind = auth.MailEmailChangeNotice // no link: zero ExpiresAt
	for _, m := range []*auth.OutboxMail{withLink, expired, notice} {
		mustOK(t, txEnqueueMail(context.Background(), s, u.ID, m, nil))
	}

	lease := at(base, time.Minute)
	got := claimMail(t, s, at(base, 2*time.Second), lease, 10) // checks UTC
	want := []*auth.OutboxMail{claimed(withLink, lease), claimed(expired, lease), claimed(notice, lease)}
	if d := diff(want, got); d != "" { // times compare with Equal
		t.Errorf("ClaimMail (-want +got):\n%s", d)
	}
	if len(got) == 3 && !got[2].ExpiresAt.IsZero() {
		t.Errorf("the notice's ExpiresAt = %v, want the zero time", got[2].ExpiresAt)
	}
}

// testClaimMailOrderAndLimit: a claim takes at most limit mails, the
// earliest due first, returned in that order, and none not due yet.
func testClaimMailOrderAndLimit(t *testing.T, s Backend) {
	u, v := createUser(t, s), createUser(t, s)
	base := at(now(), 0)
	var due []*auth.OutboxMail // earliest first
	for i := range 6 {
		user := u.ID
		if i%2 == 1 {
			user = v.ID
		}
		due = append(due, newMail(t, user, at(base, time.Duration(i-6)*time.Minute)))
	}
	later := newMail(t, u.ID, at(base, time.Hour))
	queue := append(slices.Clone(due), later)
	rand.Shuffle(len(queue), func(i, j int) { queue[i], queue[j] = queue[j], queue[i] })
	for _, m := range queue {
		mustOK(t, txEnqueueMail(context.Background(), s, m.UserID, m, nil))
	}

	lease := at(base, 2*time.Hour) // past the last mail's due time
	want := func(mails []*auth.OutboxMail) []*auth.OutboxMail {
		var r []*auth.OutboxMail
		for _, m := range mails {
			r = append(r, claimed(m, lease))
		}
		return r
	}
	if d := diff(want(due[:4]), claimMail(t, s, base, lease, 4)); d != "" {
		t.Errorf("first claim of 4 (-want +got):\n%s", d)
	}
	if d := diff(want(due[4:]), claimMail(t, s, base, lease, 4)); d != "" {
		t.Errorf("second claim of 4 (-want +got):\n%s", d)
	}
	if got := claimMail(t, s, base, lease, 4); len(got) != 0 {
		t.Errorf("third claim = %v, want none: the rest is not due", mailIDs(got))
	}
	if d := diff(want([]*auth.OutboxMail{later}), claimMail(t, s, later.NextAttemptAt, lease, 4)); d != "" {
		t.Errorf("claim once the last mail is due (-want +got):\n%s", d)
	}
}

// testClaimMailConcurrently: senders that claim from one queue at once
// never get the same mail, and between them get all of it.
func testClaimMailConcurrently(t *testing.T, s Backend) {
	const senders, mails, batch = 8, 60, 5
	users := []*auth.User{createUser(t, s), createUser(t, s), createUser(t, s)}
	base := at(now(), 0)
	queued := map[string]bool{}
	for i := range mails {
		m := enqueueMail(t, s, users[i%len(users)].ID, base.Add(-time.Duration(i%7)*time.Second))
		queued[m.ID] = true
	}

	lease := at(base, time.Hour)
	got := make([][]*auth.OutboxMail, senders)
	errs := make([]error, senders)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range senders {
		wg.Go(func() {
			<-start
			for range mails { // bounded, in case a claim never comes back empty
				ms, err := s.ClaimMail(context.Background(), base, lease, batch)
				if err != nil {
					errs[i] = err
					return
				}
				if len(ms) == 0 {
					return
				}
				if len(ms) > batch {
					errs[i] = fmt.Errorf("a claim of %d returned %d mails", batch, len(ms))
					return
				}
				got[i] = append(got[i], ms...)
			}
		})
	}
	close(start)
	wg.Wait()

	seen := map[string]int{}
	for i := range senders {
		if errs[i] != nil {
			t.Errorf("sender %d: %v", i, errs[i])
		}
		for _, m := range got[i] {
			if seen[m.ID]++; seen[m.ID] == 2 {
				t.Errorf("mail %s was claimed twice", m.ID)
			}
			if !queued[m.ID] {
				t.Errorf("claimed mail %s was never queued", m.ID)
			}
			if m.Attempts != 1 || !m.NextAttemptAt.Equal(lease) {
				t.Errorf("mail %s: Attempts %d, NextAttemptAt %v; want 1, %v", m.ID, m.Attempts, m.NextAttemptAt, lease)
			}
		}
	}
	if len(seen) != len(queued) {
		t.Errorf("the senders claimed %d distinct mails of %d", len(seen), len(queued))
	}
	if got := claimMail(t, s, base, lease, mails); len(got) != 0 {
		t.Errorf("%d mails left due after the senders were done", len(got))
	}
}

func testRetryMail(t *testing.T, s Backend) {
	ctx := context.Background()
	u, other := createUser(t, s), createUser(t, s)
	base := at(now(), 0)
	m := enqueueMail(t, s, u.ID, base)
	theirs := enqueueMail(t, s, other.ID, at(base, time.Hour))
	lease := at(base, time.Minute)
	claimMail(t, s, base, lease, 1)

	next := at(base, 10*time.Minute)
	mustOK(t, s.RetryMail(ctx, u.ID, m.ID, next, "smtp: 451 try again later"))
	if got := claimMail(t, s, at(base, 5*time.Minute), at(base, 6*time.Minute), 10); len(got) != 0 {
		t.Errorf("claim after the lease, before the retry = %v, want none", mailIDs(got))
	}
	want := claimed(m, lease)
	want.NextAttemptAt, want.LastError = next, "smtp: 451 try again later"
	lease2 := at(next, time.Minute)
	if d := diff([]*auth.OutboxMail{claimed(want, lease2)}, claimMail(t, s, next, lease2, 10)); d != "" {
		t.Errorf("claim at the retry (-want +got):\n%s", d)
	}

	for name, c := range map[string]struct{ userID, id string }{
		"unknown mail":      {u.ID, newID(t)},
		"another's mail":    {u.ID, theirs.ID},
		"unknown user":      {newID(t), m.ID},
		"malformed mail id": {u.ID, "not-a-uuid"},
		"malformed user id": {"not-a-uuid", m.ID},
	} {
		err := s.RetryMail(ctx, c.userID, c.id, base, "x")
		if !errors.Is(err, auth.ErrMailNotFound) {
			t.Errorf("%s: RetryMail = %v, want %v", name, err, auth.ErrMailNotFound)
		}
	}
	// Neither mail was touched.
	lease3 := at(next, 2*time.Hour)
	wantBoth := []*auth.OutboxMail{claimed(claimed(want, lease2), lease3), claimed(theirs, lease3)}
	if d := diff(wantBoth, claimMail(t, s, at(next, time.Hour), lease3, 10)); d != "" {
		t.Errorf("the mails after refused retries, claimed again (-want +got):\n%s", d)
	}
}

func testDeleteMail(t *testing.T, s Backend) {
	ctx := context.Background()
	u, other := createUser(t, s), createUser(t, s)
	base := at(now(), 0)
	m := enqueueMail(t, s, u.ID, base)
	kept := enqueueMail(t, s, u.ID, at(base, time.Second))
	theirs := enqueueMail(t, s, other.ID, at(base, 2*time.Second))

	mustOK(t, txDeleteMail(ctx, s, u.ID, m.ID, nil))
	for name, c := range map[string]struct{ userID, id string }{
		"deleted mail":      {u.ID, m.ID},
		"another's mail":    {u.ID, theirs.ID},
		"unknown mail":      {u.ID, newID(t)},
		"malformed mail id": {u.ID, "not-a-uuid"},
	} {
		err := txDeleteMail(ctx, s, c.userID, c.id, nil)
		if !errors.Is(err, auth.ErrMailNotFound) {
			t.Errorf("%s: DeleteMail = %v, want %v", name, err, auth.ErrMailNotFound)
		}
	}
	wantQueued(t, s, 2, kept.CreatedAt)
	lease := at(base, time.Hour)
	want := []*auth.OutboxMail{claimed(kept, lease), claimed(theirs, lease)}
	if d := diff(want, claimMail(t, s, at(base, time.Minute), lease, 10)); d != "" {
		t.Errorf("the mails left (-want +got):\n%s", d)
	}
}

func testEnqueueMailErrors(t *testing.T, s Backend) {
	ctx := context.Background()
	u, other := createUser(t, s), createUser(t, s)
	base := at(now(), 0)

	err := txEnqueueMail(ctx, s, u.ID, newMail(t, other.ID, base), nil)
	if !errors.Is(err, auth.ErrOtherUser) {
		t.Errorf("EnqueueMail of another user's mail = %v, want %v", err, auth.ErrOtherUser)
	}
	malformed := newMail(t, u.ID, base)
	malformed.ID = strings.ToUpper(malformed.ID)
	wantCode(t, txEnqueueMail(ctx, s, u.ID, malformed, nil), auth.EInvalid)
	ghost := newID(t)
	wantCode(t, txEnqueueMail(ctx, s, ghost, newMail(t, ghost, base), nil), auth.ENotFound)
	wantQueued(t, s, 0, time.Time{})

	m := enqueueMail(t, s, u.ID, base)
	for name, dup := range map[string]*auth.OutboxMail{
		"same user":    newMail(t, u.ID, at(base, time.Second)),
		"another user": newMail(t, other.ID, at(base, time.Second)),
	} {
		dup.ID = m.ID
		err := txEnqueueMail(ctx, s, dup.UserID, dup, nil)
		if !errors.Is(err, auth.ErrExists) {
			t.Errorf("%s: EnqueueMail of a taken id = %v, want %v", name, err, auth.ErrExists)
		}
	}
	lease := at(base, time.Hour)
	if d := diff([]*auth.OutboxMail{claimed(m, lease)}, claimMail(t, s, at(base, time.Minute), lease, 10)); d != "" {
		t.Errorf("the queue after refused mails (-want +got):\n%s", d)
	}
}

func testOutboxStats(t *testing.T, s Backend) {
	ctx := context.Background()
	wantQueued(t, s, 0, time.Time{})
	u := createUser(t, s)
	base := at(now(), 0)
	// Queued out of the order of their CreatedAt, and due in another.
	var mails []*auth.OutboxMail
	for _, d := range []time.Duration{2, 0, 1} {
		m := newMail(t, u.ID, at(base, -d*time.Minute))
		m.CreatedAt = at(base, -time.Hour+d*time.Minute)
		mustOK(t, txEnqueueMail(ctx, s, u.ID, m, nil))
		mails = append(mails, m)
	}
	wantQueued(t, s, 3, mails[1].CreatedAt)
	// A claim leaves the mails queued.
	claimMail(t, s, base, at(base, time.Minute), 10)
	wantQueued(t, s, 3, mails[1].CreatedAt)
	mustOK(t, txDeleteMail(ctx, s, u.ID, mails[1].ID, nil))
	wantQueued(t, s, 2, mails[2].CreatedAt)
}

// testDeleteUserDropsMail: deleting a user drops its mail not sent yet,
// and no one else's.
func testDeleteUserDropsMail(t *testing.T, s Backend) {
	u, other := createUser(t, s), createUser(t, s)
	base := at(now(), 0)
	enqueueMail(t, s, u.ID, base)
	enqueueMail(t, s, u.ID, at(base, time.Second))
	theirs := enqueueMail(t, s, other.ID, at(base, 2*time.Second))

	mustOK(t, txDeleteUser(context.Background(), s, u.ID, 0, nil))
	wantQueued(t, s, 1, theirs.CreatedAt)
	lease := at(base, time.Hour)
	if d := diff([]*auth.OutboxMail{claimed(theirs, lease)}, claimMail(t, s, at(base, time.Minute), lease, 10)); d != "" {
		t.Errorf("the queue after deleting a user (-want +got):\n%s", d)
	}
}

// testTxFnErrorUndoesTokenAndMail: a user's unit of work whose fn returns
// an error keeps neither the token nor the mail it wrote: the mail is sent
// only if the change it tells of commits.
func testTxFnErrorUndoesTokenAndMail(t *testing.T, s Backend) {
	ctx := context.Background()
	u := createUser(t, s)
	base := at(now(), 0)
	tok := newOneTimeToken(t, u.ID, auth.PurposeResetPassword)
	m := newMail(t, u.ID, base)
	write := func(tx auth.UserTx) error {
		if err := tx.CreateOneTimeToken(ctx, tok); err != nil {
			return err
		}
		return tx.EnqueueMail(ctx, m)
	}

	err := s.InUserTx(ctx, u.ID, func(tx auth.UserTx) error {
		if err := write(tx); err != nil {
			t.Errorf("a write in the unit of work failed: %v", err)
		}
		return errFn
	})
	if !errors.Is(err, errFn) {
		t.Fatalf("InUserTx = %v, want fn's error %v", err, errFn)
	}
	wantOneTimeToken(t, s, tok, false, "the token of an abandoned unit of work")
	wantQueued(t, s, 0, time.Time{})

	// The same writes, kept.
	mustOK(t, s.InUserTx(ctx, u.ID, write))
	wantOneTimeToken(t, s, tok, true, "the token of a committed unit of work")
	wantQueued(t, s, 1, m.CreatedAt)
}
