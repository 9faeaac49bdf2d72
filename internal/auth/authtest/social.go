package authtest

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/talentforge/authd/internal/auth"
)

// Social sign-in (auth.IdentityTx, auth.IdentityStore, auth.OAuthCodeTx,
// auth.OAuthStateStore): identities link a user to accounts at providers,
// one per provider and each account to one user; unlinking never takes a
// user's last way to sign in, even under concurrency. States and codes are
// spent exactly once, expired or not (the caller judges expiry).

// newIdentity returns a valid, not yet stored identity of the user at
// provider, with a unique subject.
func newIdentity(t *testing.T, userID, provider string) *auth.Identity {
	t.Helper()
	created := at(now(), -time.Hour)
	return &auth.Identity{
		UserID:        userID,
		Provider:      provider,
		Subject:       "sub-" + newID(t),
		Email:         "id-" + newID(t) + "@example.com",
		EmailVerified: true,
		CreatedAt:     created,
		LastUsedAt:    at(created, time.Minute),
	}
}

func txLinkIdentity(ctx context.Context, s Backend, userID string, id *auth.Identity) error {
	return inUser(ctx, s, userID, nil, func(tx auth.UserTx) error { return tx.LinkIdentity(ctx, id) })
}

func txTouchIdentity(ctx context.Context, s Backend, userID, provider, email string, verified bool, at time.Time) error {
	return inUser(ctx, s, userID, nil, func(tx auth.UserTx) error {
		return tx.TouchIdentity(ctx, provider, email, verified, at)
	})
}

func txUnlinkIdentity(ctx context.Context, s Backend, userID, provider string) error {
	return inUser(ctx, s, userID, nil, func(tx auth.UserTx) error { return tx.UnlinkIdentity(ctx, provider) })
}

func txCreateOAuthCode(ctx context.Context, s Backend, userID string, c *auth.OAuthCode) error {
	return inUser(ctx, s, userID, nil, func(tx auth.UserTx) error { return tx.CreateOAuthCode(ctx, c) })
}

// txConsumeOAuthCode consumes the code in a unit of work of its own, which
// commits: a code it returns is gone.
func txConsumeOAuthCode(ctx context.Context, s Backend, userID string, hash []byte) (c *auth.OAuthCode, err error) {
	err = s.InUserTx(ctx, userID, func(tx auth.UserTx) (err error) {
		c, err = tx.ConsumeOAuthCode(ctx, hash)
		return err
	})
	return c, err
}

// linkIdentity stores a new identity of the user at provider.
func linkIdentity(t *testing.T, s Backend, userID, provider string) *auth.Identity {
	t.Helper()
	id := newIdentity(t, userID, provider)
	mustOK(t, txLinkIdentity(context.Background(), s, userID, id))
	return id
}

// createPasswordlessUser stores a user without a password: a social-only
// account, whose identities are its only ways to sign in.
func createPasswordlessUser(t *testing.T, s Backend) *auth.User {
	t.Helper()
	u := newUser(t)
	u.PasswordHash, u.HasPassword = "", false
	mustOK(t, txCreateUser(context.Background(), s, u, nil))
	return u
}

func listIdentities(t *testing.T, s Backend, userID string) []*auth.Identity {
	t.Helper()
	list, err := s.Identities(context.Background(), userID)
	mustOK(t, err)
	return list
}

// wantIdentities fails unless the user's identities are want, in order.
func wantIdentities(t *testing.T, s Backend, userID string, what string, want ...*auth.Identity) {
	t.Helper()
	if d := diff(want, listIdentities(t, s, userID)); d != "" {
		t.Errorf("%s: Identities (-want +got):\n%s", what, d)
	}
}

