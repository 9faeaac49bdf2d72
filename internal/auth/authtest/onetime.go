package authtest

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/talentforge/authd/internal/auth"
)

// One-time tokens (auth.OneTimeTokenTx): created in a user's unit of work,
// a newer one superseding the user's older ones of its purpose, and spent
// exactly once by ConsumeOneTimeToken, which returns expired tokens too
// (the caller judges expiry).

// newOneTimeToken returns a valid, not yet stored token of the user for
// purpose, created now and valid for an hour.
func newOneTimeToken(t *testing.T, userID string, purpose auth.TokenPurpose) *auth.OneTimeToken {
	t.Helper()
	created := at(now(), 0)
	return &auth.OneTimeToken{
		Hash:      tokenHash(t),
		UserID:    userID,
		Purpose:   purpose,
		Email:     "to-" + newID(t) + "@example.com",
		CreatedAt: created,
		ExpiresAt: created.Add(time.Hour),
	}
}

// createOneTimeToken stores a new token of the user for purpose.
func createOneTimeToken(t *testing.T, s Backend, userID string, purpose auth.TokenPurpose) *auth.OneTimeToken {
	t.Helper()
	tok := newOneTimeToken(t, userID, purpose)
	mustOK(t, txCreateOneTimeToken(context.Background(), s, userID, tok, nil))
	return tok
}

// peekOneTimeToken returns what ConsumeOneTimeToken returns for the user's
// token, in a unit of work that is then abandoned: the token stays where
// it is.
func peekOneTimeToken(t *testing.T, s Backend, userID string, hash []byte, purposes ...auth.TokenPurpose) (*auth.OneTimeToken, error) {
	t.Helper()
	ctx := context.Background()
	var (
		tok        *auth.OneTimeToken
		consumeErr error
	)
	err := s.InUserTx(ctx, userID, func(tx auth.UserTx) error {
		tok, consumeErr = tx.ConsumeOneTimeToken(ctx, hash, purposes...)
		if consumeErr != nil {
			return consumeErr
		}
		return errFn
	})
	if consumeErr == nil && !errors.Is(err, errFn) {
		t.Fatalf("InUserTx = %v, want fn's error %v", err, errFn)
	}
	return tok, consumeErr
}

// wantOneTimeToken fails unless the user's token tok is stored as it was
// created (or, with exists false, is gone), leaving it where it is.
func wantOneTimeToken(t *testing.T, s Backend, tok *auth.OneTimeToken, exists bool, what string) {
	t.Helper()
	got, err := peekOneTimeToken(t, s, tok.UserID, tok.Hash, tok.Purpose)
	switch {
	case exists && err != nil:
		t.Errorf("%s: %v, want it kept", what, err)
	case exists:
		if d := diff(tok, got); d != "" {
			t.Errorf("%s (-want +got):\n%s", what, d)
		}
	case !errors.Is(err, auth.ErrOneTimeTokenNotFound):
		t.Errorf("%s: error %v, want it gone (%v)", what, err, auth.ErrOneTimeTokenNotFound)
	}
}

func testCreateConsumeOneTimeToken(t *testing.T, s Backend) {
	ctx := context.Background()
	u := createUser(t, s)
	tok := createOneTimeToken(t, s, u.ID, auth.PurposeResetPassword)

	got, err := txConsumeOneTimeToken(ctx, s, u.ID, tok.Hash, auth.PurposeResetPassword)
	mustOK(t, err)
	if d := diff(tok, got); d != "" {
		t.Errorf("ConsumeOneTimeToken (-want +got):\n%s", d)
	}
	wantUTC(t, got.CreatedAt, got.ExpiresAt)

	// Spent.
	_, err = txConsumeOneTimeToken(ctx, s, u.ID, tok.Hash, auth.PurposeResetPassword)
	if !errors.Is(err, auth.ErrOneTimeTokenNotFound) {
		t.Errorf("second ConsumeOneTimeToken = %v, want %v", err, auth.ErrOneTimeTokenNotFound)
	}
}

// testConsumeOneTimeTokenPurposes: a token is consumed only for one of the
// purposes asked for; asked for others, it is not found and stays.
func testConsumeOneTimeTokenPurposes(t *testing.T, s Backend) {
	ctx := context.Background()
	u := createUser(t, s)
	tok := createOneTimeToken(t, s, u.ID, auth.PurposeResetPassword)

	for name, purposes := range map[string][]auth.TokenPurpose{
		"another purpose":    {auth.PurposeVerifyEmail},
		"other purposes":     {auth.PurposeVerifyEmail, auth.PurposeChangeEmail},
		"no purpose at all":  nil,
		"an unknown purpose": {"no_such_purpose"},
	} {
		_, err := txConsumeOneTimeToken(ctx, s, u.ID, tok.Hash, purposes...)
		if !errors.Is(err, auth.ErrOneTimeTokenNotFound) {
			t.Errorf("%s: ConsumeOneTimeToken = %v, want %v", name, err, auth.ErrOneTimeTokenNotFound)
		}
		wantOneTimeToken(t, s, tok, true, name+": the token")
	}
	got, err := txConsumeOneTimeToken(ctx, s, u.ID, tok.Hash, auth.PurposeVerifyEmail, auth.PurposeResetPassword)
	mustOK(t, err)
	if got.Purpose != auth.PurposeResetPassword {
		t.Errorf("Purpose = %q, want %q", got.Purpose, auth.PurposeResetPassword)
	}
}

