package authtest

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/google/uuid"

	"github.com/talentforge/authd/internal/auth"
	"github.com/talentforge/authd/internal/token"
)

// Backend is what a storage backend must implement to run the suite.
type Backend interface {
	auth.Store
	token.KeyStore
}

// contractTest is one test of the contract suite.
type contractTest struct {
	name string
	fn   func(t *testing.T, s Backend)
}

// TestStore runs the contract suite. open must return a freshly migrated,
// empty backend for the calling (sub)test and arrange its cleanup with
// t.Cleanup; it is called once per subtest, from parallel subtests. A non-nil
// now replaces the database's own clock, the one that decides how long a
// retired refresh token's successor stays available (the backends'
// WithClock option).
func TestStore(t *testing.T, open func(t *testing.T, now func() time.Time) Backend) {
	// One group per store of package auth, with the tx methods that write
	// it (and token's signing keys), and one for the units of work
	// themselves: a new store brings its own group.
	suites := []struct {
		store string
		tests []contractTest
	}{
		{"Users", []contractTest{
			{"CreateUser", testCreateUser},
			{"CreateUserNoRoles", testCreateUserNoRoles},
			{"CreateUserUnknownRole", testCreateUserUnknownRole},
			{"CreateUserInvalid", testCreateUserInvalid},
			{"CreateUserEmailTaken", testCreateUserEmailTaken},
			{"CreateUserEmailTakenConcurrently", testCreateUserEmailTakenConcurrently},
			{"CreateUserDuplicateID", testCreateUserDuplicateID},
			{"UserNotFound", testUserNotFound},
			{"UpdateUser", testUpdateUser},
			{"UpdateUserWritesOnlyItsFields", testUpdateUserWritesOnlyItsFields},
			{"UpdateUserStale", testUpdateUserStale},
			{"UpgradePasswordHash", testUpgradePasswordHash},
			{"ChangePasswordStale", testChangePasswordStale},
			{"DeleteUserStale", testDeleteUserStale},
			{"ChangePasswordKeepsOneSession", testChangePasswordKeepOne},
			{"ChangePasswordRevokesAll", testChangePasswordKeepNone},
			{"ChangePasswordReset", testChangePasswordReset},
			{"VerifyEmail", testVerifyEmail},
			{"ChangeEmail", testChangeEmail},
			{"DeleteUser", testDeleteUser},
			{"UpdateUserEndSessions", testUpdateUserEndSessions},
			{"ListUsers", testListUsers},
			{"ListUsersPages", testListUsersPages},
			{"ListUsersStableUnderInserts", testListUsersStableUnderInserts},
		}},
		{"Roles", []contractTest{
			{"BuiltinRoles", testBuiltinRoles},
			{"CreateRole", testCreateRole},
			{"RoleNotFound", testRoleNotFound},
			{"UpdateRole", testUpdateRole},
			{"UpdateRoleFieldsAndStale", testUpdateRoleFieldsAndStale},
			{"DeleteRole", testDeleteRole},
			{"GrantRole", testGrantRole},
			{"RevokeRole", testRevokeRole},
			{"GrantRoleWhileDeletingIt", testGrantRoleWhileDeletingIt},
			{"GrantAdminWhileDeleting", testGrantAdminWhileDeleting},
			{"LastAdminRevokeRole", testLastAdminRevokeRole},
			{"LastAdminDisable", testLastAdminDisable},
			{"LastAdminDelete", testLastAdminDelete},
			{"LastAdminDisabledDoesNotCount", testLastAdminDisabledDoesNotCount},
			{"LastAdminConcurrently", testLastAdminConcurrently},
		}},
		{"Sessions", []contractTest{
			{"CreateSessionAfterPasswordChange", testCreateSessionAfterPasswordChange},
			{"CreateSession", testCreateSession},
			{"CreateSessionErrors", testCreateSessionErrors},
			{"SessionScopedByUser", testSessionScopedByUser},
			{"SessionWithUser", testSessionWithUser},
			{"ListSessions", testListSessions},
			{"ListSessionsPages", testListSessionsPages},
			{"ListSessionsLifetimes", testListSessionsLifetimes},
			{"RevokeSession", testRevokeSession},
			{"RevokeSessions", testRevokeSessions},
		}},
		{"RefreshTokens", []contractTest{
			{"RefreshToken", testRefreshToken},
			{"RefreshState", testRefreshState},
			{"RefreshStateNotFound", testRefreshStateNotFound},
			{"RotateRefreshTokenChain", testRotateChain},
			{"RotateRefreshTokenStale", testRotateStale},
			{"RotateRefreshTokenRevokedSession", testRotateRevokedSession},
			{"RotateRefreshTokenOtherUser", testRotateOtherUser},
			{"RotateRefreshTokenInvalid", testRotateInvalid},
			{"RotateRefreshTokenConcurrently", testRotateConcurrently},
			{"RotateRefreshTokenKeepsOneSuccessor", testRotateKeepsOneSuccessor},
			{"RotateRefreshTokenGraceOnDatabaseClock", testGraceOnDatabaseClock},
		}},
		{"OneTimeTokens", []contractTest{
			{"CreateConsume", testCreateConsumeOneTimeToken},
			{"ConsumePurposes", testConsumeOneTimeTokenPurposes},
			{"ConsumeOtherUser", testConsumeOneTimeTokenOtherUser},
			{"ConsumeConcurrently", testConsumeOneTimeTokenConcurrently},
			{"ConsumeExpired", testConsumeExpiredOneTimeToken},
			{"NewerSupersedes", testOneTimeTokenSupersedes},
			{"DeleteOneTimeTokens", testDeleteOneTimeTokens},
			{"CreateErrors", testCreateOneTimeTokenErrors},
			{"DeleteUserDropsThem", testDeleteUserDropsOneTimeTokens},
		}},
		{"Outbox", []contractTest{
			{"EnqueueClaim", testEnqueueClaimMail},
			{"ExpiresAt", testMailExpiresAt},
			{"ClaimOrderAndLimit", testClaimMailOrderAndLimit},
			{"ClaimConcurrently", testClaimMailConcurrently},
			{"RetryMail", testRetryMail},
			{"DeleteMail", testDeleteMail},
			{"EnqueueErrors", testEnqueueMailErrors},
			{"OutboxStats", testOutboxStats},
			{"DeleteUserDropsMail", testDeleteUserDropsMail},
		}},
		{"Identities", []contractTest{
			{"LinkIdentity", testLinkIdentity},
			{"LinkIdentityErrors", testLinkIdentityErrors},
			{"TouchIdentity", testTouchIdentity},
			{"UnlinkIdentity", testUnlinkIdentity},
			{"UnlinkIdentityConcurrently", testUnlinkIdentityConcurrently},
			{"UnlinkUnverifiedIdentities", testUnlinkUnverifiedIdentities},
			{"DeleteUserDropsThem", testDeleteUserDropsIdentities},
		}},
		{"OAuth", []contractTest{
			{"CreateConsumeCode", testCreateConsumeOAuthCode},
			{"ConsumeCodeOtherUser", testConsumeOAuthCodeOtherUser},
			{"CreateCodeErrors", testCreateOAuthCodeErrors},
			{"ConsumeCodeConcurrently", testConsumeOAuthCodeConcurrently},
			{"CreateConsumeState", testCreateConsumeOAuthState},
			{"CreateConsumeLinkState", testCreateConsumeLinkState},
			{"ConsumeStateConcurrently", testConsumeOAuthStateConcurrently},
		}},
		{"Clients", []contractTest{
			{"Clients", testClients},
			{"CreateClientErrors", testCreateClientErrors},
			{"ClientNotFound", testClientNotFound},
			{"DeleteClient", testDeleteClient},
			{"RevokeToken", testRevokeToken},
			{"RevokeTokenForgetsExpired", testRevokeTokenForgetsExpired},
		}},
		{"Audit", []contractTest{
			{"AppendEvent", testAppendEvent},
			{"EventsOfUserMethods", testEventsUsers},
			{"EventsOfSessionMethods", testEventsSessions},
			{"EventsOfRoleMethods", testEventsRoles},
			{"EventsOfClientMethods", testEventsClients},
			{"EventOfCreateSigningKey", testEventsSigningKey},
			{"ListEvents", testListEvents},
			{"ListEventsPages", testListEventsPages},
			{"ListEventsPagesByUser", testListEventsPagesByUser},
			{"DeleteEventsBefore", testDeleteEventsBefore},
		}},
		{"Retention", []contractTest{
			{"DeleteExpiredRefreshTokens", testDeleteExpiredRefreshTokens},
			{"DeleteExpiredRefreshTokensInBatches", testDeleteExpiredRefreshTokensInBatches},
			{"DeleteEndedSessions", testDeleteEndedSessions},
			{"DeleteEndedSessionsInBatches", testDeleteEndedSessionsInBatches},
			{"DeleteExpiredOneTimeTokens", testDeleteExpiredOneTimeTokens},
			{"DeleteExpiredOneTimeTokensInBatches", testDeleteExpiredOneTimeTokensInBatches},
			{"DeleteExpiredOAuth", testDeleteExpiredOAuth},
			{"DeleteExpiredOAuthInBatches", testDeleteExpiredOAuthInBatches},
		}},
		{"SigningKeys", []contractTest{
			{"SigningKeys", testSigningKeys},
		}},
		{"Import", []contractTest{
			{"ImportUsers", testImportUsers},
			{"ImportUsersEmpty", testImportUsersEmpty},
			{"ImportUsersInvalid", testImportUsersInvalid},
		}},
		{"Transactions", []contractTest{
			{"FnErrorUndoesAll", testTxFnErrorUndoesAll},
			{"FailedMethodUndoesEarlierWrites", testTxFailedMethodUndoesEarlierWrites},
			{"EventOfOtherUser", testTxEventOfOtherUser},
			{"MalformedUserID", testTxMalformedUserID},
			{"OtherUsersRows", testTxOtherUsersRows},
			{"NoChange", testTxNoChange},
			{"GlobalFnErrorUndoesAll", testTxGlobalFnErrorUndoesAll},
			{"Panic", testTxPanic},
			{"CommitsTogether", testTxCommitsTogether},
			{"FnErrorUndoesTokenAndMail", testTxFnErrorUndoesTokenAndMail},
		}},
		{"Errors", []contractTest{
			{"ErrorsAreTheDomains", testErrorsAreTheDomains},
		}},
		{"Ping", []contractTest{
			{"Ping", testPing},
		}},
	}
	for _, suite := range suites {
		t.Run(suite.store, func(t *testing.T) {
			t.Parallel()
			for _, tt := range suite.tests {
				t.Run(tt.name, func(t *testing.T) {
					t.Parallel()
					tt.fn(t, open(t, nil))
				})
			}
		})
	}

	// Tests that move the database's clock.
	clocked := []struct {
		name string
		fn   func(t *testing.T, s Backend, clock *Clock)
	}{
		{"RotateRefreshToken", testRotate},
		{"RefreshStateGraceOnDatabaseClock", testRefreshStateGrace},
		{"ClearStaleSuccessors", testClearStaleSuccessors},
		{"ClearStaleSuccessorsInBatches", testClearStaleSuccessorsInBatches},
	}
	for _, tt := range clocked {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			clock := NewClock()
			tt.fn(t, open(t, clock.Now), clock)
		})
	}
}