func testLinkIdentity(t *testing.T, s Backend) {
	ctx := context.Background()
	u, other := createUser(t, s), createUser(t, s)
	google := newIdentity(t, u.ID, "google")
	google.EmailVerified = false
	mustOK(t, txLinkIdentity(ctx, s, u.ID, google))
	github := linkIdentity(t, s, u.ID, "github")
	theirs := linkIdentity(t, s, other.ID, "google")

	got, err := s.IdentityBySubject(ctx, "google", google.Subject)
	mustOK(t, err)
	if d := diff(google, got); d != "" {
		t.Errorf("IdentityBySubject (-want +got):\n%s", d)
	}
	wantUTC(t, got.CreatedAt, got.LastUsedAt)

	list := listIdentities(t, s, u.ID)
	if d := diff([]*auth.Identity{github, google}, list); d != "" { // ordered by provider
		t.Errorf("Identities (-want +got):\n%s", d)
	}
	for _, id := range list {
		wantUTC(t, id.CreatedAt, id.LastUsedAt)
	}
	wantIdentities(t, s, other.ID, "another user", theirs)

	for name, c := range map[string]struct{ provider, subject string }{
		"unknown subject":             {"google", "no-such-subject"},
		"subject at another provider": {"github", google.Subject},
		"empty":                       {"", ""},
	} {
		_, err := s.IdentityBySubject(ctx, c.provider, c.subject)
		if !errors.Is(err, auth.ErrIdentityNotFound) {
			t.Errorf("%s: IdentityBySubject = %v, want %v", name, err, auth.ErrIdentityNotFound)
		}
	}
	for name, id := range map[string]string{
		"unknown user":   newID(t),
		"malformed id":   "not-a-uuid",
		"empty id":       "",
		"user with none": createUser(t, s).ID,
	} {
		if list := listIdentities(t, s, id); len(list) != 0 {
			t.Errorf("%s: Identities = %d identities, want none", name, len(list))
		}
	}
}

func testLinkIdentityErrors(t *testing.T, s Backend) {
	ctx := context.Background()
	u, other := createUser(t, s), createUser(t, s)
	mine := linkIdentity(t, s, u.ID, "google")

	// The same account at the provider, linked to another user.
	dup := newIdentity(t, other.ID, "google")
	dup.Subject = mine.Subject
	if err := txLinkIdentity(ctx, s, other.ID, dup); !errors.Is(err, auth.ErrIdentityTaken) {
		t.Errorf("LinkIdentity of an account linked to another user = %v, want %v", err, auth.ErrIdentityTaken)
	}
	// ... or to the same user again.
	again := newIdentity(t, u.ID, "google")
	again.Subject = mine.Subject
	if err := txLinkIdentity(ctx, s, u.ID, again); !errors.Is(err, auth.ErrIdentityTaken) {
		t.Errorf("LinkIdentity of the same account again = %v, want %v", err, auth.ErrIdentityTaken)
	}
	// A second account at a provider the user has one at.
	second := newIdentity(t, u.ID, "google")
	if err := txLinkIdentity(ctx, s, u.ID, second); !errors.Is(err, auth.ErrIdentityTaken) {
		t.Errorf("LinkIdentity of a second account at a provider = %v, want %v", err, auth.ErrIdentityTaken)
	}
	// The same subject at another provider is another account.
	elsewhere := newIdentity(t, other.ID, "github")
	elsewhere.Subject = mine.Subject
	mustOK(t, txLinkIdentity(ctx, s, other.ID, elsewhere))

	// Another user's identity in u's unit of work.
	theirs := newIdentity(t, other.ID, "gitlab")
	if err := txLinkIdentity(ctx, s, u.ID, theirs); !errors.Is(err, auth.ErrOtherUser) {
		t.Errorf("LinkIdentity of another user's identity = %v, want %v", err, auth.ErrOtherUser)
	}
	// An unknown user.
	ghost := newID(t)
	if err := txLinkIdentity(ctx, s, ghost, newIdentity(t, ghost, "google")); !errors.Is(err, auth.ErrUserNotFound) {
		t.Errorf("LinkIdentity for an unknown user = %v, want %v", err, auth.ErrUserNotFound)
	}

	wantIdentities(t, s, u.ID, "u after the refusals", mine)
	wantIdentities(t, s, other.ID, "other after the refusals", elsewhere)
}

