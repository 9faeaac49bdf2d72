package authtest

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/talentforge/authd/internal/auth"
)

// Units of work (auth.Transactor): what fn writes through tx commits
// together when fn returns nil, and not at all when it returns an error or
// panics; a user's unit of work touches that user's rows only.

// errFn is the error the fn of these tests returns to abandon its unit of
// work.
var errFn = errors.New("authtest: fn gives up")

// testTxFnErrorUndoesAll: a user's unit of work whose fn returns an error
// keeps nothing it wrote (a new user, a session, an event), and returns
// that error.
func testTxFnErrorUndoesAll(t *testing.T, s Backend) {
	ctx := context.Background()
	u := newUser(t)
	sess, rt := newSession(t, u.ID, at(now(), 0))
	ev := newEvent(t, auth.EventUserCreated, u.ID, "")
	write := func(tx auth.UserTx) error {
		if err := tx.CreateUser(ctx, u); err != nil {
			return err
		}
		if err := tx.CreateSession(ctx, sess, rt, 1); err != nil {
			return err
		}
		return tx.AppendEvent(ctx, ev)
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
	_, err = s.User(ctx, u.ID)
	wantCode(t, err, auth.ENotFound)
	_, err = s.UserByEmail(ctx, u.Email)
	wantCode(t, err, auth.ENotFound)
	_, err = s.Session(ctx, u.ID, sess.ID)
	wantCode(t, err, auth.ENotFound)
	_, err = s.RefreshToken(ctx, u.ID, rt.Hash)
	wantCode(t, err, auth.ENotFound)
	wantEvents(t, s) // none

	// The same writes, kept: none of them was refused.
	mustOK(t, s.InUserTx(ctx, u.ID, write))
	getUser(t, s, u.ID)
	getSession(t, s, u.ID, sess.ID)
	getToken(t, s, u.ID, rt.Hash)
	wantEvents(t, s, ev)
}

// testTxFailedMethodUndoesEarlierWrites: a tx method that fails, its error
// returned by fn, undoes what the unit of work wrote before it.
func testTxFailedMethodUndoesEarlierWrites(t *testing.T, s Backend) {
	ctx := context.Background()
	u := createUser(t, s)
	s1, _ := createSession(t, s, u.ID, now())
	s2, _ := createSession(t, s, u.ID, at(now(), time.Second))
	before := getUser(t, s, u.ID)

	// Sessions revoked, an event appended, then a stale UpdateUser.
	name := "Stale"
	err := s.InUserTx(ctx, u.ID, func(tx auth.UserTx) error {
		if err := tx.RevokeSessions(ctx, "", at(now(), time.Minute)); err != nil {
			t.Errorf("RevokeSessions: %v", err)
		}
		if err := tx.AppendEvent(ctx, newEvent(t, auth.EventLogout, u.ID, "")); err != nil {
			t.Errorf("AppendEvent: %v", err)
		}
		return tx.UpdateUser(ctx, &auth.UserUpdate{Name: &name, Version: before.Version + 1, At: now()})
	})
	if !errors.Is(err, auth.ErrStale) {
		t.Errorf("InUserTx with a stale UpdateUser = %v, want %v", err, auth.ErrStale)
	}
	for _, id := range []string{s1.ID, s2.ID} {
		if r := getSession(t, s, u.ID, id).RevokedAt; !r.IsZero() {
			t.Errorf("session %s revoked at %v by a unit of work that failed", id, r)
		}
	}
	if d := diff(before, getUser(t, s, u.ID)); d != "" {
		t.Errorf("a unit of work that failed changed the user (-want +got):\n%s", d)
	}
	wantEvents(t, s) // none

	// An event appended, then a CreateUser whose email is taken.
	other := newUser(t)
	other.Email = u.Email
	err = s.InUserTx(ctx, other.ID, func(tx auth.UserTx) error {
		if err := tx.AppendEvent(ctx, newEvent(t, auth.EventUserCreated, other.ID, "")); err != nil {
			t.Errorf("AppendEvent: %v", err)
		}
		return tx.CreateUser(ctx, other)
	})
	if !errors.Is(err, auth.ErrEmailTaken) {
		t.Errorf("InUserTx with a CreateUser of a taken email = %v, want %v", err, auth.ErrEmailTaken)
	}
	_, err = s.User(ctx, other.ID)
	wantCode(t, err, auth.ENotFound)
	wantEvents(t, s) // none
}

// testTxEventOfOtherUser: in a user's unit of work, an event about another
// user is refused (auth.ErrOtherUser), as is a malformed one, and fn
// returning that error undoes the change before it.
func testTxEventOfOtherUser(t *testing.T, s Backend) {
	ctx := context.Background()
	u, v := createUser(t, s), createUser(t, s)
	before := getUser(t, s, u.ID)

	malformed := newEvent(t, auth.EventUserUpdated, u.ID, "")
	malformed.ID = "not-a-uuid"
	for name, c := range map[string]struct {
		ev   *auth.Event
		want error
	}{
		"another user's event": {newEvent(t, auth.EventUserUpdated, v.ID, ""), auth.ErrOtherUser},
		"malformed event id":   {malformed, nil},
	} {
		renamed := "Renamed"
		var appendErr error
		err := s.InUserTx(ctx, u.ID, func(tx auth.UserTx) error {
			if err := tx.UpdateUser(ctx, &auth.UserUpdate{Name: &renamed, Version: before.Version, At: now()}); err != nil {
				t.Errorf("%s: UpdateUser: %v", name, err)
			}
			appendErr = tx.AppendEvent(ctx, c.ev)
			return appendErr
		})
		if got := auth.ErrorCode(appendErr); got != auth.EInvalid {
			t.Errorf("%s: AppendEvent: error code %q, want %q (err: %v)", name, got, auth.EInvalid, appendErr)
		}
		if c.want != nil && !errors.Is(appendErr, c.want) {
			t.Errorf("%s: AppendEvent = %v, want %v", name, appendErr, c.want)
		}
		if appendErr != nil && !errors.Is(err, appendErr) {
			t.Errorf("%s: InUserTx = %v, want fn's error %v", name, err, appendErr)
		}
		if d := diff(before, getUser(t, s, u.ID)); d != "" {
			t.Errorf("%s: the refused event's unit of work changed the user (-want +got):\n%s", name, d)
		}
	}
	wantEvents(t, s) // none
}

// testTxMalformedUserID: a malformed user id names no unit of work: InUserTx
// refuses it (ErrUserNotFound) without calling fn.
func testTxMalformedUserID(t *testing.T, s Backend) {
	ctx := context.Background()
	createUser(t, s)
	for _, id := range []string{"not-a-uuid", "", strings.ToUpper(newID(t))} {
		called := false
		err := s.InUserTx(ctx, id, func(tx auth.UserTx) error {
			called = true
			return nil
		})
		if !errors.Is(err, auth.ErrUserNotFound) {
			t.Errorf("InUserTx(%q) = %v, want %v", id, err, auth.ErrUserNotFound)
		}
		if called {
			t.Errorf("InUserTx(%q) called fn", id)
		}
	}
}

// testTxOtherUsersRows: a user's unit of work refuses to insert another
// user's account or session (EInvalid), and writes nothing.
func testTxOtherUsersRows(t *testing.T, s Backend) {
	ctx := context.Background()
	u, v := createUser(t, s), createUser(t, s)
	vBefore := getUser(t, s, v.ID)

	stranger := newUser(t)
	err := inUser(ctx, s, newID(t), nil, func(tx auth.UserTx) error { return tx.CreateUser(ctx, stranger) })
	wantCode(t, err, auth.EInvalid)
	_, err = s.User(ctx, stranger.ID)
	wantCode(t, err, auth.ENotFound)
	_, err = s.UserByEmail(ctx, stranger.Email)
	wantCode(t, err, auth.ENotFound)

	sess, rt := newSession(t, v.ID, at(now(), time.Minute))
	err = inUser(ctx, s, u.ID, nil, func(tx auth.UserTx) error {
		return tx.CreateSession(ctx, sess, rt, vBefore.PasswordVersion)
	})
	wantCode(t, err, auth.EInvalid)
	for _, id := range []string{u.ID, v.ID} {
		_, err = s.Session(ctx, id, sess.ID)
		wantCode(t, err, auth.ENotFound)
		_, err = s.RefreshToken(ctx, id, rt.Hash)
		wantCode(t, err, auth.ENotFound)
	}
	if d := diff(vBefore, getUser(t, s, v.ID)); d != "" {
		t.Errorf("a session refused in another user's unit of work changed its user (-want +got):\n%s", d)
	}
	wantEvents(t, s) // none
}

// testTxNoChange: GrantRole of a held role, RevokeRole of a role not held
// and RevokeToken of a revoked token report that they changed nothing, and
// write nothing (no new Version, no UpdatedAt).
func testTxNoChange(t *testing.T, s Backend) {
	ctx := context.Background()
	u := createUser(t, s)
	role := func(grant bool, name string) bool {
		t.Helper()
		var changed bool
		mustOK(t, s.InUserTx(ctx, u.ID, func(tx auth.UserTx) (err error) {
			if grant {
				changed, err = tx.GrantRole(ctx, name, at(now(), time.Minute))
			} else {
				changed, err = tx.RevokeRole(ctx, name, at(now(), time.Minute))
			}
			return err
		}))
		return changed
	}

	before := getUser(t, s, u.ID)
	if role(true, auth.RoleUser) {
		t.Error("GrantRole of a held role reported a change")
	}
	if role(false, auth.RoleAdmin) {
		t.Error("RevokeRole of a role not held reported a change")
	}
	if d := diff(before, getUser(t, s, u.ID)); d != "" {
		t.Errorf("role changes that changed nothing wrote the user (-want +got):\n%s", d)
	}
	// A real change says so.
	if !role(true, auth.RoleAdmin) {
		t.Error("GrantRole of a role not held reported no change")
	}
	if got := getUser(t, s, u.ID).Version; got != before.Version+1 {
		t.Errorf("Version after a grant = %d, want %d", got, before.Version+1)
	}

	jti, expires := newJTI(t), at(now(), time.Hour)
	revoke := func() bool {
		t.Helper()
		var revoked bool
		mustOK(t, s.InGlobalTx(ctx, func(tx auth.GlobalTx) (err error) {
			revoked, err = tx.RevokeToken(ctx, jti, expires)
			return err
		}))
		return revoked
	}
	if !revoke() {
		t.Error("the first RevokeToken reported no change")
	}
	if revoke() {
		t.Error("RevokeToken of a revoked token reported a change")
	}
	if ok, err := s.TokenRevoked(ctx, jti); err != nil || !ok {
		t.Errorf("TokenRevoked after revoking twice = %v, %v; want true", ok, err)
	}
	wantEvents(t, s) // none
}

// testTxGlobalFnErrorUndoesAll: a unit of work on the rows no user owns
// whose fn returns an error keeps nothing it wrote.
func testTxGlobalFnErrorUndoesAll(t *testing.T, s Backend) {
	ctx := context.Background()
	r := newRole("support", auth.PermUsersRead)
	c := newClient(t)
	jti := newJTI(t)
	k := &auth.SigningKey{
		ID:          "kid-" + newID(t),
		Algorithm:   "ES256",
		PublicKey:   randomBytes(t, 91),
		PrivateKey:  randomBytes(t, 150),
		CreatedAt:   at(now(), 0),
		ActivatesAt: at(now(), time.Hour),
	}
	ev := newEvent(t, auth.EventClientCreated, "", c.ID)
	write := func(tx auth.GlobalTx) error {
		if err := tx.CreateRole(ctx, r); err != nil {
			return err
		}
		if err := tx.CreateClient(ctx, c); err != nil {
			return err
		}
		if _, err := tx.RevokeToken(ctx, jti, at(now(), time.Hour)); err != nil {
			return err
		}
		if err := tx.CreateSigningKey(ctx, k); err != nil {
			return err
		}
		return tx.AppendEvent(ctx, ev)
	}

	err := s.InGlobalTx(ctx, func(tx auth.GlobalTx) error {
		if err := write(tx); err != nil {
			t.Errorf("a write in the unit of work failed: %v", err)
		}
		return errFn
	})
	if !errors.Is(err, errFn) {
		t.Fatalf("InGlobalTx = %v, want fn's error %v", err, errFn)
	}
	_, err = s.Role(ctx, r.Name)
	wantCode(t, err, auth.ENotFound)
	_, err = s.Client(ctx, c.ID)
	wantCode(t, err, auth.ENotFound)
	if ok, err := s.TokenRevoked(ctx, jti); err != nil || ok {
		t.Errorf("TokenRevoked = %v, %v; want false", ok, err)
	}
	if keys, err := s.SigningKeys(ctx); err != nil || len(keys) != 0 {
		t.Errorf("SigningKeys = %d keys, %v; want none", len(keys), err)
	}
	wantEvents(t, s) // none

	// The same writes, kept: none of them was refused.
	mustOK(t, s.InGlobalTx(ctx, write))
	getRole(t, s, r.Name)
	getClient(t, s, c.ID)
	if ok, err := s.TokenRevoked(ctx, jti); err != nil || !ok {
		t.Errorf("TokenRevoked = %v, %v; want true", ok, err)
	}
	if keys, err := s.SigningKeys(ctx); err != nil || len(keys) != 1 {
		t.Errorf("SigningKeys = %d keys, %v; want 1", len(keys), err)
	}
	wantEvents(t, s, ev)
}

// errPanic is what the fn of testTxPanic panics with.
var errPanic = errors.New("authtest: fn panics")

// mustPanic calls f and fails unless it panics with errPanic.
func mustPanic(t *testing.T, name string, f func()) {
	t.Helper()
	defer func() {
		t.Helper()
		if r := recover(); r != errPanic {
			t.Errorf("%s: recovered %v, want fn's panic %v", name, r, errPanic)
		}
	}()
	f()
}

// testTxPanic: a panic in fn reaches the caller, the unit of work keeps
// nothing, and the store stays usable: no connection is left behind in a
// transaction (a single writer connection stuck in one would hang every
// later write).
func testTxPanic(t *testing.T, s Backend) {
	// Bounded, so that a stuck connection fails the test instead of hanging
	// it.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	u := createUser(t, s)
	sess, _ := createSession(t, s, u.ID, now())
	before := getUser(t, s, u.ID)
	r := newRole("support")

	name := "Panicked"
	mustPanic(t, "InUserTx", func() {
		s.InUserTx(ctx, u.ID, func(tx auth.UserTx) error {
			if err := tx.UpdateUser(ctx, &auth.UserUpdate{Name: &name, Version: before.Version, At: now()}); err != nil {
				t.Errorf("UpdateUser: %v", err)
			}
			if err := tx.RevokeSessions(ctx, "", now()); err != nil {
				t.Errorf("RevokeSessions: %v", err)
			}
			if err := tx.AppendEvent(ctx, newEvent(t, auth.EventUserUpdated, u.ID, "")); err != nil {
				t.Errorf("AppendEvent: %v", err)
			}
			panic(errPanic)
		})
	})
	mustPanic(t, "InGlobalTx", func() {
		s.InGlobalTx(ctx, func(tx auth.GlobalTx) error {
			if err := tx.CreateRole(ctx, r); err != nil {
				t.Errorf("CreateRole: %v", err)
			}
			panic(errPanic)
		})
	})
	if d := diff(before, getUser(t, s, u.ID)); d != "" {
		t.Errorf("a unit of work that panicked changed the user (-want +got):\n%s", d)
	}
	if !getSession(t, s, u.ID, sess.ID).RevokedAt.IsZero() {
		t.Error("a unit of work that panicked revoked a session")
	}
	_, err := s.Role(ctx, r.Name)
	wantCode(t, err, auth.ENotFound)
	wantEvents(t, s) // none

	// The store still writes and reads.
	ev := newEvent(t, auth.EventUserUpdated, u.ID, "")
	mustOK(t, txUpdateUser(ctx, s, u.ID, &auth.UserUpdate{Name: &name, Version: before.Version, At: now()}, ev))
	mustOK(t, txCreateRole(ctx, s, r, nil))
	got, err := s.User(ctx, u.ID)
	mustOK(t, err)
	if got.Name != name {
		t.Errorf("Name after a unit of work following the panic = %q, want %q", got.Name, name)
	}
	getRole(t, s, r.Name)
	wantEvents(t, s, ev)
}

// testTxCommitsTogether: the writes of one unit of work are all there after
// it commits, its event in the log.
func testTxCommitsTogether(t *testing.T, s Backend) {
	ctx := context.Background()
	u := createUser(t, s)
	s1, _ := createSession(t, s, u.ID, now())
	s2, _ := createSession(t, s, u.ID, at(now(), time.Second))
	before := getUser(t, s, u.ID)

	name, when := "Committed", at(now(), time.Minute)
	ev := newEvent(t, auth.EventUserUpdated, u.ID, "")
	mustOK(t, s.InUserTx(ctx, u.ID, func(tx auth.UserTx) error {
		if err := tx.UpdateUser(ctx, &auth.UserUpdate{Name: &name, Version: before.Version, At: when}); err != nil {
			return err
		}
		if err := tx.RevokeSessions(ctx, s2.ID, when); err != nil {
			return err
		}
		return tx.AppendEvent(ctx, ev)
	}))

	want := *before
	want.Name, want.UpdatedAt, want.Version = name, when, before.Version+1
	if d := diff(&want, getUser(t, s, u.ID)); d != "" {
		t.Errorf("user after the unit of work (-want +got):\n%s", d)
	}
	if r := getSession(t, s, u.ID, s1.ID).RevokedAt; !r.Equal(when) {
		t.Errorf("session RevokedAt = %v, want %v", r, when)
	}
	if r := getSession(t, s, u.ID, s2.ID).RevokedAt; !r.IsZero() {
		t.Errorf("the kept session was revoked at %v", r)
	}
	wantEvents(t, s, ev)
	if d := diff([]*auth.Event{ev}, listEvents(t, s, auth.EventFilter{UserID: u.ID})); d != "" {
		t.Errorf("the user's events (-want +got):\n%s", d)
	}
}
