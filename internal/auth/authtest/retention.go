package authtest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/talentforge/authd/internal/auth"
)

// rotate retires tok in favour of a fresh successor, sealed as sealed, with
// the grace interval g, and returns the successor.
func rotate(t *testing.T, s Backend, tok *auth.RefreshToken, sealed string, g time.Duration) *auth.RefreshToken {
	t.Helper()
	next := nextToken(t, tok, at(now(), time.Second))
	mustOK(t, s.RotateRefreshToken(context.Background(), tok, []byte(sealed), g, next, next.CreatedAt))
	return next
}

// testGraceOnDatabaseClock: without a replaced clock, the grace deadline
// comes from the database's own clock. The test's clock and the database's
// are the same machine's (or a server's that agrees with it), so the deadline
// lies within a minute of the test's now plus the interval.
func testGraceOnDatabaseClock(t *testing.T, s Backend) {
	ctx := context.Background()
	u := createUser(t, s)
	_, old := createSession(t, s, u.ID, now())
	before := time.Now()
	rotate(t, s, old, "sealed", grace)
	after := time.Now()

	got := getToken(t, s, u.ID, old.Hash)
	if got.GraceUntil.Before(before.Add(grace-time.Minute)) || got.GraceUntil.After(after.Add(grace+time.Minute)) {
		t.Errorf("GraceUntil = %v, want about %v", got.GraceUntil, before.Add(grace))
	}
	rt, _, _, err := s.RefreshState(ctx, u.ID, old.Hash)
	mustOK(t, err)
	if string(rt.Successor) != "sealed" {
		t.Errorf("RefreshState within the grace interval: Successor = %q, want sealed", rt.Successor)
	}
	n, err := s.ClearStaleSuccessors(ctx, 100)
	mustOK(t, err)
	if n != 0 {
		t.Errorf("ClearStaleSuccessors cleared %d successors within their grace interval, want 0", n)
	}
}

// testRefreshStateGrace: RefreshState hands out a retired token's successor
// until the database's clock passes the deadline set at rotation, and not
// after, whatever the time the caller passed as the rotation's at.
func testRefreshStateGrace(t *testing.T, s Backend, clock *Clock) {
	ctx := context.Background()
	u := createUser(t, s)
	_, old := createSession(t, s, u.ID, now())
	// A rotation time an hour off the database's clock, as a skewed replica
	// would write it, changes nothing.
	next := nextToken(t, old, at(clock.Now(), time.Hour))
	mustOK(t, s.RotateRefreshToken(ctx, old, []byte("sealed"), 10*time.Second, next, next.CreatedAt))

	successor := func() []byte {
		t.Helper()
		rt, _, _, err := s.RefreshState(ctx, u.ID, old.Hash)
		mustOK(t, err)
		if rt.RotatedAt.IsZero() {
			t.Error("RefreshState shows the retired token unrotated")
		}
		return rt.Successor
	}
	if got := successor(); string(got) != "sealed" {
		t.Errorf("at rotation: Successor = %q, want sealed", got)
	}
	clock.Advance(10 * time.Second) // the last instant of the interval
	if got := successor(); string(got) != "sealed" {
		t.Errorf("at the end of the interval: Successor = %q, want sealed", got)
	}
	clock.Advance(time.Microsecond)
	if got := successor(); got != nil {
		t.Errorf("past the interval: Successor = %q, want nil", got)
	}
}

// testClearStaleSuccessors: after rotations 1→2→3 only token 2 holds a
// successor; once the database's clock passes its grace deadline the
// retention job's ClearStaleSuccessors removes it, and nothing younger.
func testClearStaleSuccessors(t *testing.T, s Backend, clock *Clock) {
	ctx := context.Background()
	u := createUser(t, s)
	_, t1 := createSession(t, s, u.ID, now())
	t2 := rotate(t, s, t1, "sealed-2", 10*time.Second)
	clock.Advance(5 * time.Second)
	t3 := rotate(t, s, t2, "sealed-3", 10*time.Second)
	_, o1 := createSession(t, s, u.ID, now())
	rotate(t, s, o1, "other", time.Hour)

	if got := getToken(t, s, u.ID, t1.Hash).Successor; got != nil {
		t.Errorf("token 1 Successor = %q after rotations 1→2→3, want nil", got)
	}
	clear := func(want int64) {
		t.Helper()
		n, err := s.ClearStaleSuccessors(ctx, 100)
		mustOK(t, err)
		if n != want {
			t.Errorf("ClearStaleSuccessors cleared %d, want %d", n, want)
		}
	}
	clear(0)
	clock.Advance(10 * time.Second) // token 2's deadline, not past it
	clear(0)
	if got := getToken(t, s, u.ID, t2.Hash).Successor; string(got) != "sealed-3" {
		t.Errorf("token 2 Successor = %q within its interval, want sealed-3", got)
	}
	clock.Advance(time.Microsecond)
	clear(1)
	got := getToken(t, s, u.ID, t2.Hash)
	if got.Successor != nil || !got.GraceUntil.IsZero() || got.RotatedAt.IsZero() {
		t.Errorf("token 2 after the job: Successor = %q, GraceUntil = %v, RotatedAt = %v; want none, zero, still retired",
			got.Successor, got.GraceUntil, got.RotatedAt)
	}
	if got := getToken(t, s, u.ID, o1.Hash).Successor; string(got) != "other" {
		t.Errorf("another session's successor within its interval: %q, want other", got)
	}
	if got := getToken(t, s, u.ID, t3.Hash); !got.RotatedAt.IsZero() {
		t.Error("the current token was touched")
	}
	clear(0)
}