func testTouchIdentity(t *testing.T, s Backend) {
	ctx := context.Background()
	u, other := createUser(t, s), createUser(t, s)
	google := linkIdentity(t, s, u.ID, "google")
	github := linkIdentity(t, s, u.ID, "github")
	theirs := linkIdentity(t, s, other.ID, "google")

	used := at(now(), time.Minute)
	email := "new-" + newID(t) + "@example.com"
	mustOK(t, txTouchIdentity(ctx, s, u.ID, "google", email, false, used))
	google.Email, google.EmailVerified, google.LastUsedAt = email, false, used
	wantIdentities(t, s, u.ID, "after TouchIdentity", github, google)
	wantIdentities(t, s, other.ID, "another user's identity at the provider", theirs)

	mustOK(t, txTouchIdentity(ctx, s, u.ID, "google", email, true, at(used, time.Minute)))
	google.EmailVerified, google.LastUsedAt = true, at(used, time.Minute)
	got, err := s.IdentityBySubject(ctx, "google", google.Subject)
	mustOK(t, err)
	if d := diff(google, got); d != "" {
		t.Errorf("after a second TouchIdentity (-want +got):\n%s", d)
	}

	for name, c := range map[string]struct{ userID, provider string }{
		"no identity at the provider": {u.ID, "gitlab"},
		"unknown user":                {newID(t), "google"},
	} {
		err := txTouchIdentity(ctx, s, c.userID, c.provider, email, true, used)
		if !errors.Is(err, auth.ErrIdentityNotFound) {
			t.Errorf("%s: TouchIdentity = %v, want %v", name, err, auth.ErrIdentityNotFound)
		}
	}
}

func testUnlinkIdentity(t *testing.T, s Backend) {
	ctx := context.Background()

	// With a password, the only identity goes.
	u := createUser(t, s)
	linkIdentity(t, s, u.ID, "google")
	if err := txUnlinkIdentity(ctx, s, u.ID, "github"); !errors.Is(err, auth.ErrIdentityNotFound) {
		t.Errorf("UnlinkIdentity at a provider without one = %v, want %v", err, auth.ErrIdentityNotFound)
	}
	mustOK(t, txUnlinkIdentity(ctx, s, u.ID, "google"))
	wantIdentities(t, s, u.ID, "after unlinking a user's only identity, the user having a password")
	if err := txUnlinkIdentity(ctx, s, u.ID, "google"); !errors.Is(err, auth.ErrIdentityNotFound) {
		t.Errorf("second UnlinkIdentity = %v, want %v", err, auth.ErrIdentityNotFound)
	}

	// Without a password, one identity may go while another stays, and
	// the last one stays.
	p := createPasswordlessUser(t, s)
	linkIdentity(t, s, p.ID, "google")
	github := linkIdentity(t, s, p.ID, "github")
	mustOK(t, txUnlinkIdentity(ctx, s, p.ID, "google"))
	wantIdentities(t, s, p.ID, "after unlinking one of two identities", github)
	if err := txUnlinkIdentity(ctx, s, p.ID, "github"); !errors.Is(err, auth.ErrLastSignIn) {
		t.Errorf("UnlinkIdentity of a password-less user's last identity = %v, want %v", err, auth.ErrLastSignIn)
	}
	wantIdentities(t, s, p.ID, "after refusing to unlink the last identity", github)
	if err := txUnlinkIdentity(ctx, s, p.ID, "google"); !errors.Is(err, auth.ErrIdentityNotFound) {
		t.Errorf("UnlinkIdentity at a provider without one, password-less = %v, want %v", err, auth.ErrIdentityNotFound)
	}

	// Another user's identities are not the transaction user's.
	other := createUser(t, s)
	theirs := linkIdentity(t, s, other.ID, "gitlab")
	if err := txUnlinkIdentity(ctx, s, u.ID, "gitlab"); !errors.Is(err, auth.ErrIdentityNotFound) {
		t.Errorf("UnlinkIdentity at another user's provider = %v, want %v", err, auth.ErrIdentityNotFound)
	}
	wantIdentities(t, s, other.ID, "another user's identity", theirs)

	wantCode(t, txUnlinkIdentity(ctx, s, newID(t), "google"), auth.ENotFound)
}

