package auth_test

import (
	"strings"
	"testing"
	"time"

	"github.com/talentforge/authd/internal/auth"
	"github.com/talentforge/authd/internal/auth/authtest"
	"github.com/talentforge/authd/internal/wiringtest"
)

// TestSessionMaxLifetime: refreshes extend a session, but never past its
// creation plus the maximum lifetime; there it ends for refresh and
// authentication alike.
func TestSessionMaxLifetime(t *testing.T) {
	forEachCacheWith(t, authtest.Options{SessionMaxLifetime: 48 * time.Hour, RefreshTokenTTL: 24 * time.Hour}, testSessionMaxLifetime)
}

func testSessionMaxLifetime(t *testing.T, e *env, _ *authtest.CountingStore) {
	start := e.clock.Now()
	u, pair := e.register(t, "ada@example.com")

	for _, step := range []time.Duration{20 * time.Hour, 20 * time.Hour, 7*time.Hour + 50*time.Minute} {
		e.clock.Advance(step)
		next, err := e.svc.Refresh(t.Context(), pair.RefreshToken, auth.Origin{})
		if err != nil {
			t.Fatalf("refresh at +%v: %v", e.clock.Now().Sub(start), err)
		}
		pair = next
	}
	sess, err := e.store.Session(t.Context(), u.ID, pair.SessionID)
	if err != nil {
		t.Fatal(err)
	}
	if end := start.Add(48 * time.Hour); !sess.ExpiresAt.Equal(end) {
		t.Errorf("session expires at %v after refreshes near the end, want its creation + 48h (%v)", sess.ExpiresAt, end)
	}

	e.principal(t, pair)                               // warms the cache
	e.clock.Advance(10*time.Minute - time.Microsecond) // the last instant of the lifetime
	e.principal(t, pair)
	e.clock.Advance(time.Microsecond)
	_, err = e.svc.Authenticate(t.Context(), pair.AccessToken) // the access token itself is 10 minutes old
	wantCode(t, err, auth.EUnauthorized)
	_, err = e.svc.Refresh(t.Context(), pair.RefreshToken, auth.Origin{})
	wantCode(t, err, auth.EInvalidRefreshToken)
}

// TestSessionMaxLifetimeEndsExistingSessions: a session that began before
// the maximum lifetime was configured (its expiry slid past the cap) ends
// at its creation plus the lifetime all the same, for authentication,
// refresh, introspection and the session list.
func TestSessionMaxLifetimeEndsExistingSessions(t *testing.T) {
	clock := authtest.NewClock()
	store := wiringtest.OpenSQLite(t, clock)
	before := newEnvOn(t, wiringtest.Embedded, store, authtest.Options{Clock: clock})
	_, adm := before.admin(t, "root@example.com")
	client, _, err := before.svc.CreateClient(t.Context(), adm, auth.ClientInput{Name: "api"})
	if err != nil {
		t.Fatal(err)
	}
	_, pair := before.register(t, "ada@example.com")

	clock.Advance(47*time.Hour + 50*time.Minute)
	pair, err = before.svc.Refresh(t.Context(), pair.RefreshToken, auth.Origin{}) // slides to +30 days
	if err != nil {
		t.Fatal(err)
	}
	after := newEnvOn(t, wiringtest.Embedded, store, authtest.Options{Clock: clock, SessionMaxLifetime: 48 * time.Hour})
	p := after.principal(t, pair)
	clock.Advance(10 * time.Minute)
	_, err = after.svc.Authenticate(t.Context(), pair.AccessToken)
	wantCode(t, err, auth.EUnauthorized)
	_, err = after.svc.Refresh(t.Context(), pair.RefreshToken, auth.Origin{})
	wantCode(t, err, auth.EInvalidRefreshToken)
	if in, err := after.svc.Introspect(t.Context(), client, pair.RefreshToken, auth.TokenTypeRefresh); err != nil || in.Active {
		t.Errorf("introspection of the ended session's refresh token: %+v, %v; want inactive", in, err)
	}
	if list, _, err := after.svc.Sessions(t.Context(), p, auth.SessionQuery{}); err != nil || len(list) != 0 {
		t.Errorf("the ended session is still listed: %d sessions, %v", len(list), err)
	}
}