// testConsumeOneTimeTokenOtherUser: a user's unit of work finds only that
// user's tokens, whatever hash it is given.
func testConsumeOneTimeTokenOtherUser(t *testing.T, s Backend) {
	ctx := context.Background()
	alice, bob := createUser(t, s), createUser(t, s)
	tok := createOneTimeToken(t, s, alice.ID, auth.PurposeVerifyEmail)
	createOneTimeToken(t, s, bob.ID, auth.PurposeVerifyEmail)

	for name, c := range map[string]struct {
		userID string
		hash   []byte
	}{
		"alice's token in bob's unit of work": {bob.ID, tok.Hash},
		"in an unknown user's unit of work":   {newID(t), tok.Hash},
		"an unknown hash":                     {alice.ID, tokenHash(t)},
		"an empty hash":                       {alice.ID, nil},
	} {
		_, err := txConsumeOneTimeToken(ctx, s, c.userID, c.hash, auth.PurposeVerifyEmail)
		if !errors.Is(err, auth.ErrOneTimeTokenNotFound) {
			t.Errorf("%s: ConsumeOneTimeToken = %v, want %v", name, err, auth.ErrOneTimeTokenNotFound)
		}
	}
	wantOneTimeToken(t, s, tok, true, "alice's token")
}

// testOneTimeTokenSupersedes: a new token deletes the user's older ones of
// its purpose, and nothing else.
func testOneTimeTokenSupersedes(t *testing.T, s Backend) {
	u, other := createUser(t, s), createUser(t, s)
	verify1 := createOneTimeToken(t, s, u.ID, auth.PurposeVerifyEmail)
	reset := createOneTimeToken(t, s, u.ID, auth.PurposeResetPassword)
	change := createOneTimeToken(t, s, u.ID, auth.PurposeChangeEmail)
	theirs := createOneTimeToken(t, s, other.ID, auth.PurposeVerifyEmail)

	verify2 := createOneTimeToken(t, s, u.ID, auth.PurposeVerifyEmail)
	wantOneTimeToken(t, s, verify1, false, "the superseded token")
	wantOneTimeToken(t, s, verify2, true, "the new token")
	wantOneTimeToken(t, s, reset, true, "a token of another purpose")
	wantOneTimeToken(t, s, change, true, "a token of a third purpose")
	wantOneTimeToken(t, s, theirs, true, "another user's token of the purpose")

	verify3 := createOneTimeToken(t, s, u.ID, auth.PurposeVerifyEmail)
	wantOneTimeToken(t, s, verify2, false, "the token superseded in turn")
	wantOneTimeToken(t, s, verify3, true, "the newest token")
}

func testDeleteOneTimeTokens(t *testing.T, s Backend) {
	ctx := context.Background()
	u, other := createUser(t, s), createUser(t, s)
	verify := createOneTimeToken(t, s, u.ID, auth.PurposeVerifyEmail)
	reset := createOneTimeToken(t, s, u.ID, auth.PurposeResetPassword)
	change := createOneTimeToken(t, s, u.ID, auth.PurposeChangeEmail)
	theirs := createOneTimeToken(t, s, other.ID, auth.PurposeResetPassword)

	mustOK(t, txDeleteOneTimeTokens(ctx, s, u.ID, auth.PurposeResetPassword, auth.PurposeChangeEmail))
	wantOneTimeToken(t, s, reset, false, "a token of a deleted purpose")
	wantOneTimeToken(t, s, change, false, "a token of the other deleted purpose")
	wantOneTimeToken(t, s, verify, true, "a token of a purpose not named")
	wantOneTimeToken(t, s, theirs, true, "another user's token of a deleted purpose")

	reset = createOneTimeToken(t, s, u.ID, auth.PurposeResetPassword)
	mustOK(t, txDeleteOneTimeTokens(ctx, s, u.ID)) // every purpose
	wantOneTimeToken(t, s, verify, false, "a token deleted with all of them")
	wantOneTimeToken(t, s, reset, false, "another token deleted with all of them")
	wantOneTimeToken(t, s, theirs, true, "another user's token")

	// Nothing left to delete is no error.
	mustOK(t, txDeleteOneTimeTokens(ctx, s, u.ID))
	mustOK(t, txDeleteOneTimeTokens(ctx, s, u.ID, auth.PurposeVerifyEmail))
}