func testUnlinkUnverifiedIdentities(t *testing.T, s Backend) {
	ctx := context.Background()
	p := createPasswordlessUser(t, s)
	verified := linkIdentity(t, s, p.ID, "google")
	unverified := newIdentity(t, p.ID, "github")
	unverified.EmailVerified = false
	mustOK(t, txLinkIdentity(ctx, s, p.ID, unverified))
	other := createUser(t, s)
	theirs := newIdentity(t, other.ID, "gitlab")
	theirs.EmailVerified = false
	mustOK(t, txLinkIdentity(ctx, s, other.ID, theirs))

	var n int64
	mustOK(t, s.InUserTx(ctx, p.ID, func(tx auth.UserTx) (err error) {
		n, err = tx.UnlinkUnverifiedIdentities(ctx)
		return err
	}))
	if n != 1 {
		t.Errorf("UnlinkUnverifiedIdentities removed %d, want 1", n)
	}
	wantIdentities(t, s, p.ID, "after unlinking the unverified identities", verified)
	wantIdentities(t, s, other.ID, "another user's unverified identity", theirs)
	// Nothing left to remove is no error.
	mustOK(t, s.InUserTx(ctx, p.ID, func(tx auth.UserTx) (err error) {
		n, err = tx.UnlinkUnverifiedIdentities(ctx)
		return err
	}))
	if n != 0 {
		t.Errorf("second UnlinkUnverifiedIdentities removed %d, want 0", n)
	}
}

// testUnlinkIdentityConcurrently: a password-less user with two identities
// unlinks both at once; exactly one unlink succeeds and the other is
// ELastSignIn, every round (the first also opens the connections a pooling
// backend lacks, which could spread the contenders out in time).
func testUnlinkIdentityConcurrently(t *testing.T, s Backend) {
	const rounds = 8
	providers := [2]string{"google", "github"}
	for round := range rounds {
		u := createPasswordlessUser(t, s)
		for _, p := range providers {
			linkIdentity(t, s, u.ID, p)
		}
		var (
			errs  [2]error
			wg    sync.WaitGroup
			start = make(chan struct{})
		)
		for i, p := range providers {
			wg.Go(func() {
				<-start
				errs[i] = txUnlinkIdentity(context.Background(), s, u.ID, p)
			})
		}
		close(start)
		wg.Wait()

		won, last := 0, 0
		for i, err := range errs {
			switch {
			case err == nil:
				won++
			case errors.Is(err, auth.ErrLastSignIn):
				last++
			default:
				t.Errorf("round %d, unlink of %s: %v, want nil or %v", round, providers[i], err, auth.ErrLastSignIn)
			}
		}
		if won != 1 || last != 1 {
			t.Errorf("round %d: %d unlinks succeeded and %d were %s, want 1 and 1", round, won, last, auth.ELastSignIn)
		}
		if n := len(listIdentities(t, s, u.ID)); n != 1 {
			t.Errorf("round %d: %d identities left, want 1", round, n)
		}
	}
}

// testDeleteUserDropsIdentities: deleting a user deletes its identities
// and codes (a user later created with the same id does not find them),
// and no one else's; the accounts at the providers are free again.
func testDeleteUserDropsIdentities(t *testing.T, s Backend) {
	ctx := context.Background()
	u, other := createUser(t, s), createUser(t, s)
	mine := linkIdentity(t, s, u.ID, "google")
	theirs := linkIdentity(t, s, other.ID, "google")
	myCode := createOAuthCode(t, s, u.ID)
	theirCode := createOAuthCode(t, s, other.ID)

	mustOK(t, txDeleteUser(ctx, s, u.ID, 0, nil))
	if _, err := s.IdentityBySubject(ctx, "google", mine.Subject); !errors.Is(err, auth.ErrIdentityNotFound) {
		t.Errorf("IdentityBySubject of a deleted user's identity = %v, want %v", err, auth.ErrIdentityNotFound)
	}
	again := newUser(t)
	again.ID = u.ID
	mustOK(t, txCreateUser(ctx, s, again, nil))
	wantIdentities(t, s, u.ID, "the user created again")
	if _, err := txConsumeOAuthCode(ctx, s, u.ID, myCode.Hash); !errors.Is(err, auth.ErrOAuthCodeNotFound) {
		t.Errorf("ConsumeOAuthCode of a deleted user's code = %v, want %v", err, auth.ErrOAuthCodeNotFound)
	}
	wantIdentities(t, s, other.ID, "another user", theirs)
	got, err := txConsumeOAuthCode(ctx, s, other.ID, theirCode.Hash)
	mustOK(t, err)
	if d := diff(theirCode, got); d != "" {
		t.Errorf("another user's code (-want +got):\n%s", d)
	}

	// The account at the provider can be linked again, to anyone.
	relink := newIdentity(t, other.ID, "github")
	relink.Subject = mine.Subject
	mustOK(t, txLinkIdentity(ctx, s, other.ID, relink))
}