// testClearStaleSuccessorsInBatches: one call clears at most limit
// successors, so the job never holds many row locks at once.
func testClearStaleSuccessorsInBatches(t *testing.T, s Backend, clock *Clock) {
	ctx := context.Background()
	u := createUser(t, s)
	for i := range 25 {
		_, tok := createSession(t, s, u.ID, now())
		rotate(t, s, tok, fmt.Sprint("sealed-", i), 10*time.Second)
	}
	clock.Advance(11 * time.Second)
	for _, want := range []int64{10, 10, 5, 0} {
		n, err := s.ClearStaleSuccessors(ctx, 10)
		mustOK(t, err)
		if n != want {
			t.Errorf("ClearStaleSuccessors(limit 10) cleared %d, want %d", n, want)
		}
	}
}

// createSessionUntil stores a session of userID created at created whose
// first refresh token, and the session, expire at expires.
func createSessionUntil(t *testing.T, s Backend, userID string, created, expires time.Time) (*auth.Session, *auth.RefreshToken) {
	t.Helper()
	sess, tok := newSession(t, userID, created)
	sess.ExpiresAt, tok.ExpiresAt = expires, expires
	mustOK(t, txCreateSession(context.Background(), s, sess, tok, 1, nil))
	return sess, tok
}

// wantToken fails unless the user's refresh token with hash exists (or,
// with exists false, is gone).
func wantToken(t *testing.T, s Backend, userID string, hash []byte, exists bool, what string) {
	t.Helper()
	_, err := s.RefreshToken(context.Background(), userID, hash)
	switch {
	case exists && err != nil:
		t.Errorf("%s: %v, want it kept", what, err)
	case !exists && auth.ErrorCode(err) != auth.ENotFound:
		t.Errorf("%s: error %v, want it deleted (%s)", what, err, auth.ENotFound)
	}
}

// wantSession is wantToken for sessions.
func wantSession(t *testing.T, s Backend, userID, id string, exists bool, what string) {
	t.Helper()
	_, err := s.Session(context.Background(), userID, id)
	switch {
	case exists && err != nil:
		t.Errorf("%s: %v, want it kept", what, err)
	case !exists && auth.ErrorCode(err) != auth.ENotFound:
		t.Errorf("%s: error %v, want it deleted (%s)", what, err, auth.ENotFound)
	}
}

func testDeleteExpiredRefreshTokens(t *testing.T, s Backend) {
	ctx := context.Background()
	u := createUser(t, s)
	base := now()
	_, expired := createSessionUntil(t, s, u.ID, at(base, -2*time.Hour), base.Add(-time.Microsecond))
	_, atBase := createSessionUntil(t, s, u.ID, at(base, -2*time.Hour), base)
	// A live session's retired token that expired, and its current one.
	sess, old := createSessionUntil(t, s, u.ID, at(base, -2*time.Hour), at(base, -time.Hour))
	cur := nextToken(t, old, at(base, -90*time.Minute))
	cur.ExpiresAt = at(base, time.Hour)
	mustOK(t, s.RotateRefreshToken(ctx, old, []byte("sealed"), grace, cur, cur.CreatedAt))

	n, err := s.DeleteExpiredRefreshTokens(ctx, base, 100)
	mustOK(t, err)
	if n != 2 {
		t.Errorf("DeleteExpiredRefreshTokens deleted %d tokens, want 2", n)
	}
	wantToken(t, s, u.ID, expired.Hash, false, "token expired before the cutoff")
	wantToken(t, s, u.ID, old.Hash, false, "retired token expired before the cutoff")
	wantToken(t, s, u.ID, atBase.Hash, true, "token expiring at the cutoff")
	wantToken(t, s, u.ID, cur.Hash, true, "current token")
	wantSession(t, s, u.ID, sess.ID, true, "the live session")
	wantSession(t, s, u.ID, expired.SessionID, true, "the expired token's session (DeleteEndedSessions' business)")
	n, err = s.DeleteExpiredRefreshTokens(ctx, base, 100)
	mustOK(t, err)
	if n != 0 {
		t.Errorf("second DeleteExpiredRefreshTokens deleted %d tokens, want 0", n)
	}
}