// TestSessionIdleTimeout: a session not refreshed for the idle timeout ends;
// each refresh starts the timeout again.
func TestSessionIdleTimeout(t *testing.T) {
	forEachWiring(t, authtest.Options{SessionIdleTimeout: time.Hour}, func(t *testing.T, e *env) {
		_, pair := e.register(t, "ada@example.com")
		for range 3 {
			e.clock.Advance(59 * time.Minute)
			next, err := e.svc.Refresh(t.Context(), pair.RefreshToken, auth.Origin{})
			if err != nil {
				t.Fatalf("refresh within the idle timeout: %v", err)
			}
			pair = next
		}
		_, other, err := e.svc.Login(t.Context(), auth.LoginInput{Email: "ada@example.com", Password: pw})
		if err != nil {
			t.Fatal(err)
		}
		p := e.principal(t, other)
		e.clock.Advance(time.Hour)
		_, err = e.svc.Refresh(t.Context(), pair.RefreshToken, auth.Origin{})
		wantCode(t, err, auth.EInvalidRefreshToken)
		// Nor is an idle session listed.
		if list, _, err := e.svc.Sessions(t.Context(), p, auth.SessionQuery{}); err != nil || len(list) != 0 {
			t.Errorf("idle sessions listed: %d, %v; want none", len(list), err)
		}
	})
}

// TestSessionIdleTimeoutAtAuthenticate: Authenticate ends an idle session
// too, from the last_seen_at of the row it reads anyway. Configuration
// refuses an idle timeout shorter than the access-token lifetime, which is
// what makes the check bite here, but the service must not rely on it.
// The session state is cached, so this runs over every cache: a cached
// state must carry the session's end, not only its stored expiry.
func TestSessionIdleTimeoutAtAuthenticate(t *testing.T) {
	forEachCacheWith(t, authtest.Options{SessionIdleTimeout: 10 * time.Minute}, func(t *testing.T, e *env, _ *authtest.CountingStore) {
		_, pair := e.register(t, "ada@example.com")
		e.principal(t, pair) // warms the cache
		e.clock.Advance(10*time.Minute - time.Microsecond)
		e.principal(t, pair)
		e.clock.Advance(time.Microsecond)
		_, err := e.svc.Authenticate(t.Context(), pair.AccessToken)
		wantCode(t, err, auth.EUnauthorized)
	})
}

// TestPurgeSessions: the retention job clears refresh-grace successors past
// their interval and deletes expired refresh tokens at once, and deletes
// ended sessions once they ended more than the retention ago, in batches
// of the configured size; live sessions keep working throughout.
func TestPurgeSessions(t *testing.T) {
	forEachWiring(t, authtest.Options{RefreshTokenTTL: time.Hour, PurgeBatch: 2}, func(t *testing.T, e *env) {
		ctx := t.Context()
		_, a := e.register(t, "ada@example.com")
		login := func() *auth.TokenPair {
			t.Helper()
			_, pair, err := e.svc.Login(ctx, auth.LoginInput{Email: "ada@example.com", Password: pw})
			if err != nil {
				t.Fatal(err)
			}
			return pair
		}
		b, c := login(), login()
		p := e.principal(t, a)
		refreshA := func() {
			t.Helper()
			next, err := e.svc.Refresh(ctx, a.RefreshToken, auth.Origin{})
			if err != nil {
				t.Fatal(err)
			}
			a = next
		}
		purge := func(retention time.Duration, want auth.SessionPurge) {
			t.Helper()
			got, err := e.svc.PurgeSessions(ctx, retention)
			if err != nil || got != want {
				t.Errorf("PurgeSessions(%v) = %+v, %v; want %+v", retention, got, err, want)
			}
		}

		e.clock.Advance(30 * time.Minute)
		refreshA() // a1 -> a2
		e.clock.Advance(20 * time.Minute)
		refreshA() // a2 -> a3
		if err := e.svc.RevokeSession(ctx, p, b.SessionID); err != nil {
			t.Fatal(err)
		}
		// +1h10m: a2's grace interval is long over; a1, b1 and c1 (and with it
		// session c) have expired; b was revoked 20 minutes ago.
		e.clock.Advance(20 * time.Minute)
		purge(2*time.Hour, auth.SessionPurge{Successors: 1, RefreshTokens: 3})
		purge(2*time.Hour, auth.SessionPurge{})
		refreshA() // a3 -> a4

		// +2h: a2 and a3 expired. A retention of 0 keeps ended sessions.
		e.clock.Advance(50 * time.Minute)
		purge(0, auth.SessionPurge{Successors: 1, RefreshTokens: 2})
		refreshA() // a4 -> a5
		e.clock.Advance(50 * time.Minute)
		refreshA() // a5 -> a6, clearing a4's successor itself

		// +3h10m: b and c ended more than the retention ago; a lives on.
		e.clock.Advance(20 * time.Minute)
		purge(2*time.Hour, auth.SessionPurge{Successors: 1, RefreshTokens: 2, Sessions: 2})
		for _, id := range []string{b.SessionID, c.SessionID} {
			if _, err := e.store.Session(ctx, p.UserID, id); auth.ErrorCode(err) != auth.ENotFound {
				t.Errorf("ended session %s: %v, want it deleted", id, err)
			}
		}
		refreshA()
		e.principal(t, a)
	})
}