// newOAuthCode returns a valid, not yet stored code of the user, created
// now and valid for a minute.
func newOAuthCode(t *testing.T, userID string) *auth.OAuthCode {
	t.Helper()
	created := at(now(), 0)
	return &auth.OAuthCode{
		Hash:      tokenHash(t),
		UserID:    userID,
		Provider:  "google",
		Challenge: "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
		CreatedAt: created,
		ExpiresAt: created.Add(time.Minute),
	}
}

func createOAuthCode(t *testing.T, s Backend, userID string) *auth.OAuthCode {
	t.Helper()
	c := newOAuthCode(t, userID)
	mustOK(t, txCreateOAuthCode(context.Background(), s, userID, c))
	return c
}

func testCreateConsumeOAuthCode(t *testing.T, s Backend) {
	ctx := context.Background()
	u := createUser(t, s)
	c := createOAuthCode(t, s, u.ID)
	plain := newOAuthCode(t, u.ID)
	plain.Challenge = "" // the app sent none
	mustOK(t, txCreateOAuthCode(ctx, s, u.ID, plain))

	for _, want := range []*auth.OAuthCode{c, plain} {
		got, err := txConsumeOAuthCode(ctx, s, u.ID, want.Hash)
		mustOK(t, err)
		if d := diff(want, got); d != "" {
			t.Errorf("ConsumeOAuthCode (-want +got):\n%s", d)
		}
		wantUTC(t, got.CreatedAt, got.ExpiresAt)
		// Spent.
		if _, err := txConsumeOAuthCode(ctx, s, u.ID, want.Hash); !errors.Is(err, auth.ErrOAuthCodeNotFound) {
			t.Errorf("second ConsumeOAuthCode = %v, want %v", err, auth.ErrOAuthCodeNotFound)
		}
	}

	// An expired code is consumed like any other.
	old := newOAuthCode(t, u.ID)
	old.CreatedAt, old.ExpiresAt = at(now(), -2*time.Hour), at(now(), -time.Hour)
	mustOK(t, txCreateOAuthCode(ctx, s, u.ID, old))
	got, err := txConsumeOAuthCode(ctx, s, u.ID, old.Hash)
	mustOK(t, err)
	if d := diff(old, got); d != "" {
		t.Errorf("ConsumeOAuthCode of an expired code (-want +got):\n%s", d)
	}
}

// testConsumeOAuthCodeOtherUser: a user's unit of work finds only that
// user's codes, whatever hash it is given.
func testConsumeOAuthCodeOtherUser(t *testing.T, s Backend) {
	ctx := context.Background()
	alice, bob := createUser(t, s), createUser(t, s)
	c := createOAuthCode(t, s, alice.ID)
	createOAuthCode(t, s, bob.ID)

	for name, k := range map[string]struct {
		userID string
		hash   []byte
	}{
		"alice's code in bob's unit of work": {bob.ID, c.Hash},
		"in an unknown user's unit of work":  {newID(t), c.Hash},
		"an unknown hash":                    {alice.ID, tokenHash(t)},
		"an empty hash":                      {alice.ID, nil},
	} {
		if _, err := txConsumeOAuthCode(ctx, s, k.userID, k.hash); !errors.Is(err, auth.ErrOAuthCodeNotFound) {
			t.Errorf("%s: ConsumeOAuthCode = %v, want %v", name, err, auth.ErrOAuthCodeNotFound)
		}
	}
	got, err := txConsumeOAuthCode(ctx, s, alice.ID, c.Hash)
	mustOK(t, err)
	if d := diff(c, got); d != "" {
		t.Errorf("alice's code (-want +got):\n%s", d)
	}
}