// grace is the grace interval the tests rotate refresh tokens with: longer
// than any test takes, so that on the database's real clock a successor is
// kept throughout.
const grace = time.Hour

// now returns the current time in the form the domain writes: UTC, truncated
// to the microsecond, which every backend must round-trip exactly.
func now() time.Time {
	return time.Now().UTC().Truncate(time.Microsecond)
}

// at returns a time with a non-zero microsecond part, so that a backend that
// keeps only milliseconds fails the round-trip checks.
func at(base time.Time, d time.Duration) time.Time {
	return base.Add(d).Truncate(time.Microsecond).Add(123 * time.Microsecond)
}

func newID(t *testing.T) string {
	t.Helper()
	id, err := uuid.NewV7()
	if err != nil {
		t.Fatal(err)
	}
	return id.String()
}

func randomBytes(t *testing.T, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

func tokenHash(t *testing.T) []byte {
	t.Helper()
	h := sha256.Sum256(randomBytes(t, 32))
	return h[:]
}

// wantCode fails the test unless err carries code ("" meaning nil).
func wantCode(t *testing.T, err error, code auth.Code) {
	t.Helper()
	if got := auth.ErrorCode(err); got != code {
		t.Fatalf("error code = %q, want %q (err: %v)", got, code, err)
	}
}

func mustOK(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("unexpected error: %v", err)
	}
}

// diff compares everything; time.Time values compare with their Equal method,
// and nil and empty slices are the same.
func diff(want, got any) string {
	return cmp.Diff(want, got, cmpopts.EquateEmpty())
}

// newUser returns a valid, not yet stored user with a unique email.
func newUser(t *testing.T) *auth.User {
	t.Helper()
	id := newID(t)
	ts := at(now(), -time.Hour)
	return &auth.User{
		ID:              id,
		Email:           "u-" + id + "@example.com",
		Name:            "Test User",
		PasswordHash:    "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA",
		HasPassword:     true,
		Status:          auth.StatusActive,
		Version:         1,
		PasswordVersion: 1,
		Roles:           []string{auth.RoleUser},
		CreatedAt:       ts,
		UpdatedAt:       ts,
	}
}

func createUser(t *testing.T, s Backend) *auth.User {
	t.Helper()
	u := newUser(t)
	mustOK(t, txCreateUser(context.Background(), s, u, nil))
	return u
}

func getUser(t *testing.T, s Backend, id string) *auth.User {
	t.Helper()
	u, err := s.User(context.Background(), id)
	mustOK(t, err)
	return u
}

// newSession returns a valid, not yet stored session of userID created at
// created, and its first refresh token.
func newSession(t *testing.T, userID string, created time.Time) (*auth.Session, *auth.RefreshToken) {
	t.Helper()
	s := &auth.Session{
		ID:                newID(t),
		UserID:            userID,
		CreatedAt:         created,
		LastSeenAt:        created,
		ExpiresAt:         created.Add(30 * 24 * time.Hour),
		IP:                "203.0.113.7",
		UserAgent:         "authtest/1.0",
		RefreshGeneration: 1,
	}
	rt := &auth.RefreshToken{
		Hash:       tokenHash(t),
		UserID:     userID,
		SessionID:  s.ID,
		Generation: 1,
		CreatedAt:  created,
		ExpiresAt:  s.ExpiresAt,
	}
	return s, rt
}

func createSession(t *testing.T, st Backend, userID string, created time.Time) (*auth.Session, *auth.RefreshToken) {
	t.Helper()
	s, rt := newSession(t, userID, created)
	pv := getUser(t, st, userID).PasswordVersion
	mustOK(t, txCreateSession(context.Background(), st, s, rt, pv, nil))
	return s, rt
}

func getSession(t *testing.T, st Backend, userID, id string) *auth.Session {
	t.Helper()
	s, err := st.Session(context.Background(), userID, id)
	mustOK(t, err)
	return s
}

func getToken(t *testing.T, st Backend, userID string, hash []byte) *auth.RefreshToken {
	t.Helper()
	rt, err := st.RefreshToken(context.Background(), userID, hash)
	mustOK(t, err)
	return rt
}

// nextToken returns the token that succeeds old, as the Service would mint it.
func nextToken(t *testing.T, old *auth.RefreshToken, created time.Time) *auth.RefreshToken {
	t.Helper()
	return &auth.RefreshToken{
		Hash:       tokenHash(t),
		UserID:     old.UserID,
		SessionID:  old.SessionID,
		Generation: old.Generation + 1,
		CreatedAt:  created,
		ExpiresAt:  created.Add(30 * 24 * time.Hour),
	}
}

// wantUTC fails unless every time is in UTC, so that callers can format times
// without converting them first.
func wantUTC(t *testing.T, times ...time.Time) {
	t.Helper()
	for i, tm := range times {
		if tm.Location() != time.UTC {
			t.Errorf("time %d (%v) is in %v, want UTC", i, tm, tm.Location())
		}
	}
}

func testPing(t *testing.T, s Backend) {
	mustOK(t, s.Ping(context.Background()))
}

func testCreateUser(t *testing.T, s Backend) {
	ctx := context.Background()
	u := newUser(t)
	u.EmailVerified = true
	u.Roles = []string{auth.RoleUser, auth.RoleAdmin, auth.RoleUser} // unsorted, duplicated
	u.LastLoginAt = at(u.CreatedAt, time.Minute)
	mustOK(t, txCreateUser(ctx, s, u, nil))

	want := *u
	want.Roles = []string{auth.RoleAdmin, auth.RoleUser}
	got := getUser(t, s, u.ID)
	if d := diff(&want, got); d != "" {
		t.Errorf("User() mismatch (-want +got):\n%s", d)
	}
	wantUTC(t, got.CreatedAt, got.UpdatedAt, got.LastLoginAt)

	got, err := s.UserByEmail(ctx, u.Email)
	mustOK(t, err)
	if d := diff(&want, got); d != "" {
		t.Errorf("UserByEmail() mismatch (-want +got):\n%s", d)
	}
}