// testDeleteExpiredRefreshTokensInBatches: one call deletes at most limit
// tokens.
func testDeleteExpiredRefreshTokensInBatches(t *testing.T, s Backend) {
	ctx := context.Background()
	u := createUser(t, s)
	base := now()
	for range 25 {
		createSessionUntil(t, s, u.ID, at(base, -2*time.Hour), at(base, -time.Hour))
	}
	createSessionUntil(t, s, u.ID, at(base, -2*time.Hour), at(base, time.Hour))
	for _, want := range []int64{10, 10, 5, 0} {
		n, err := s.DeleteExpiredRefreshTokens(ctx, base, 10)
		mustOK(t, err)
		if n != want {
			t.Errorf("DeleteExpiredRefreshTokens(limit 10) deleted %d, want %d", n, want)
		}
	}
}

func testDeleteEndedSessions(t *testing.T, s Backend) {
	ctx := context.Background()
	u := createUser(t, s)
	base := now()
	created := at(base, -48*time.Hour)
	live, liveTok := createSessionUntil(t, s, u.ID, created, at(base, time.Hour))
	expired, expiredTok := createSessionUntil(t, s, u.ID, created, at(base, -time.Hour))
	expiring, _ := createSessionUntil(t, s, u.ID, created, base) // expires at the cutoff: kept
	revoked, revokedTok := createSessionUntil(t, s, u.ID, created, at(base, time.Hour))
	mustOK(t, txRevokeSession(ctx, s, u.ID, revoked.ID, base.Add(-time.Microsecond), nil))
	recent, recentTok := createSessionUntil(t, s, u.ID, created, at(base, time.Hour))
	mustOK(t, txRevokeSession(ctx, s, u.ID, recent.ID, base, nil)) // revoked at the cutoff: kept
	// An expired session with a family of three tokens.
	family, t1 := createSessionUntil(t, s, u.ID, created, at(base, -4*time.Hour))
	t2 := rotateUntil(t, s, t1, at(base, -3*time.Hour))
	t3 := rotateUntil(t, s, t2, at(base, -2*time.Hour))
	other := createUser(t, s)
	otherExpired, _ := createSessionUntil(t, s, other.ID, created, at(base, -time.Hour))

	sessions, tokens, err := s.DeleteEndedSessions(ctx, base, 100)
	mustOK(t, err)
	if sessions != 4 || tokens != 6 {
		t.Errorf("DeleteEndedSessions deleted %d sessions and %d tokens, want 4 and 6", sessions, tokens)
	}
	for _, c := range []struct {
		sess   *auth.Session
		exists bool
		what   string
	}{
		{live, true, "live session"},
		{expired, false, "session expired before the cutoff"},
		{expiring, true, "session expiring at the cutoff"},
		{revoked, false, "session revoked before the cutoff"},
		{recent, true, "session revoked at the cutoff"},
		{family, false, "expired session with a token family"},
		{otherExpired, false, "another user's expired session"},
	} {
		wantSession(t, s, c.sess.UserID, c.sess.ID, c.exists, c.what)
	}
	wantToken(t, s, u.ID, liveTok.Hash, true, "live session's token")
	wantToken(t, s, u.ID, recentTok.Hash, true, "recently revoked session's token")
	for _, h := range [][]byte{expiredTok.Hash, revokedTok.Hash, t1.Hash, t2.Hash, t3.Hash} {
		wantToken(t, s, u.ID, h, false, "token of a deleted session")
	}
	sessions, tokens, err = s.DeleteEndedSessions(ctx, base, 100)
	mustOK(t, err)
	if sessions != 0 || tokens != 0 {
		t.Errorf("second DeleteEndedSessions deleted %d sessions and %d tokens, want none", sessions, tokens)
	}
}

// rotateUntil retires tok in favour of a successor expiring at expires (and
// with it the session), and returns the successor.
func rotateUntil(t *testing.T, s Backend, tok *auth.RefreshToken, expires time.Time) *auth.RefreshToken {
	t.Helper()
	next := nextToken(t, tok, expires.Add(-time.Hour))
	next.ExpiresAt = expires
	mustOK(t, s.RotateRefreshToken(context.Background(), tok, []byte("sealed"), grace, next, next.CreatedAt))
	return next
}