func testCreateOAuthCodeErrors(t *testing.T, s Backend) {
	ctx := context.Background()
	u, other := createUser(t, s), createUser(t, s)

	theirs := newOAuthCode(t, other.ID)
	if err := txCreateOAuthCode(ctx, s, u.ID, theirs); !errors.Is(err, auth.ErrOtherUser) {
		t.Errorf("CreateOAuthCode of another user's code = %v, want %v", err, auth.ErrOtherUser)
	}
	c := createOAuthCode(t, s, u.ID)
	for name, dup := range map[string]*auth.OAuthCode{
		"same user":    newOAuthCode(t, u.ID),
		"another user": newOAuthCode(t, other.ID),
	} {
		dup.Hash = c.Hash
		if err := txCreateOAuthCode(ctx, s, dup.UserID, dup); !errors.Is(err, auth.ErrExists) {
			t.Errorf("%s: CreateOAuthCode of a taken hash = %v, want %v", name, err, auth.ErrExists)
		}
	}
	ghost := newID(t)
	if err := txCreateOAuthCode(ctx, s, ghost, newOAuthCode(t, ghost)); !errors.Is(err, auth.ErrUserNotFound) {
		t.Errorf("CreateOAuthCode for an unknown user = %v, want %v", err, auth.ErrUserNotFound)
	}
	got, err := txConsumeOAuthCode(ctx, s, u.ID, c.Hash)
	mustOK(t, err)
	if d := diff(c, got); d != "" {
		t.Errorf("the code holding the hash (-want +got):\n%s", d)
	}
}

// race runs n calls of fn at once, a few rounds, and fails a round unless
// exactly one call succeeded and the others failed with notFound.
func race(t *testing.T, rounds, n int, notFound error, setup func(round int) func() error) {
	t.Helper()
	for round := range rounds {
		fn := setup(round)
		errs := make([]error, n)
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range n {
			wg.Go(func() {
				<-start
				errs[i] = fn()
			})
		}
		close(start)
		wg.Wait()
		won := 0
		for i, err := range errs {
			switch {
			case err == nil:
				won++
			case !errors.Is(err, notFound):
				t.Errorf("round %d, call %d: %v, want nil or %v", round, i, err, notFound)
			}
		}
		if won != 1 {
			t.Errorf("round %d: %d of %d concurrent consumptions succeeded, want 1", round, won, n)
		}
	}
}

func testConsumeOAuthCodeConcurrently(t *testing.T, s Backend) {
	u := createUser(t, s)
	race(t, 4, 20, auth.ErrOAuthCodeNotFound, func(int) func() error {
		c := createOAuthCode(t, s, u.ID)
		return func() error {
			got, err := txConsumeOAuthCode(context.Background(), s, u.ID, c.Hash)
			if err == nil && diff(c, got) != "" {
				return fmt.Errorf("consumed %+v, want %+v", got, c)
			}
			return err
		}
	})
}

// newOAuthState returns a valid, not yet stored state, created now and
// valid for ten minutes.
func newOAuthState(t *testing.T) *auth.OAuthState {
	t.Helper()
	created := at(now(), 0)
	return &auth.OAuthState{
		Hash:        tokenHash(t),
		Provider:    "github",
		Verifier:    "verifier-" + newID(t),
		Nonce:       "nonce-" + newID(t),
		RedirectTo:  "https://app.example.com/callback?x=1",
		Challenge:   "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
		BrowserHash: tokenHash(t),
		CreatedAt:   created,
		ExpiresAt:   created.Add(10 * time.Minute),
	}
}

func createOAuthState(t *testing.T, s Backend) *auth.OAuthState {
	t.Helper()
	st := newOAuthState(t)
	mustOK(t, s.CreateOAuthState(context.Background(), st))
	return st
}