func testCreateUserNoRoles(t *testing.T, s Backend) {
	u := newUser(t)
	u.Roles = nil
	u.PasswordHash, u.HasPassword = "", false // a social-only account
	mustOK(t, txCreateUser(context.Background(), s, u, nil))
	got := getUser(t, s, u.ID)
	if d := diff(u, got); d != "" {
		t.Errorf("User() mismatch (-want +got):\n%s", d)
	}
	if !got.LastLoginAt.IsZero() {
		t.Errorf("LastLoginAt = %v, want zero", got.LastLoginAt)
	}
}

func testCreateUserUnknownRole(t *testing.T, s Backend) {
	ctx := context.Background()
	u := newUser(t)
	u.Roles = []string{auth.RoleUser, "no-such-role"}
	wantCode(t, txCreateUser(ctx, s, u, nil), auth.EInvalid)

	// Nothing of the failed call may remain: neither the user nor its email.
	_, err := s.User(ctx, u.ID)
	wantCode(t, err, auth.ENotFound)
	u.Roles = []string{auth.RoleUser}
	mustOK(t, txCreateUser(ctx, s, u, nil))
}

func testCreateUserInvalid(t *testing.T, s Backend) {
	ctx := context.Background()
	// A malformed id names no unit of work (ENotFound, before fn runs); in
	// the unit of work of a valid id, it can't be inserted.
	u := newUser(t)
	u.ID = "not-a-uuid"
	wantCode(t, txCreateUser(ctx, s, u, nil), auth.ENotFound)
	wantCode(t, inUser(ctx, s, newID(t), nil, func(tx auth.UserTx) error { return tx.CreateUser(ctx, u) }), auth.EInvalid)
	_, err := s.UserByEmail(ctx, u.Email)
	wantCode(t, err, auth.ENotFound)

	u = newUser(t)
	u.Status = "bogus"
	wantCode(t, txCreateUser(ctx, s, u, nil), auth.EInvalid)
}

func testCreateUserEmailTaken(t *testing.T, s Backend) {
	ctx := context.Background()
	u := createUser(t, s)
	other := newUser(t)
	other.Email = u.Email
	wantCode(t, txCreateUser(ctx, s, other, nil), auth.EEmailTaken)
	_, err := s.User(ctx, other.ID)
	wantCode(t, err, auth.ENotFound)
}

func testCreateUserEmailTakenConcurrently(t *testing.T, s Backend) {
	const n = 8
	email := "race-" + newID(t) + "@example.com"
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		u := newUser(t)
		u.Email = email
		wg.Go(func() {
			<-start
			errs[i] = txCreateUser(context.Background(), s, u, nil)
		})
	}
	close(start)
	wg.Wait()
	won := 0
	for _, err := range errs {
		switch auth.ErrorCode(err) {
		case "":
			won++
		case auth.EEmailTaken:
		default:
			t.Errorf("CreateUser: %v, want nil or %s", err, auth.EEmailTaken)
		}
	}
	if won != 1 {
		t.Errorf("%d of %d concurrent CreateUser calls with one email succeeded, want 1", won, n)
	}
}

func testCreateUserDuplicateID(t *testing.T, s Backend) {
	u := createUser(t, s)
	other := newUser(t)
	other.ID = u.ID
	wantCode(t, txCreateUser(context.Background(), s, other, nil), auth.EConflict)
}

func testUserNotFound(t *testing.T, s Backend) {
	ctx := context.Background()
	createUser(t, s) // a non-empty table, so "not found" is not "empty"
	for _, id := range []string{newID(t), "not-a-uuid", ""} {
		_, err := s.User(ctx, id)
		wantCode(t, err, auth.ENotFound)
	}
	_, err := s.UserByEmail(ctx, "nobody@example.com")
	wantCode(t, err, auth.ENotFound)
}

func testUpdateUser(t *testing.T, s Backend) {
	ctx := context.Background()
	u := createUser(t, s)
	upd := *u
	upd.Name = "Renamed"
	upd.EmailVerified = true
	upd.Status = auth.StatusDisabled
	upd.UpdatedAt = at(u.UpdatedAt, time.Minute)
	// Fields UpdateUser does not write.
	upd.Email = "changed-" + u.Email
	upd.PasswordHash = "changed"
	upd.Roles = []string{auth.RoleAdmin}
	upd.LastLoginAt = upd.UpdatedAt
	mustOK(t, txUpdateUser(ctx, s, upd.ID, fullUpdate(s, &upd, false), nil))

	want := *u
	want.Name, want.EmailVerified, want.Status, want.UpdatedAt = upd.Name, true, auth.StatusDisabled, upd.UpdatedAt
	want.Version = 2
	if d := diff(&want, getUser(t, s, u.ID)); d != "" {
		t.Errorf("after UpdateUser (-want +got):\n%s", d)
	}

	missing := newUser(t)
	wantCode(t, txUpdateUser(ctx, s, missing.ID, fullUpdate(s, missing, false), nil), auth.ENotFound)
	upd.Status = "bogus"
	wantCode(t, txUpdateUser(ctx, s, upd.ID, fullUpdate(s, &upd, false), nil), auth.EInvalid)
}

func testChangePasswordKeepOne(t *testing.T, s Backend) {
	ctx := context.Background()
	u := createUser(t, s)
	base := now()
	s1, _ := createSession(t, s, u.ID, base)
	s2, _ := createSession(t, s, u.ID, at(base, time.Second))
	s3, _ := createSession(t, s, u.ID, at(base, 2*time.Second))
	earlier := at(base, 3*time.Second)
	mustOK(t, txRevokeSession(ctx, s, u.ID, s3.ID, earlier, nil))
	other := createUser(t, s)
	theirs, _ := createSession(t, s, other.ID, base)

	when := at(base, time.Minute)
	mustOK(t, txChangePassword(ctx, s, u.ID, "new-hash", s2.ID, 1, when, nil))

	got := getUser(t, s, u.ID)
	if got.PasswordHash != "new-hash" || !got.UpdatedAt.Equal(when) || got.Version != 2 || got.PasswordVersion != 2 {
		t.Errorf("PasswordHash, UpdatedAt, Version, PasswordVersion = %q, %v, %d, %d; want %q, %v, 2, 2",
			got.PasswordHash, got.UpdatedAt, got.Version, got.PasswordVersion, "new-hash", when)
	}
	for _, c := range []struct {
		user, id string
		revoked  time.Time
	}{
		{u.ID, s1.ID, when},
		{u.ID, s2.ID, time.Time{}},
		{u.ID, s3.ID, earlier}, // already revoked: keeps its time
		{other.ID, theirs.ID, time.Time{}},
	} {
		if r := getSession(t, s, c.user, c.id).RevokedAt; !r.Equal(c.revoked) {
			t.Errorf("session %s: RevokedAt = %v, want %v", c.id, r, c.revoked)
		}
	}
	wantCode(t, txChangePassword(ctx, s, newID(t), "h", "", 1, when, nil), auth.ENotFound)
}

func testChangePasswordKeepNone(t *testing.T, s Backend) {
	ctx := context.Background()
	u := createUser(t, s)
	s1, _ := createSession(t, s, u.ID, now())
	s2, _ := createSession(t, s, u.ID, at(now(), time.Second))
	when := at(now(), time.Minute)
	mustOK(t, txChangePassword(ctx, s, u.ID, "new-hash", "", 1, when, nil))
	for _, id := range []string{s1.ID, s2.ID} {
		if r := getSession(t, s, u.ID, id).RevokedAt; !r.Equal(when) {
			t.Errorf("session %s: RevokedAt = %v, want %v", id, r, when)
		}
	}
	if list := listSessions(t, s, u.ID, when); len(list) != 0 {
		t.Errorf("ListSessions after ChangePassword: %d sessions, want 0", len(list))
	}
}

