package auth_test

import (
	"testing"
	"time"

	"github.com/talentforge/authd/internal/auth"
	"github.com/talentforge/authd/internal/auth/authtest"
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
		next, err := e.svc.Refresh(t.Context(), pair.RefreshToken, auth.Client{})
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

	e.principal(t, pair) // warms the cache
	e.clock.Advance(10*time.Minute - time.Microsecond) // the last instant of the lifetime
	e.principal(t, pair)
	e.clock.Advance(time.Microsecond)
	_, err = e.svc.Authenticate(t.Context(), pair.AccessToken) // the access token itself is 10 minutes old
	wantCode(t, err, auth.EUnauthorized)
	_, err = e.svc.Refresh(t.Context(), pair.RefreshToken, auth.Client{})
	wantCode(t, err, auth.EInvalidRefreshToken)
}

// TestSessionMaxLifetimeEndsExistingSessions: a session that began before
// the maximum lifetime was configured (its expiry slid past the cap) ends
// at its creation plus the lifetime all the same, for authentication,
// refresh and introspection.
func TestSessionMaxLifetimeEndsExistingSessions(t *testing.T) {
	clock := authtest.NewClock()
	store := openSQLite(t, clock)
	before := newEnvOn(t, store, authtest.Options{Clock: clock})
	_, adm := before.admin(t, "root@example.com")
	client, _, err := before.svc.CreateClient(t.Context(), adm, auth.ClientInput{Name: "api"})
	if err != nil {
		t.Fatal(err)
	}
	_, pair := before.register(t, "ada@example.com")

	clock.Advance(47*time.Hour + 50*time.Minute)
	pair, err = before.svc.Refresh(t.Context(), pair.RefreshToken, auth.Client{}) // slides to +30 days
	if err != nil {
		t.Fatal(err)
	}
	after := newEnvOn(t, store, authtest.Options{Clock: clock, SessionMaxLifetime: 48 * time.Hour})
	after.principal(t, pair)
	clock.Advance(10 * time.Minute)
	_, err = after.svc.Authenticate(t.Context(), pair.AccessToken)
	wantCode(t, err, auth.EUnauthorized)
	_, err = after.svc.Refresh(t.Context(), pair.RefreshToken, auth.Client{})
	wantCode(t, err, auth.EInvalidRefreshToken)
	if in, err := after.svc.Introspect(t.Context(), client, pair.RefreshToken, auth.TokenTypeRefresh); err != nil || in.Active {
		t.Errorf("introspection of the ended session's refresh token: %+v, %v; want inactive", in, err)
	}
}

// TestSessionIdleTimeout: a session not refreshed for the idle timeout ends;
// each refresh starts the timeout again.
func TestSessionIdleTimeout(t *testing.T) {
	e := newEnv(t, authtest.Options{SessionIdleTimeout: time.Hour})
	_, pair := e.register(t, "ada@example.com")
	for range 3 {
		e.clock.Advance(59 * time.Minute)
		next, err := e.svc.Refresh(t.Context(), pair.RefreshToken, auth.Client{})
		if err != nil {
			t.Fatalf("refresh within the idle timeout: %v", err)
		}
		pair = next
	}
	e.clock.Advance(time.Hour)
	_, err := e.svc.Refresh(t.Context(), pair.RefreshToken, auth.Client{})
	wantCode(t, err, auth.EInvalidRefreshToken)
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