func testCreateConsumeOAuthState(t *testing.T, s Backend) {
	ctx := context.Background()
	st := createOAuthState(t, s)
	plain := newOAuthState(t)
	plain.Challenge = ""
	mustOK(t, s.CreateOAuthState(ctx, plain))
	old := newOAuthState(t)
	old.CreatedAt, old.ExpiresAt = at(now(), -2*time.Hour), at(now(), -time.Hour)
	mustOK(t, s.CreateOAuthState(ctx, old))

	for name, want := range map[string]*auth.OAuthState{"state": st, "without a challenge": plain, "expired": old} {
		got, err := s.ConsumeOAuthState(ctx, want.Hash)
		mustOK(t, err)
		if d := diff(want, got); d != "" {
			t.Errorf("%s: ConsumeOAuthState (-want +got):\n%s", name, d)
		}
		wantUTC(t, got.CreatedAt, got.ExpiresAt)
		if _, err := s.ConsumeOAuthState(ctx, want.Hash); !errors.Is(err, auth.ErrOAuthStateNotFound) {
			t.Errorf("%s: second ConsumeOAuthState = %v, want %v", name, err, auth.ErrOAuthStateNotFound)
		}
	}
	for name, hash := range map[string][]byte{"unknown hash": tokenHash(t), "empty hash": nil} {
		if _, err := s.ConsumeOAuthState(ctx, hash); !errors.Is(err, auth.ErrOAuthStateNotFound) {
			t.Errorf("%s: ConsumeOAuthState = %v, want %v", name, err, auth.ErrOAuthStateNotFound)
		}
	}

	// A taken hash is a conflict, and the state holding it stays.
	held := createOAuthState(t, s)
	dup := newOAuthState(t)
	dup.Hash = held.Hash
	if err := s.CreateOAuthState(ctx, dup); !errors.Is(err, auth.ErrExists) {
		t.Errorf("CreateOAuthState of a taken hash = %v, want %v", err, auth.ErrExists)
	}
	got, err := s.ConsumeOAuthState(ctx, held.Hash)
	mustOK(t, err)
	if d := diff(held, got); d != "" {
		t.Errorf("the state holding the hash (-want +got):\n%s", d)
	}
}

// testCreateConsumeLinkState: a link's state names the user who started
// it and reads back with that name; the name is not a reference (the state
// outlives the user, whom the callback looks up anyway), but it must be a
// user id.
func testCreateConsumeLinkState(t *testing.T, s Backend) {
	ctx := context.Background()
	u, gone := createUser(t, s), createUser(t, s)
	link := newOAuthState(t)
	link.LinkUserID, link.Challenge = u.ID, ""
	mustOK(t, s.CreateOAuthState(ctx, link))
	orphan := newOAuthState(t)
	orphan.LinkUserID = gone.ID
	mustOK(t, s.CreateOAuthState(ctx, orphan))
	mustOK(t, txDeleteUser(ctx, s, gone.ID, 0, nil))
	never := newOAuthState(t)
	never.LinkUserID = newID(t) // no such user, ever
	mustOK(t, s.CreateOAuthState(ctx, never))
	signIn := createOAuthState(t, s)

	for name, want := range map[string]*auth.OAuthState{
		"link":                    link,
		"link of a deleted user":  orphan,
		"link of an unknown user": never,
		"sign-in (no LinkUserID)": signIn,
	} {
		got, err := s.ConsumeOAuthState(ctx, want.Hash)
		mustOK(t, err)
		if d := diff(want, got); d != "" {
			t.Errorf("%s: ConsumeOAuthState (-want +got):\n%s", name, d)
		}
	}

	for _, bad := range []string{"not-a-uuid", strings.ToUpper(u.ID), " " + u.ID} {
		st := newOAuthState(t)
		st.LinkUserID = bad
		wantCode(t, s.CreateOAuthState(ctx, st), auth.EInvalid)
		if _, err := s.ConsumeOAuthState(ctx, st.Hash); !errors.Is(err, auth.ErrOAuthStateNotFound) {
			t.Errorf("LinkUserID %q: the refused state was stored (%v)", bad, err)
		}
	}
}

func testConsumeOAuthStateConcurrently(t *testing.T, s Backend) {
	race(t, 4, 20, auth.ErrOAuthStateNotFound, func(int) func() error {
		st := createOAuthState(t, s)
		return func() error {
			got, err := s.ConsumeOAuthState(context.Background(), st.Hash)
			if err == nil && diff(st, got) != "" {
				return fmt.Errorf("consumed %+v, want %+v", got, st)
			}
			return err
		}
	})
}