func testDeleteUser(t *testing.T, s Backend) {
	ctx := context.Background()
	u := createUser(t, s)
	sess, rt := createSession(t, s, u.ID, now())
	next := nextToken(t, rt, at(now(), time.Second))
	mustOK(t, s.RotateRefreshToken(ctx, rt, []byte("sealed"), grace, next, next.CreatedAt))
	other := createUser(t, s)
	osess, ort := createSession(t, s, other.ID, now())

	mustOK(t, txDeleteUser(ctx, s, u.ID, 0, nil))

	_, err := s.User(ctx, u.ID)
	wantCode(t, err, auth.ENotFound)
	_, err = s.UserByEmail(ctx, u.Email)
	wantCode(t, err, auth.ENotFound)
	_, err = s.Session(ctx, u.ID, sess.ID)
	wantCode(t, err, auth.ENotFound)
	for _, h := range [][]byte{rt.Hash, next.Hash} {
		_, err = s.RefreshToken(ctx, u.ID, h)
		wantCode(t, err, auth.ENotFound)
	}
	wantCode(t, txDeleteUser(ctx, s, u.ID, 0, nil), auth.ENotFound)

	// The email is free again.
	again := newUser(t)
	again.Email = u.Email
	mustOK(t, txCreateUser(ctx, s, again, nil))

	// Nothing of another user went with it.
	getUser(t, s, other.ID)
	getSession(t, s, other.ID, osess.ID)
	getToken(t, s, other.ID, ort.Hash)
}

func testCreateSession(t *testing.T, s Backend) {
	u := createUser(t, s)
	created := at(now(), 0)
	sess, rt := createSession(t, s, u.ID, created)

	if d := diff(sess, getSession(t, s, u.ID, sess.ID)); d != "" {
		t.Errorf("Session() mismatch (-want +got):\n%s", d)
	}
	got := getToken(t, s, u.ID, rt.Hash)
	if d := diff(rt, got); d != "" {
		t.Errorf("RefreshToken() mismatch (-want +got):\n%s", d)
	}
	wantUTC(t, got.CreatedAt, got.ExpiresAt)
	gs := getSession(t, s, u.ID, sess.ID)
	wantUTC(t, gs.CreatedAt, gs.LastSeenAt, gs.ExpiresAt)

	gu := getUser(t, s, u.ID)
	if !gu.LastLoginAt.Equal(created) {
		t.Errorf("LastLoginAt = %v, want the session's CreatedAt %v", gu.LastLoginAt, created)
	}
	if !gu.UpdatedAt.Equal(u.UpdatedAt) {
		t.Errorf("CreateSession changed UpdatedAt to %v", gu.UpdatedAt)
	}
}

func testCreateSessionErrors(t *testing.T, s Backend) {
	ctx := context.Background()
	u := createUser(t, s)

	sess, rt := newSession(t, newID(t), now())
	wantCode(t, txCreateSession(ctx, s, sess, rt, 1, nil), auth.ENotFound)
	_, err := s.Session(ctx, sess.UserID, sess.ID)
	wantCode(t, err, auth.ENotFound)

	// The first token must belong to the session.
	sess, rt = newSession(t, u.ID, now())
	rt.SessionID = newID(t)
	wantCode(t, txCreateSession(ctx, s, sess, rt, 1, nil), auth.EInvalid)
	sess, rt = newSession(t, u.ID, now())
	rt.UserID = createUser(t, s).ID
	wantCode(t, txCreateSession(ctx, s, sess, rt, 1, nil), auth.EInvalid)

	// A taken session id or token hash changes nothing.
	sess, rt = createSession(t, s, u.ID, now())
	dup, dupRT := newSession(t, u.ID, at(now(), time.Second))
	dup.ID, dupRT.SessionID = sess.ID, sess.ID
	wantCode(t, txCreateSession(ctx, s, dup, dupRT, 1, nil), auth.EConflict)
	_, err = s.RefreshToken(ctx, u.ID, dupRT.Hash)
	wantCode(t, err, auth.ENotFound)

	fresh, freshRT := newSession(t, u.ID, at(now(), time.Second))
	freshRT.Hash = rt.Hash
	wantCode(t, txCreateSession(ctx, s, fresh, freshRT, 1, nil), auth.EConflict)
	_, err = s.Session(ctx, u.ID, fresh.ID)
	wantCode(t, err, auth.ENotFound)
	if got := getUser(t, s, u.ID).LastLoginAt; !got.Equal(sess.CreatedAt) {
		t.Errorf("a failed CreateSession set LastLoginAt to %v", got)
	}
}

func testSessionScopedByUser(t *testing.T, s Backend) {
	ctx := context.Background()
	alice, bob := createUser(t, s), createUser(t, s)
	sess, rt := createSession(t, s, alice.ID, now())

	_, err := s.Session(ctx, bob.ID, sess.ID)
	wantCode(t, err, auth.ENotFound)
	wantCode(t, txRevokeSession(ctx, s, bob.ID, sess.ID, now(), nil), auth.ENotFound)
	mustOK(t, txRevokeSessions(ctx, s, bob.ID, "", now(), nil))
	_, err = s.RefreshToken(ctx, bob.ID, rt.Hash)
	wantCode(t, err, auth.ENotFound)
	if list := listSessions(t, s, bob.ID, now()); len(list) != 0 {
		t.Errorf("ListSessions(bob) = %d sessions, want 0", len(list))
	}

	if !getSession(t, s, alice.ID, sess.ID).RevokedAt.IsZero() {
		t.Error("another user revoked alice's session")
	}
	for _, id := range []string{newID(t), "not-a-uuid"} {
		_, err = s.Session(ctx, alice.ID, id)
		wantCode(t, err, auth.ENotFound)
		wantCode(t, txRevokeSession(ctx, s, alice.ID, id, now(), nil), auth.ENotFound)
	}
}

func testSessionWithUser(t *testing.T, s Backend) {
	ctx := context.Background()
	alice, bob := createUser(t, s), createUser(t, s)
	mustOK(t, txGrantRole(ctx, s, alice.ID, auth.RoleAdmin, now(), nil))
	sess, _ := createSession(t, s, alice.ID, now())

	gotS, gotU, err := s.SessionWithUser(ctx, alice.ID, sess.ID)
	mustOK(t, err)
	if d := cmp.Diff(getSession(t, s, alice.ID, sess.ID), gotS); d != "" {
		t.Errorf("session (-Session +SessionWithUser):\n%s", d)
	}
	wantU, err := s.User(ctx, alice.ID)
	mustOK(t, err)
	if d := cmp.Diff(wantU, gotU); d != "" {
		t.Errorf("user (-User +SessionWithUser):\n%s", d)
	}

	// A revoked session still comes back, revoked.
	mustOK(t, txRevokeSession(ctx, s, alice.ID, sess.ID, now(), nil))
	gotS, _, err = s.SessionWithUser(ctx, alice.ID, sess.ID)
	mustOK(t, err)
	if gotS.RevokedAt.IsZero() {
		t.Error("revoked session returned unrevoked")
	}

	for _, c := range []struct{ user, session string }{
		{bob.ID, sess.ID}, {alice.ID, newID(t)}, {"not-a-uuid", sess.ID}, {alice.ID, "not-a-uuid"},
	} {
		_, _, err := s.SessionWithUser(ctx, c.user, c.session)
		wantCode(t, err, auth.ENotFound)
	}
}