// TestSessionsPages: the caller's and an administrator's session listings
// come in pages, newest first, with a cursor that ends on the last page and
// is refused by other listings.
func TestSessionsPages(t *testing.T) {
	forEachWiring(t, authtest.Options{}, func(t *testing.T, e *env) {
		ctx := t.Context()
		_, root := e.admin(t, "root@example.com")
		u, first := e.register(t, "ada@example.com")
		want := []string{first.SessionID}
		for range 4 {
			e.clock.Advance(time.Second)
			_, pair, err := e.svc.Login(ctx, auth.LoginInput{Email: "ada@example.com", Password: pw})
			if err != nil {
				t.Fatal(err)
			}
			want = append([]string{pair.SessionID}, want...)
		}
		p := e.principal(t, first)

		walk := func(list func(q auth.SessionQuery) ([]*auth.Session, string, error)) []string {
			t.Helper()
			var got []string
			q := auth.SessionQuery{Limit: 2}
			for pages := 1; ; pages++ {
				page, next, err := list(q)
				if err != nil {
					t.Fatal(err)
				}
				if len(page) > 2 || pages > 3 {
					t.Fatalf("page %d: %d sessions, limit 2", pages, len(page))
				}
				for _, s := range page {
					got = append(got, s.ID)
				}
				if next == "" {
					return got
				}
				q.Cursor = next
			}
		}
		own := func(q auth.SessionQuery) ([]*auth.Session, string, error) { return e.svc.Sessions(ctx, p, q) }
		admin := func(q auth.SessionQuery) ([]*auth.Session, string, error) {
			return e.svc.UserSessions(ctx, root, u.ID, q)
		}
		for name, list := range map[string]func(auth.SessionQuery) ([]*auth.Session, string, error){"own": own, "admin": admin} {
			if got := walk(list); strings.Join(got, " ") != strings.Join(want, " ") {
				t.Errorf("%s listing walked %v, want %v", name, got, want)
			}
		}

		_, next, err := e.svc.Sessions(ctx, p, auth.SessionQuery{Limit: 5})
		if err != nil || next != "" {
			t.Errorf("a page holding the last session has next cursor %q (%v), want none", next, err)
		}
		_, userCursor, err := e.svc.ListUsers(ctx, root, auth.UserQuery{Limit: 1})
		if err != nil || userCursor == "" {
			t.Fatalf("ListUsers: cursor %q, %v", userCursor, err)
		}
		for name, q := range map[string]auth.SessionQuery{
			"limit over 100":   {Limit: 101},
			"negative limit":   {Limit: -1},
			"garbage cursor":   {Cursor: "not a cursor"},
			"user-list cursor": {Cursor: userCursor},
		} {
			_, _, err := e.svc.Sessions(ctx, p, q)
			if auth.ErrorCode(err) != auth.EInvalid {
				t.Errorf("%s: %v, want %s", name, err, auth.EInvalid)
			}
		}
		_, _, err = e.svc.UserSessions(ctx, p, u.ID, auth.SessionQuery{})
		wantCode(t, err, auth.EForbidden)
	})
}

// TestRefreshGraceAcrossPurge: the retention job leaves a successor alone
// within its grace interval, so a concurrent retry still gets it, and
// clears it after, when the retry is reuse.
func TestRefreshGraceAcrossPurge(t *testing.T) {
	forEachWiring(t, authtest.Options{}, func(t *testing.T, e *env) {
		ctx := t.Context()
		_, p1 := e.register(t, "ada@example.com")
		p2, err := e.svc.Refresh(ctx, p1.RefreshToken, auth.Origin{})
		if err != nil {
			t.Fatal(err)
		}
		e.clock.Advance(5 * time.Second)
		if got, err := e.svc.PurgeSessions(ctx, 0); err != nil || got.Successors != 0 {
			t.Fatalf("PurgeSessions within the grace interval: %+v, %v; want no successor cleared", got, err)
		}
		again, err := e.svc.Refresh(ctx, p1.RefreshToken, auth.Origin{})
		if err != nil {
			t.Fatalf("retry within the grace interval after a purge: %v", err)
		}
		if again.RefreshToken != p2.RefreshToken {
			t.Error("retry within the grace interval got another token than the successor")
		}
		e.clock.Advance(6 * time.Second)
		if got, err := e.svc.PurgeSessions(ctx, 0); err != nil || got.Successors != 1 {
			t.Fatalf("PurgeSessions past the grace interval: %+v, %v; want one successor cleared", got, err)
		}
		_, err = e.svc.Refresh(ctx, p1.RefreshToken, auth.Origin{})
		wantCode(t, err, auth.EInvalidRefreshToken)
		_, err = e.svc.Refresh(ctx, p2.RefreshToken, auth.Origin{})
		wantCode(t, err, auth.EInvalidRefreshToken) // the reuse ended the session
	})
}