// testDeleteEndedSessionsInBatches: one call touches at most limit rows,
// tokens and sessions together, and a call that touches fewer leaves
// nothing behind.
func testDeleteEndedSessionsInBatches(t *testing.T, s Backend) {
	ctx := context.Background()
	u := createUser(t, s)
	base := now()
	for range 25 {
		createSessionUntil(t, s, u.ID, at(base, -2*time.Hour), at(base, -time.Hour))
	}
	live, _ := createSessionUntil(t, s, u.ID, at(base, -2*time.Hour), at(base, time.Hour))
	var sessions, tokens int64
	for calls := 1; ; calls++ {
		ns, nt, err := s.DeleteEndedSessions(ctx, base, 10)
		mustOK(t, err)
		if ns+nt > 10 {
			t.Fatalf("call %d deleted %d sessions and %d tokens, more than the limit of 10", calls, ns, nt)
		}
		sessions, tokens = sessions+ns, tokens+nt
		if ns+nt < 10 {
			break
		}
		if calls > 10 {
			t.Fatal("DeleteEndedSessions keeps deleting")
		}
	}
	if sessions != 25 || tokens != 25 {
		t.Errorf("deleted %d sessions and %d tokens in all, want 25 and 25", sessions, tokens)
	}
	wantSession(t, s, u.ID, live.ID, true, "live session")
}

// createOneTimeTokenUntil stores a new token of the user for purpose that
// expires at expires.
func createOneTimeTokenUntil(t *testing.T, s Backend, userID string, purpose auth.TokenPurpose, expires time.Time) *auth.OneTimeToken {
	t.Helper()
	tok := newOneTimeToken(t, userID, purpose)
	tok.CreatedAt, tok.ExpiresAt = expires.Add(-time.Hour), expires
	mustOK(t, txCreateOneTimeToken(context.Background(), s, userID, tok, nil))
	return tok
}

func testDeleteExpiredOneTimeTokens(t *testing.T, s Backend) {
	ctx := context.Background()
	u, other := createUser(t, s), createUser(t, s)
	base := now()
	expired := createOneTimeTokenUntil(t, s, u.ID, auth.PurposeVerifyEmail, base.Add(-time.Microsecond))
	atBase := createOneTimeTokenUntil(t, s, u.ID, auth.PurposeResetPassword, base)
	live := createOneTimeTokenUntil(t, s, u.ID, auth.PurposeChangeEmail, at(base, time.Hour))
	theirs := createOneTimeTokenUntil(t, s, other.ID, auth.PurposeResetPassword, at(base, -time.Hour))

	n, err := s.DeleteExpiredOneTimeTokens(ctx, base, 100)
	mustOK(t, err)
	if n != 2 {
		t.Errorf("DeleteExpiredOneTimeTokens deleted %d tokens, want 2", n)
	}
	wantOneTimeToken(t, s, expired, false, "token expired before the cutoff")
	wantOneTimeToken(t, s, theirs, false, "another user's token expired before the cutoff")
	wantOneTimeToken(t, s, atBase, true, "token expiring at the cutoff")
	wantOneTimeToken(t, s, live, true, "live token")
	n, err = s.DeleteExpiredOneTimeTokens(ctx, base, 100)
	mustOK(t, err)
	if n != 0 {
		t.Errorf("second DeleteExpiredOneTimeTokens deleted %d tokens, want 0", n)
	}
}

// testDeleteExpiredOneTimeTokensInBatches: one call deletes at most limit
// tokens.
func testDeleteExpiredOneTimeTokensInBatches(t *testing.T, s Backend) {
	ctx := context.Background()
	base := now()
	purposes := []auth.TokenPurpose{auth.PurposeVerifyEmail, auth.PurposeResetPassword, auth.PurposeChangeEmail}
	var u *auth.User
	for i := range 25 {
		// A user holds one token per purpose: a new one supersedes.
		if i%len(purposes) == 0 {
			u = createUser(t, s)
		}
		createOneTimeTokenUntil(t, s, u.ID, purposes[i%len(purposes)], at(base, -time.Hour))
	}
	live := createOneTimeTokenUntil(t, s, createUser(t, s).ID, auth.PurposeResetPassword, at(base, time.Hour))
	for _, want := range []int64{10, 10, 5, 0} {
		n, err := s.DeleteExpiredOneTimeTokens(ctx, base, 10)
		mustOK(t, err)
		if n != want {
			t.Errorf("DeleteExpiredOneTimeTokens(limit 10) deleted %d, want %d", n, want)
		}
	}
	wantOneTimeToken(t, s, live, true, "live token")
}