// testErrorsAreTheDomains: a backend refuses with the domain's own error
// values, not wording of its own, so the domain can tell them apart.
func testErrorsAreTheDomains(t *testing.T, s Backend) {
	ctx := context.Background()
	u := createUser(t, s)
	createRole(t, s, "errors-role")
	taken := newUser(t)
	taken.Email = u.Email
	unknownRole := newUser(t)
	unknownRole.Roles = []string{"no-such-role"}
	name := "x"
	stale := &auth.UserUpdate{Name: &name, Version: u.Version + 1, At: now()}
	_, errUser := s.User(ctx, newID(t))
	_, errSession := s.Session(ctx, u.ID, newID(t))
	_, errToken := s.RefreshToken(ctx, u.ID, []byte("no such token hash, 32 bytes...."))
	_, errRole := s.Role(ctx, "no-such-role")
	_, errClient := s.Client(ctx, newID(t))
	_, errToken1 := txConsumeOneTimeToken(ctx, s, u.ID, tokenHash(t), auth.PurposeVerifyEmail)
	other := createUser(t, s)
	tok := createOneTimeToken(t, s, u.ID, auth.PurposeVerifyEmail)
	dupTok := newOneTimeToken(t, u.ID, auth.PurposeResetPassword)
	dupTok.Hash = tok.Hash
	mail := enqueueMail(t, s, u.ID, now())
	dupMail := newMail(t, u.ID, now())
	dupMail.ID = mail.ID
	linked := linkIdentity(t, s, u.ID, "google")
	takenID := newIdentity(t, other.ID, "google")
	takenID.Subject = linked.Subject
	_, errIdentity := s.IdentityBySubject(ctx, "google", "no-such-subject")
	_, errState := s.ConsumeOAuthState(ctx, tokenHash(t))
	_, errCode := txConsumeOAuthCode(ctx, s, u.ID, tokenHash(t))
	lone := createPasswordlessUser(t, s)
	linkIdentity(t, s, lone.ID, "github")
	for _, c := range []struct {
		name      string
		err, want error
	}{
		{"User", errUser, auth.ErrUserNotFound},
		{"Session", errSession, auth.ErrSessionNotFound},
		{"RefreshToken", errToken, auth.ErrRefreshTokenNotFound},
		{"Role", errRole, auth.ErrRoleNotFound},
		{"Client", errClient, auth.ErrClientNotFound},
		{"CreateUser, email taken", txCreateUser(ctx, s, taken, nil), auth.ErrEmailTaken},
		{"CreateUser, unknown role", txCreateUser(ctx, s, unknownRole, nil), auth.ErrUnknownRole},
		{"CreateRole, name taken", txCreateRole(ctx, s, newRole("errors-role"), nil), auth.ErrExists},
		{"UpdateUser, stale", txUpdateUser(ctx, s, u.ID, stale, nil), auth.ErrStale},
		{"ConsumeOneTimeToken", errToken1, auth.ErrOneTimeTokenNotFound},
		{"CreateOneTimeToken, other user", txCreateOneTimeToken(ctx, s, u.ID, newOneTimeToken(t, other.ID, auth.PurposeVerifyEmail), nil), auth.ErrOtherUser},
		{"CreateOneTimeToken, hash taken", txCreateOneTimeToken(ctx, s, u.ID, dupTok, nil), auth.ErrExists},
		{"EnqueueMail, other user", txEnqueueMail(ctx, s, u.ID, newMail(t, other.ID, now()), nil), auth.ErrOtherUser},
		{"EnqueueMail, id taken", txEnqueueMail(ctx, s, u.ID, dupMail, nil), auth.ErrExists},
		{"DeleteMail", txDeleteMail(ctx, s, u.ID, newID(t), nil), auth.ErrMailNotFound},
		{"RetryMail", s.RetryMail(ctx, u.ID, newID(t), now(), "x"), auth.ErrMailNotFound},
		{"ChangeEmail, email taken", txChangeEmail(ctx, s, u.ID, other.Email, now(), nil), auth.ErrEmailTaken},
		{"ChangeEmail, unknown user", txChangeEmail(ctx, s, newID(t), "x-"+newID(t)+"@example.com", now(), nil), auth.ErrUserNotFound},
		{"VerifyEmail, unknown user", txVerifyEmail(ctx, s, newID(t), u.Email, now(), nil), auth.ErrUserNotFound},
		{"IdentityBySubject", errIdentity, auth.ErrIdentityNotFound},
		{"LinkIdentity, account taken", txLinkIdentity(ctx, s, other.ID, takenID), auth.ErrIdentityTaken},
		{"LinkIdentity, other user", txLinkIdentity(ctx, s, u.ID, newIdentity(t, other.ID, "github")), auth.ErrOtherUser},
		{"TouchIdentity", txTouchIdentity(ctx, s, u.ID, "github", "x@example.com", true, now()), auth.ErrIdentityNotFound},
		{"UnlinkIdentity, none", txUnlinkIdentity(ctx, s, u.ID, "github"), auth.ErrIdentityNotFound},
		{"UnlinkIdentity, last sign-in", txUnlinkIdentity(ctx, s, lone.ID, "github"), auth.ErrLastSignIn},
		{"ConsumeOAuthState", errState, auth.ErrOAuthStateNotFound},
		{"ConsumeOAuthCode", errCode, auth.ErrOAuthCodeNotFound},
		{"CreateOAuthCode, other user", txCreateOAuthCode(ctx, s, u.ID, newOAuthCode(t, other.ID)), auth.ErrOtherUser},
	} {
		if !errors.Is(c.err, c.want) {
			t.Errorf("%s: %v, want %v", c.name, c.err, c.want)
		}
	}
}

// listSessions returns the first hundred of the user's sessions active at
// now.
func listSessions(t *testing.T, s Backend, userID string, now time.Time) []*auth.Session {
	t.Helper()
	list, err := s.ListSessions(context.Background(), auth.SessionFilter{UserID: userID, ActiveAt: now, Limit: 100})
	mustOK(t, err)
	return list
}

func testListSessions(t *testing.T, s Backend) {
	ctx := context.Background()
	u := createUser(t, s)
	base := now()
	// Created in this order, as the service creates them: ids (UUIDv7)
	// follow creation times.
	oldest, _ := createSession(t, s, u.ID, at(base, -3*time.Hour))
	revoked, _ := createSession(t, s, u.ID, at(base, -2*time.Hour))
	middle, _ := createSession(t, s, u.ID, at(base, -time.Hour))
	expired, ert := newSession(t, u.ID, at(base, -30*time.Minute))
	expired.ExpiresAt = base // not active at base: Active needs now < ExpiresAt
	ert.ExpiresAt = base
	mustOK(t, txCreateSession(ctx, s, expired, ert, 1, nil))
	newest, _ := createSession(t, s, u.ID, at(base, -time.Minute))
	mustOK(t, txRevokeSession(ctx, s, u.ID, revoked.ID, base, nil))
	createSession(t, s, createUser(t, s).ID, base) // another user's

	got := listSessions(t, s, u.ID, base)
	want := []*auth.Session{newest, middle, oldest}
	if d := diff(want, got); d != "" {
		t.Errorf("ListSessions mismatch (-want +got):\n%s", d)
	}
	for _, sess := range got {
		if !sess.Active(base) {
			t.Errorf("ListSessions returned inactive session %s", sess.ID)
		}
	}

	// A moment earlier the expired session was still active.
	got = listSessions(t, s, u.ID, base.Add(-time.Microsecond))
	if len(got) != 4 || got[1].ID != expired.ID {
		t.Errorf("ListSessions just before expiry: got %d sessions, want 4 with the expiring one second", len(got))
	}

	if got := listSessions(t, s, newID(t), base); len(got) != 0 {
		t.Errorf("ListSessions(unknown user) = %d sessions, want 0", len(got))
	}
	if got := listSessions(t, s, "not-a-uuid", base); len(got) != 0 {
		t.Errorf("ListSessions(malformed user id) = %d sessions, want 0", len(got))
	}
}

// testListSessionsPages walks a user's sessions in pages: newest first,
// each page after the id of the previous page's last, and no session
// skipped or repeated.
func testListSessionsPages(t *testing.T, s Backend) {
	ctx := context.Background()
	u := createUser(t, s)
	base := now()
	var want []string
	for i := range 7 {
		sess, _ := createSession(t, s, u.ID, at(base, time.Duration(i-10)*time.Minute))
		want = append([]string{sess.ID}, want...)
	}
	createSession(t, s, createUser(t, s).ID, base) // another user's, newer than all

	var got []string
	f := auth.SessionFilter{UserID: u.ID, ActiveAt: base, Limit: 3}
	for pages := 0; ; pages++ {
		list, err := s.ListSessions(ctx, f)
		mustOK(t, err)
		if len(list) > 3 || pages > 3 {
			t.Fatalf("page %d has %d sessions (limit 3)", pages, len(list))
		}
		if len(list) == 0 {
			break
		}
		for _, sess := range list {
			got = append(got, sess.ID)
		}
		f.Before = list[len(list)-1].ID
	}
	if d := diff(want, got); d != "" {
		t.Errorf("sessions walked in pages (-want +got):\n%s", d)
	}

	for name, f := range map[string]auth.SessionFilter{
		"no limit":         {UserID: u.ID, ActiveAt: base},
		"negative limit":   {UserID: u.ID, ActiveAt: base, Limit: -1},
		"malformed cursor": {UserID: u.ID, ActiveAt: base, Limit: 3, Before: "not-a-uuid"},
	} {
		_, err := s.ListSessions(ctx, f)
		if got := auth.ErrorCode(err); got != auth.EInvalid {
			t.Errorf("%s: error code %q, want %q", name, got, auth.EInvalid)
		}
	}
}