func testCreateOneTimeTokenErrors(t *testing.T, s Backend) {
	ctx := context.Background()
	u, other := createUser(t, s), createUser(t, s)

	// Another user's token in u's unit of work.
	theirs := newOneTimeToken(t, other.ID, auth.PurposeVerifyEmail)
	err := txCreateOneTimeToken(ctx, s, u.ID, theirs, nil)
	if !errors.Is(err, auth.ErrOtherUser) {
		t.Errorf("CreateOneTimeToken of another user's token = %v, want %v", err, auth.ErrOtherUser)
	}
	for _, id := range []string{u.ID, other.ID} {
		_, err := peekOneTimeToken(t, s, id, theirs.Hash, theirs.Purpose)
		wantCode(t, err, auth.ENotFound)
	}

	// A taken hash, whoever's token has it, is a conflict, and the token
	// that has it stays as it was.
	tok := createOneTimeToken(t, s, u.ID, auth.PurposeResetPassword)
	for name, dup := range map[string]*auth.OneTimeToken{
		"same user and purpose": newOneTimeToken(t, u.ID, auth.PurposeResetPassword),
		"same user":             newOneTimeToken(t, u.ID, auth.PurposeVerifyEmail),
		"another user":          newOneTimeToken(t, other.ID, auth.PurposeResetPassword),
	} {
		dup.Hash = tok.Hash
		err := txCreateOneTimeToken(ctx, s, dup.UserID, dup, nil)
		if !errors.Is(err, auth.ErrExists) {
			t.Errorf("%s: CreateOneTimeToken of a taken hash = %v, want %v", name, err, auth.ErrExists)
		}
		wantOneTimeToken(t, s, tok, true, name+": the token holding the hash")
	}

	// A user that does not exist has no tokens.
	ghost := newID(t)
	wantCode(t, txCreateOneTimeToken(ctx, s, ghost, newOneTimeToken(t, ghost, auth.PurposeResetPassword), nil), auth.ENotFound)
}

// testConsumeOneTimeTokenConcurrently: of many concurrent consumptions of
// one token, exactly one gets it. It runs a few rounds, a fresh token each:
// the first one also opens the connections a pooling backend lacks, which
// could spread its contenders out in time.
func testConsumeOneTimeTokenConcurrently(t *testing.T, s Backend) {
	const rounds, n = 4, 20
	u := createUser(t, s)
	for round := range rounds {
		tok := createOneTimeToken(t, s, u.ID, auth.PurposeResetPassword)
		got := make([]*auth.OneTimeToken, n)
		errs := make([]error, n)
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range n {
			wg.Go(func() {
				<-start
				got[i], errs[i] = txConsumeOneTimeToken(context.Background(), s, u.ID, tok.Hash, auth.PurposeResetPassword)
			})
		}
		close(start)
		wg.Wait()

		won := 0
		for i, err := range errs {
			switch auth.ErrorCode(err) {
			case "":
				won++
				if d := diff(tok, got[i]); d != "" {
					t.Errorf("round %d, consumption %d (-want +got):\n%s", round, i, d)
				}
			case auth.ENotFound:
			default:
				t.Errorf("round %d, consumption %d: %v, want nil or %s", round, i, err, auth.ENotFound)
			}
		}
		if won != 1 {
			t.Errorf("round %d: %d of %d concurrent consumptions of one token succeeded, want 1", round, won, n)
		}
	}
}

// testConsumeExpiredOneTimeToken: an expired token is consumed like any
// other, its ExpiresAt telling the caller it is no good.
func testConsumeExpiredOneTimeToken(t *testing.T, s Backend) {
	ctx := context.Background()
	u := createUser(t, s)
	tok := newOneTimeToken(t, u.ID, auth.PurposeVerifyEmail)
	tok.CreatedAt = at(now(), -48*time.Hour)
	tok.ExpiresAt = at(now(), -24*time.Hour)
	mustOK(t, txCreateOneTimeToken(ctx, s, u.ID, tok, nil))

	got, err := txConsumeOneTimeToken(ctx, s, u.ID, tok.Hash, auth.PurposeVerifyEmail)
	mustOK(t, err)
	if d := diff(tok, got); d != "" {
		t.Errorf("ConsumeOneTimeToken of an expired token (-want +got):\n%s", d)
	}
	_, err = txConsumeOneTimeToken(ctx, s, u.ID, tok.Hash, auth.PurposeVerifyEmail)
	wantCode(t, err, auth.ENotFound)
}

// testDeleteUserDropsOneTimeTokens: deleting a user deletes its tokens (a
// user later created with the same id does not find them) and no one
// else's.
func testDeleteUserDropsOneTimeTokens(t *testing.T, s Backend) {
	ctx := context.Background()
	u, other := createUser(t, s), createUser(t, s)
	mine := createOneTimeToken(t, s, u.ID, auth.PurposeResetPassword)
	theirs := createOneTimeToken(t, s, other.ID, auth.PurposeResetPassword)

	mustOK(t, txDeleteUser(ctx, s, u.ID, 0, nil))
	again := newUser(t)
	again.ID = u.ID
	mustOK(t, txCreateUser(ctx, s, again, nil))
	wantOneTimeToken(t, s, mine, false, "the deleted user's token")
	wantOneTimeToken(t, s, theirs, true, "another user's token")
}