// testDeleteExpiredOAuth: retention deletes the states and codes that
// expired before the cutoff, and nothing else.
func testDeleteExpiredOAuth(t *testing.T, s Backend) {
	ctx := context.Background()
	u := createUser(t, s)
	base := now()
	state := func(expires time.Time) *auth.OAuthState {
		st := newOAuthState(t)
		st.CreatedAt, st.ExpiresAt = at(expires, -time.Hour), expires
		mustOK(t, s.CreateOAuthState(ctx, st))
		return st
	}
	code := func(expires time.Time) *auth.OAuthCode {
		c := newOAuthCode(t, u.ID)
		c.CreatedAt, c.ExpiresAt = at(expires, -time.Hour), expires
		mustOK(t, txCreateOAuthCode(ctx, s, u.ID, c))
		return c
	}
	expiredState, atBaseState, liveState := state(base.Add(-time.Microsecond)), state(base), state(at(base, time.Hour))
	expiredCode, atBaseCode, liveCode := code(at(base, -time.Hour)), code(base), code(at(base, time.Hour))

	n, err := s.DeleteExpiredOAuth(ctx, base, 100)
	mustOK(t, err)
	if n != 2 {
		t.Errorf("DeleteExpiredOAuth deleted %d, want 2", n)
	}
	n, err = s.DeleteExpiredOAuth(ctx, base, 100)
	mustOK(t, err)
	if n != 0 {
		t.Errorf("second DeleteExpiredOAuth deleted %d, want 0", n)
	}
	if _, err := s.ConsumeOAuthState(ctx, expiredState.Hash); !errors.Is(err, auth.ErrOAuthStateNotFound) {
		t.Errorf("expired state: %v, want it gone", err)
	}
	if _, err := txConsumeOAuthCode(ctx, s, u.ID, expiredCode.Hash); !errors.Is(err, auth.ErrOAuthCodeNotFound) {
		t.Errorf("expired code: %v, want it gone", err)
	}
	for name, st := range map[string]*auth.OAuthState{"state expiring at the cutoff": atBaseState, "live state": liveState} {
		if _, err := s.ConsumeOAuthState(ctx, st.Hash); err != nil {
			t.Errorf("%s: %v, want it kept", name, err)
		}
	}
	for name, c := range map[string]*auth.OAuthCode{"code expiring at the cutoff": atBaseCode, "live code": liveCode} {
		if _, err := txConsumeOAuthCode(ctx, s, u.ID, c.Hash); err != nil {
			t.Errorf("%s: %v, want it kept", name, err)
		}
	}
}

// testDeleteExpiredOAuthInBatches: one call deletes at most limit states
// and at most limit codes.
func testDeleteExpiredOAuthInBatches(t *testing.T, s Backend) {
	ctx := context.Background()
	u := createUser(t, s)
	base := now()
	for range 25 {
		st := newOAuthState(t)
		st.CreatedAt, st.ExpiresAt = at(base, -2*time.Hour), at(base, -time.Hour)
		mustOK(t, s.CreateOAuthState(ctx, st))
	}
	for range 13 {
		c := newOAuthCode(t, u.ID)
		c.CreatedAt, c.ExpiresAt = at(base, -2*time.Hour), at(base, -time.Hour)
		mustOK(t, txCreateOAuthCode(ctx, s, u.ID, c))
	}
	live := createOAuthState(t, s)
	liveCode := createOAuthCode(t, s, u.ID)
	// States 10+10+5, codes 10+3.
	for _, want := range []int64{20, 13, 5, 0} {
		n, err := s.DeleteExpiredOAuth(ctx, base, 10)
		mustOK(t, err)
		if n != want {
			t.Errorf("DeleteExpiredOAuth(limit 10) deleted %d, want %d", n, want)
		}
	}
	if _, err := s.ConsumeOAuthState(ctx, live.Hash); err != nil {
		t.Errorf("live state: %v, want it kept", err)
	}
	if _, err := txConsumeOAuthCode(ctx, s, u.ID, liveCode.Hash); err != nil {
		t.Errorf("live code: %v, want it kept", err)
	}
}