// testListSessionsLifetimes: CreatedAfter and SeenAfter leave out the
// sessions past their maximum lifetime or idle timeout, strictly.
func testListSessionsLifetimes(t *testing.T, s Backend) {
	u := createUser(t, s)
	base := now()
	created := at(base, -time.Hour)
	old, _ := createSession(t, s, u.ID, created)
	seen, stok := createSession(t, s, u.ID, at(created, time.Minute))
	// A refresh half an hour later marks it seen.
	next := nextToken(t, stok, at(created, 31*time.Minute))
	mustOK(t, s.RotateRefreshToken(context.Background(), stok, nil, 0, next, next.CreatedAt))

	ids := func(f auth.SessionFilter) []string {
		t.Helper()
		f.UserID, f.ActiveAt, f.Limit = u.ID, base, 10
		list, err := s.ListSessions(context.Background(), f)
		mustOK(t, err)
		var out []string
		for _, sess := range list {
			out = append(out, sess.ID)
		}
		return out
	}
	for _, c := range []struct {
		name string
		f    auth.SessionFilter
		want []string
	}{
		{"no bound", auth.SessionFilter{}, []string{seen.ID, old.ID}},
		{"created after the first", auth.SessionFilter{CreatedAfter: created}, []string{seen.ID}},
		{"created just before the first", auth.SessionFilter{CreatedAfter: created.Add(-time.Microsecond)}, []string{seen.ID, old.ID}},
		{"seen after the first's creation", auth.SessionFilter{SeenAfter: at(created, 30*time.Minute)}, []string{seen.ID}},
		{"seen after the refresh", auth.SessionFilter{SeenAfter: at(created, 31*time.Minute)}, nil},
	} {
		if d := diff(c.want, ids(c.f)); d != "" {
			t.Errorf("%s (-want +got):\n%s", c.name, d)
		}
	}
}

func testRevokeSession(t *testing.T, s Backend) {
	ctx := context.Background()
	u := createUser(t, s)
	sess, _ := createSession(t, s, u.ID, now())
	keep, _ := createSession(t, s, u.ID, now())
	when := at(now(), time.Second)
	mustOK(t, txRevokeSession(ctx, s, u.ID, sess.ID, when, nil))

	want := *sess
	want.RevokedAt = when
	got := getSession(t, s, u.ID, sess.ID) // revoked sessions stay readable
	if d := diff(&want, got); d != "" {
		t.Errorf("after RevokeSession (-want +got):\n%s", d)
	}
	wantUTC(t, got.RevokedAt)
	if got.Active(when) {
		t.Error("revoked session is active")
	}
	wantCode(t, txRevokeSession(ctx, s, u.ID, sess.ID, at(when, time.Second), nil), auth.ENotFound)
	if r := getSession(t, s, u.ID, sess.ID).RevokedAt; !r.Equal(when) {
		t.Errorf("second RevokeSession moved RevokedAt to %v", r)
	}
	if !getSession(t, s, u.ID, keep.ID).RevokedAt.IsZero() {
		t.Error("RevokeSession revoked another session")
	}
}

func testRevokeSessions(t *testing.T, s Backend) {
	ctx := context.Background()
	u := createUser(t, s)
	base := now()
	s1, _ := createSession(t, s, u.ID, base)
	s2, _ := createSession(t, s, u.ID, at(base, time.Second))
	s3, _ := createSession(t, s, u.ID, at(base, 2*time.Second))
	earlier := at(base, 3*time.Second)
	mustOK(t, txRevokeSession(ctx, s, u.ID, s3.ID, earlier, nil))
	other := createUser(t, s)
	theirs, _ := createSession(t, s, other.ID, base)

	when := at(base, time.Minute)
	mustOK(t, txRevokeSessions(ctx, s, u.ID, s2.ID, when, nil))
	check := func(user, id string, want time.Time) {
		t.Helper()
		if r := getSession(t, s, user, id).RevokedAt; !r.Equal(want) {
			t.Errorf("session %s: RevokedAt = %v, want %v", id, r, want)
		}
	}
	check(u.ID, s1.ID, when)
	check(u.ID, s2.ID, time.Time{})
	check(u.ID, s3.ID, earlier)
	check(other.ID, theirs.ID, time.Time{})

	later := at(when, time.Minute)
	mustOK(t, txRevokeSessions(ctx, s, u.ID, "", later, nil))
	check(u.ID, s1.ID, when)
	check(u.ID, s2.ID, later)
	check(other.ID, theirs.ID, time.Time{})

	// Nothing left to revoke, or no such user: not an error.
	mustOK(t, txRevokeSessions(ctx, s, u.ID, "", later, nil))
	mustOK(t, txRevokeSessions(ctx, s, newID(t), "", later, nil))
}

func testRefreshToken(t *testing.T, s Backend) {
	ctx := context.Background()
	alice, bob := createUser(t, s), createUser(t, s)
	_, rt := createSession(t, s, alice.ID, now())
	if d := diff(rt, getToken(t, s, alice.ID, rt.Hash)); d != "" {
		t.Errorf("RefreshToken mismatch (-want +got):\n%s", d)
	}
	_, err := s.RefreshToken(ctx, bob.ID, rt.Hash)
	wantCode(t, err, auth.ENotFound)
	_, err = s.RefreshToken(ctx, alice.ID, tokenHash(t))
	wantCode(t, err, auth.ENotFound)
	_, err = s.RefreshToken(ctx, "not-a-uuid", rt.Hash)
	wantCode(t, err, auth.ENotFound)
}

// wantRefreshState fails unless RefreshState returns what the single reads
// return for the token.
func wantRefreshState(t *testing.T, s Backend, userID string, hash []byte) {
	t.Helper()
	rt, sess, u, err := s.RefreshState(context.Background(), userID, hash)
	mustOK(t, err)
	wantRT := getToken(t, s, userID, hash)
	if d := diff(wantRT, rt); d != "" {
		t.Errorf("RefreshState token mismatch (-want +got):\n%s", d)
	}
	if d := diff(getSession(t, s, userID, wantRT.SessionID), sess); d != "" {
		t.Errorf("RefreshState session mismatch (-want +got):\n%s", d)
	}
	if d := diff(getUser(t, s, userID), u); d != "" {
		t.Errorf("RefreshState user mismatch (-want +got):\n%s", d)
	}
	wantUTC(t, rt.CreatedAt, rt.ExpiresAt, sess.CreatedAt, sess.LastSeenAt, sess.ExpiresAt, u.CreatedAt, u.UpdatedAt)
}

func testRefreshState(t *testing.T, s Backend) {
	ctx := context.Background()
	u := newUser(t)
	u.Roles = []string{auth.RoleUser, auth.RoleAdmin}
	mustOK(t, txCreateUser(ctx, s, u, nil))
	createSession(t, s, u.ID, at(now(), -time.Minute)) // another session of the user
	sess, old := createSession(t, s, u.ID, now())
	wantRefreshState(t, s, u.ID, old.Hash)
	_, _, got, err := s.RefreshState(ctx, u.ID, old.Hash)
	mustOK(t, err)
	if d := diff([]string{auth.RoleAdmin, auth.RoleUser}, got.Roles); d != "" {
		t.Errorf("RefreshState roles mismatch (-want +got):\n%s", d)
	}

	// After a rotation: the retired token with its successor, and the
	// session at the new generation.
	next := nextToken(t, old, at(now(), time.Second))
	mustOK(t, s.RotateRefreshToken(ctx, old, []byte("sealed"), grace, next, next.CreatedAt))
	wantRefreshState(t, s, u.ID, old.Hash)
	wantRefreshState(t, s, u.ID, next.Hash)

	// A revoked session is still returned, so that the caller can tell.
	mustOK(t, txRevokeSession(ctx, s, u.ID, sess.ID, at(now(), 2*time.Second), nil))
	wantRefreshState(t, s, u.ID, next.Hash)
}

func testRefreshStateNotFound(t *testing.T, s Backend) {
	ctx := context.Background()
	alice, bob := createUser(t, s), createUser(t, s)
	_, rt := createSession(t, s, alice.ID, now())
	for name, c := range map[string]struct {
		userID string
		hash   []byte
	}{
		"unknown hash":       {alice.ID, tokenHash(t)},
		"other user's token": {bob.ID, rt.Hash},
		"unknown user":       {newID(t), rt.Hash},
		"malformed user id":  {"not-a-uuid", rt.Hash},
	} {
		_, _, _, err := s.RefreshState(ctx, c.userID, c.hash)
		if got := auth.ErrorCode(err); got != auth.ENotFound {
			t.Errorf("%s: error code %q, want %q (err: %v)", name, got, auth.ENotFound, err)
		}
	}
	mustOK(t, txDeleteUser(ctx, s, alice.ID, 0, nil))
	_, _, _, err := s.RefreshState(ctx, alice.ID, rt.Hash)
	wantCode(t, err, auth.ENotFound)
}

func testRotate(t *testing.T, s Backend, clock *Clock) {
	ctx := context.Background()
	u := createUser(t, s)
	sess, old := createSession(t, s, u.ID, at(now(), -time.Hour))
	when := at(now(), 0)
	next := nextToken(t, old, when)
	sealed := randomBytes(t, 80)
	mustOK(t, s.RotateRefreshToken(ctx, old, sealed, grace, next, when))

	wantOld := *old
	wantOld.RotatedAt = when
	wantOld.Successor = sealed
	wantOld.GraceUntil = clock.Now().Add(grace) // the database's clock, not when
	gotOld := getToken(t, s, u.ID, old.Hash)
	if d := diff(&wantOld, gotOld); d != "" {
		t.Errorf("old token after rotation (-want +got):\n%s", d)
	}
	wantUTC(t, gotOld.RotatedAt, gotOld.GraceUntil)
	if d := diff(next, getToken(t, s, u.ID, next.Hash)); d != "" {
		t.Errorf("new token after rotation (-want +got):\n%s", d)
	}
	wantSess := *sess
	wantSess.RefreshGeneration = next.Generation
	wantSess.LastSeenAt = when
	wantSess.ExpiresAt = next.ExpiresAt
	if d := diff(&wantSess, getSession(t, s, u.ID, sess.ID)); d != "" {
		t.Errorf("session after rotation (-want +got):\n%s", d)
	}

	// Without a grace interval no successor is kept.
	after := nextToken(t, next, at(when, time.Second))
	mustOK(t, s.RotateRefreshToken(ctx, next, []byte("unused"), 0, after, after.CreatedAt))
	if got := getToken(t, s, u.ID, next.Hash); got.Successor != nil || !got.GraceUntil.IsZero() {
		t.Errorf("token rotated without grace: Successor = %q, GraceUntil = %v; want none", got.Successor, got.GraceUntil)
	}
}

func testRotateChain(t *testing.T, s Backend) {
	ctx := context.Background()
	u := createUser(t, s)
	sess, tok := createSession(t, s, u.ID, now())
	for i := range 3 {
		next := nextToken(t, tok, at(now(), time.Duration(i)*time.Second))
		mustOK(t, s.RotateRefreshToken(ctx, tok, []byte{byte(i)}, grace, next, next.CreatedAt))
		tok = next
	}
	if g := getSession(t, s, u.ID, sess.ID).RefreshGeneration; g != 4 {
		t.Errorf("RefreshGeneration after 3 rotations = %d, want 4", g)
	}
	if r := getToken(t, s, u.ID, tok.Hash); !r.RotatedAt.IsZero() || r.Successor != nil {
		t.Errorf("current token: RotatedAt = %v, Successor = %x; want zero, nil", r.RotatedAt, r.Successor)
	}
}

// testRotateKeepsOneSuccessor: a rotation clears the sealed successor of
// every older generation, so that only the most recently retired token (the
// one the grace interval is for) holds one, and a copy of the database plus
// an old token can't walk the family forward.
func testRotateKeepsOneSuccessor(t *testing.T, s Backend) {
	ctx := context.Background()
	u := createUser(t, s)
	_, t1 := createSession(t, s, u.ID, now())
	t2 := nextToken(t, t1, at(now(), time.Second))
	mustOK(t, s.RotateRefreshToken(ctx, t1, []byte("sealed-2"), grace, t2, t2.CreatedAt))
	t3 := nextToken(t, t2, at(now(), 2*time.Second))
	mustOK(t, s.RotateRefreshToken(ctx, t2, []byte("sealed-3"), grace, t3, t3.CreatedAt))

	if got := getToken(t, s, u.ID, t1.Hash); got.Successor != nil || got.RotatedAt.IsZero() {
		t.Errorf("token 1 after a later rotation: Successor = %q, RotatedAt = %v; want nil and still retired", got.Successor, got.RotatedAt)
	}
	if got := getToken(t, s, u.ID, t2.Hash).Successor; string(got) != "sealed-3" {
		t.Errorf("token 2 Successor = %q, want sealed-3", got)
	}
}

// rotateLoses asserts that rotating old to a fresh successor returns
// EConflict and changes nothing.
func rotateLoses(t *testing.T, s Backend, old *auth.RefreshToken) {
	t.Helper()
	ctx := context.Background()
	beforeSess := getSession(t, s, old.UserID, old.SessionID)
	beforeOld := getToken(t, s, old.UserID, old.Hash)

	next := nextToken(t, old, at(now(), time.Hour))
	wantCode(t, s.RotateRefreshToken(ctx, old, []byte("loser"), grace, next, next.CreatedAt), auth.EConflict)

	if d := diff(beforeSess, getSession(t, s, old.UserID, old.SessionID)); d != "" {
		t.Errorf("losing rotation changed the session (-before +after):\n%s", d)
	}
	if d := diff(beforeOld, getToken(t, s, old.UserID, old.Hash)); d != "" {
		t.Errorf("losing rotation changed the old token (-before +after):\n%s", d)
	}
	_, err := s.RefreshToken(ctx, old.UserID, next.Hash)
	wantCode(t, err, auth.ENotFound)
}

func testRotateStale(t *testing.T, s Backend) {
	ctx := context.Background()
	u := createUser(t, s)
	_, old := createSession(t, s, u.ID, now())
	next := nextToken(t, old, at(now(), time.Second))
	mustOK(t, s.RotateRefreshToken(ctx, old, []byte("winner"), grace, next, next.CreatedAt))
	rotateLoses(t, s, old)
	if got := getToken(t, s, u.ID, old.Hash).Successor; !bytes.Equal(got, []byte("winner")) {
		t.Errorf("Successor = %q, want the winner's", got)
	}
}

func testRotateRevokedSession(t *testing.T, s Backend) {
	ctx := context.Background()
	u := createUser(t, s)
	sess, old := createSession(t, s, u.ID, now())
	mustOK(t, txRevokeSession(ctx, s, u.ID, sess.ID, now(), nil))
	rotateLoses(t, s, old)
}

func testRotateOtherUser(t *testing.T, s Backend) {
	ctx := context.Background()
	alice, bob := createUser(t, s), createUser(t, s)
	sess, old := createSession(t, s, alice.ID, now())
	forged := *old
	forged.UserID = bob.ID
	next := nextToken(t, &forged, at(now(), time.Second))
	wantCode(t, s.RotateRefreshToken(ctx, &forged, []byte("x"), grace, next, next.CreatedAt), auth.EConflict)
	if g := getSession(t, s, alice.ID, sess.ID).RefreshGeneration; g != 1 {
		t.Errorf("RefreshGeneration = %d after a rotation under another user, want 1", g)
	}

	// A token whose hash is not the session's current one loses too, even
	// with the right generation.
	forged = *old
	forged.Hash = tokenHash(t)
	next = nextToken(t, &forged, at(now(), time.Second))
	wantCode(t, s.RotateRefreshToken(ctx, &forged, []byte("x"), grace, next, next.CreatedAt), auth.EConflict)
	if g := getSession(t, s, alice.ID, sess.ID).RefreshGeneration; g != 1 {
		t.Errorf("RefreshGeneration = %d after rotating an unknown token, want 1", g)
	}
	_, err := s.RefreshToken(ctx, alice.ID, next.Hash)
	wantCode(t, err, auth.ENotFound)
}

func testRotateInvalid(t *testing.T, s Backend) {
	ctx := context.Background()
	u := createUser(t, s)
	_, old := createSession(t, s, u.ID, now())
	for name, mutate := range map[string]func(*auth.RefreshToken){
		"same generation":  func(n *auth.RefreshToken) { n.Generation = old.Generation },
		"other session":    func(n *auth.RefreshToken) { n.SessionID = newID(t) },
		"other user":       func(n *auth.RefreshToken) { n.UserID = newID(t) },
		"lower generation": func(n *auth.RefreshToken) { n.Generation = 0 },
	} {
		next := nextToken(t, old, now())
		mutate(next)
		if got := auth.ErrorCode(s.RotateRefreshToken(ctx, old, nil, grace, next, now())); got != auth.EInvalid {
			t.Errorf("%s: error code %q, want %q", name, got, auth.EInvalid)
		}
	}
	// The token is still rotatable.
	next := nextToken(t, old, now())
	mustOK(t, s.RotateRefreshToken(ctx, old, []byte("s"), grace, next, now()))
}

func testRotateConcurrently(t *testing.T, s Backend) {
	const n = 20
	u := createUser(t, s)
	sess, old := createSession(t, s, u.ID, now())
	nexts := make([]*auth.RefreshToken, n)
	errs := make([]error, n)
	for i := range nexts {
		nexts[i] = nextToken(t, old, at(now(), time.Second))
	}
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			errs[i] = s.RotateRefreshToken(context.Background(), old, fmt.Appendf(nil, "sealed-%d", i), grace, nexts[i], nexts[i].CreatedAt)
		})
	}
	close(start)
	wg.Wait()

	winner := -1
	for i, err := range errs {
		switch auth.ErrorCode(err) {
		case "":
			if winner >= 0 {
				t.Errorf("rotations %d and %d both succeeded", winner, i)
			}
			winner = i
		case auth.EConflict:
		default:
			t.Errorf("rotation %d: %v, want nil or %s", i, err, auth.EConflict)
		}
	}
	if winner < 0 {
		t.Fatal("no concurrent rotation succeeded")
	}
	ctx := context.Background()
	for i, next := range nexts {
		_, err := s.RefreshToken(ctx, u.ID, next.Hash)
		if i == winner {
			mustOK(t, err)
		} else {
			wantCode(t, err, auth.ENotFound)
		}
	}
	if got := getToken(t, s, u.ID, old.Hash).Successor; string(got) != fmt.Sprintf("sealed-%d", winner) {
		t.Errorf("Successor = %q, want the winner's (sealed-%d)", got, winner)
	}
	if g := getSession(t, s, u.ID, sess.ID).RefreshGeneration; g != 2 {
		t.Errorf("RefreshGeneration = %d, want 2", g)
	}
}

func testSigningKeys(t *testing.T, s Backend) {
	ctx := context.Background()
	keys, err := s.SigningKeys(ctx)
	mustOK(t, err)
	if len(keys) != 0 {
		t.Fatalf("SigningKeys on an empty store = %d keys, want 0", len(keys))
	}

	base := now()
	key := func(id string, activates time.Time) *auth.SigningKey {
		return &auth.SigningKey{
			ID:          id,
			Algorithm:   "ES256",
			PublicKey:   randomBytes(t, 91),
			PrivateKey:  append([]byte{0, 0xff}, randomBytes(t, 150)...), // not text
			CreatedAt:   at(base, 0),
			ActivatesAt: activates,
		}
	}
	// Inserted out of order; "B" < "a" bytewise, which a locale collation
	// would order the other way.
	k3 := key("c", at(base, 2*time.Hour))
	k2b := key("a", at(base, time.Hour))
	k2a := key("B", at(base, time.Hour))
	k1 := key("z", at(base, 0))
	for _, k := range []*auth.SigningKey{k3, k2b, k2a, k1} {
		mustOK(t, txCreateSigningKey(ctx, s, k, nil))
	}
	keys, err = s.SigningKeys(ctx)
	mustOK(t, err)
	if d := diff([]*auth.SigningKey{k1, k2a, k2b, k3}, keys); d != "" {
		t.Errorf("SigningKeys mismatch (-want +got):\n%s", d)
	}
	for _, k := range keys {
		wantUTC(t, k.CreatedAt, k.ActivatesAt)
	}

	dup := key("c", at(base, 3*time.Hour))
	wantCode(t, txCreateSigningKey(ctx, s, dup, nil), auth.EConflict)
	keys, err = s.SigningKeys(ctx)
	mustOK(t, err)
	if len(keys) != 4 || !bytes.Equal(keys[3].PublicKey, k3.PublicKey) {
		t.Error("a duplicate CreateSigningKey changed the stored keys")
	}

	// Deleting withdraws exactly that key; an unknown id (or one already
	// deleted, or one that differs only in case) is not found.
	mustOK(t, inGlobal(ctx, s, nil, func(tx auth.GlobalTx) error { return tx.DeleteSigningKey(ctx, "B") }))
	for _, id := range []string{"B", "b", "nope"} {
		wantCode(t, inGlobal(ctx, s, nil, func(tx auth.GlobalTx) error { return tx.DeleteSigningKey(ctx, id) }), auth.ENotFound)
	}
	keys, err = s.SigningKeys(ctx)
	mustOK(t, err)
	if d := diff([]*auth.SigningKey{k1, k2b, k3}, keys); d != "" {
		t.Errorf("SigningKeys after deleting B (-want +got):\n%s", d)
	}
}

// importer is the bulk import every backend offers outside auth.Store, for
// seeding and imports.
type importer interface {
	ImportUsers(ctx context.Context, users []*auth.User) (int, error)
}

func mustImporter(t *testing.T, s Backend) importer {
	t.Helper()
	im, ok := s.(importer)
	if !ok {
		t.Fatalf("%T has no ImportUsers method", s)
	}
	return im
}

func testImportUsers(t *testing.T, s Backend) {
	ctx := context.Background()
	im := mustImporter(t, s)
	stored := createUser(t, s)

	admin := newUser(t)
	admin.EmailVerified = true
	admin.Roles = []string{auth.RoleUser, auth.RoleAdmin, auth.RoleUser} // unsorted, duplicated
	admin.LastLoginAt = at(admin.CreatedAt, time.Minute)
	social := newUser(t)
	social.Roles = nil
	social.PasswordHash, social.HasPassword = "", false
	disabled := newUser(t)
	disabled.Status = auth.StatusDisabled
	takenEmail := newUser(t)
	takenEmail.Email = stored.Email
	takenEmail.Roles = []string{auth.RoleAdmin}
	takenID := newUser(t)
	takenID.ID = stored.ID
	takenID.Roles = []string{auth.RoleAdmin}
	repeatedEmail := newUser(t) // of a user earlier in the same call
	repeatedEmail.Email = admin.Email
	repeatedID := newUser(t)
	repeatedID.ID = social.ID
	repeatedID.Roles = []string{auth.RoleAdmin}

	users := []*auth.User{admin, takenEmail, social, takenID, repeatedEmail, disabled, repeatedID}
	n, err := im.ImportUsers(ctx, users)
	mustOK(t, err)
	if n != 3 {
		t.Errorf("ImportUsers inserted %d users, want 3", n)
	}

	wantAdmin := *admin
	wantAdmin.Roles = []string{auth.RoleAdmin, auth.RoleUser}
	for _, want := range []*auth.User{&wantAdmin, social, disabled, stored} {
		if d := diff(want, getUser(t, s, want.ID)); d != "" {
			t.Errorf("User(%s) after import (-want +got):\n%s", want.Email, d)
		}
		got, err := s.UserByEmail(ctx, want.Email)
		mustOK(t, err)
		if d := diff(want, got); d != "" {
			t.Errorf("UserByEmail(%s) after import (-want +got):\n%s", want.Email, d)
		}
	}
	for _, skipped := range []*auth.User{takenEmail, repeatedEmail} {
		_, err := s.User(ctx, skipped.ID)
		wantCode(t, err, auth.ENotFound)
	}
	for _, skipped := range []*auth.User{takenID, repeatedID} {
		_, err := s.UserByEmail(ctx, skipped.Email)
		wantCode(t, err, auth.ENotFound)
	}

	// Importing the same users again inserts none, and the imported users
	// work like created ones.
	n, err = im.ImportUsers(ctx, users)
	mustOK(t, err)
	if n != 0 {
		t.Errorf("second ImportUsers inserted %d users, want 0", n)
	}
	sess, rt := createSession(t, s, admin.ID, now())
	getSession(t, s, admin.ID, sess.ID)
	wantRefreshState(t, s, admin.ID, rt.Hash)
}

func testImportUsersEmpty(t *testing.T, s Backend) {
	im := mustImporter(t, s)
	for _, users := range [][]*auth.User{nil, {}} {
		n, err := im.ImportUsers(context.Background(), users)
		mustOK(t, err)
		if n != 0 {
			t.Errorf("ImportUsers(%#v) = %d, want 0", users, n)
		}
	}
}

func testImportUsersInvalid(t *testing.T, s Backend) {
	ctx := context.Background()
	im := mustImporter(t, s)
	for name, mutate := range map[string]func(*auth.User){
		"malformed id":   func(u *auth.User) { u.ID = "not-a-uuid" },
		"unknown status": func(u *auth.User) { u.Status = "bogus" },
		"unknown role":   func(u *auth.User) { u.Roles = []string{auth.RoleUser, "no-such-role"} },
	} {
		valid, invalid := newUser(t), newUser(t)
		mutate(invalid)
		n, err := im.ImportUsers(ctx, []*auth.User{valid, invalid})
		if got := auth.ErrorCode(err); got != auth.EInvalid || n != 0 {
			t.Errorf("%s: ImportUsers = %d, %v; want 0 and code %q", name, n, err, auth.EInvalid)
		}
		// Nothing of the call remains, not even the valid user.
		_, err = s.UserByEmail(ctx, valid.Email)
		if got := auth.ErrorCode(err); got != auth.ENotFound {
			t.Errorf("%s: the valid user of a rejected import: error code %q, want %q", name, got, auth.ENotFound)
		}
	}
}
