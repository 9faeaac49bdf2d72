package auth_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/talentforge/authd/internal/auth"
	"github.com/talentforge/authd/internal/auth/authtest"
	"github.com/talentforge/authd/internal/cache"
	"github.com/talentforge/authd/internal/redisconn/redistest"
	"github.com/talentforge/authd/internal/wiringtest"
)

// caches are the Cache implementations the service's cached paths run
// against: in process, and in real Redis standalone and Cluster.
var caches = []struct {
	name string
	open func(t *testing.T, clock *authtest.Clock) auth.Cache
}{
	{"memory", func(t *testing.T, clock *authtest.Clock) auth.Cache {
		return cache.New(cache.NewMemory(cache.MemoryOptions{Now: clock.Now}), cache.Options{})
	}},
	{"redis", func(t *testing.T, clock *authtest.Clock) auth.Cache { return redisCache(t, redistest.URL(t)) }},
	{"redis-cluster", func(t *testing.T, clock *authtest.Clock) auth.Cache { return redisCache(t, redistest.ClusterURL(t)) }},
}

func redisCache(t *testing.T, url string) auth.Cache {
	c := openRedis(t, url)
	return cache.New(cache.NewRedis(c, cache.RedisOptions{Prefix: redistest.Prefix(t, url)}), cache.Options{})
}

func forEachCache(t *testing.T, fn func(t *testing.T, e *env, store *authtest.CountingStore)) {
	forEachCacheWith(t, authtest.Options{}, fn)
}

// forEachCacheWith is forEachCache for a service built with opts (their
// Clock and Cache are set here).
func forEachCacheWith(t *testing.T, opts authtest.Options, fn func(t *testing.T, e *env, store *authtest.CountingStore)) {
	for _, c := range caches {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			clock := authtest.NewClock()
			store := &authtest.CountingStore{Backend: wiringtest.OpenSQLite(t, clock)}
			opts := opts
			opts.Clock, opts.Cache = clock, c.open(t, clock)
			e := newEnvOn(t, wiringtest.Embedded, store, opts)
			fn(t, e, store)
		})
	}
}

// TestWarmCacheReadsNoDatabase: once a session is cached, Authenticate and
// Me are answered without a database read.
func TestWarmCacheReadsNoDatabase(t *testing.T) {
	forEachCache(t, func(t *testing.T, e *env, store *authtest.CountingStore) {
		_, pair := e.register(t, "ada@example.com")
		e.principal(t, pair) // warms the cache
		before := store.Reads()
		for range 10 {
			p := e.principal(t, pair)
			u, err := e.svc.Me(t.Context(), p)
			if err != nil || u.Email != "ada@example.com" || u.PasswordHash != "" {
				t.Fatalf("me: %+v, %v", u, err)
			}
		}
		if n := store.Reads() - before; n != 0 {
			t.Fatalf("%d database reads on a warm cache, want 0", n)
		}
	})
}

// TestCachedWritesTakeEffectAtOnce primes the cache before every write and
// checks that the next read sees the write.
func TestCachedWritesTakeEffectAtOnce(t *testing.T) {
	forEachCache(t, func(t *testing.T, e *env, store *authtest.CountingStore) {
		ctx := t.Context()
		_, a := e.register(t, "ada@example.com")
		loginAda := func() *auth.TokenPair {
			t.Helper()
			_, p, err := e.svc.Login(ctx, auth.LoginInput{Email: "ada@example.com", Password: pw})
			if err != nil {
				t.Fatal(err)
			}
			return p
		}
		b, c := loginAda(), loginAda()
		pa, pc := e.principal(t, a), e.principal(t, c)

		// Profile change.
		name := "Ada Lovelace"
		if _, err := e.svc.UpdateMe(ctx, pa, auth.ProfilePatch{Name: &name}); err != nil {
			t.Fatal(err)
		}
		u, err := e.svc.Me(ctx, e.principal(t, b)) // also warms b's entry
		if err != nil {
			t.Fatal(err)
		}
		if u.Name != name {
			t.Fatalf("profile after update: name %q", u.Name)
		}

		// Session revoke, logout.
		if err := e.svc.RevokeSession(ctx, pa, b.SessionID); err != nil {
			t.Fatal(err)
		}
		_, err = e.svc.Authenticate(ctx, b.AccessToken)
		wantCode(t, err, auth.EUnauthorized)
		if err := e.svc.Logout(ctx, pc, ""); err != nil {
			t.Fatal(err)
		}
		_, err = e.svc.Authenticate(ctx, c.AccessToken)
		wantCode(t, err, auth.EUnauthorized)

		// Password change ends the other sessions.
		d := loginAda()
		e.principal(t, d)
		if err := e.svc.ChangePassword(ctx, e.principal(t, a), pw, pw+" 2"); err != nil {
			t.Fatal(err)
		}
		_, err = e.svc.Authenticate(ctx, d.AccessToken)
		wantCode(t, err, auth.EUnauthorized)
		e.principal(t, a)

		// Refresh-token reuse revokes the session.
		next, err := e.svc.Refresh(ctx, a.RefreshToken, auth.Origin{})
		if err != nil {
			t.Fatal(err)
		}
		e.principal(t, next)
		e.clock.Advance(time.Minute) // past the reuse grace
		_, err = e.svc.Refresh(ctx, a.RefreshToken, auth.Origin{})
		wantCode(t, err, auth.EInvalidRefreshToken)
		_, err = e.svc.Authenticate(ctx, next.AccessToken)
		wantCode(t, err, auth.EUnauthorized)

		// Logout-all and account deletion.
		_, x, err := e.svc.Login(ctx, auth.LoginInput{Email: "ada@example.com", Password: pw + " 2"})
		if err != nil {
			t.Fatal(err)
		}
		y := loginAdaWith(t, e, pw+" 2")
		px := e.principal(t, x)
		e.principal(t, y)
		if err := e.svc.LogoutAll(ctx, px); err != nil {
			t.Fatal(err)
		}
		for _, p := range []*auth.TokenPair{x, y} {
			_, err = e.svc.Authenticate(ctx, p.AccessToken)
			wantCode(t, err, auth.EUnauthorized)
		}
		z := loginAdaWith(t, e, pw+" 2")
		pz := e.principal(t, z)
		if err := e.svc.DeleteMe(ctx, pz, pw+" 2"); err != nil {
			t.Fatal(err)
		}
		_, err = e.svc.Authenticate(ctx, z.AccessToken)
		wantCode(t, err, auth.EUnauthorized)
	})
}

func loginAdaWith(t *testing.T, e *env, password string) *auth.TokenPair {
	t.Helper()
	_, p, err := e.svc.Login(t.Context(), auth.LoginInput{Email: "ada@example.com", Password: password})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestRevokedSessionIsRememberedWithoutDatabase: a revoked session's
// tokens are turned away from the cache while they could still be valid.
func TestRevokedSessionIsRememberedWithoutDatabase(t *testing.T) {
	forEachCache(t, func(t *testing.T, e *env, store *authtest.CountingStore) {
		_, a := e.register(t, "ada@example.com")
		if err := e.svc.Logout(t.Context(), e.principal(t, a), ""); err != nil {
			t.Fatal(err)
		}
		_, err := e.svc.Authenticate(t.Context(), a.AccessToken)
		wantCode(t, err, auth.EUnauthorized)
		before := store.Reads()
		for range 5 {
			_, err := e.svc.Authenticate(t.Context(), a.AccessToken)
			wantCode(t, err, auth.EUnauthorized)
		}
		if n := store.Reads() - before; n != 0 {
			t.Fatalf("%d database reads for a known-revoked session, want 0", n)
		}
	})
}

// TestUnreadableCacheEntry: a cached value authd can't decode (corruption)
// is answered from the database instead of failing every request.
func TestUnreadableCacheEntry(t *testing.T) {
	clock := authtest.NewClock()
	c := cache.New(cache.NewMemory(cache.MemoryOptions{Now: clock.Now}), cache.Options{})
	e := newEnvOn(t, wiringtest.Embedded, wiringtest.OpenSQLite(t, clock), authtest.Options{Clock: clock, Cache: c})
	u, pair := e.register(t, "ada@example.com")
	junk := func(context.Context) ([]byte, time.Duration, error) { return []byte("{not json"), time.Minute, nil }
	if _, err := c.Get(t.Context(), u.ID, "s:"+pair.SessionID, junk); err != nil {
		t.Fatal(err)
	}
	p := e.principal(t, pair)
	if p.UserID != u.ID {
		t.Fatalf("principal %+v", p)
	}
	// The junk is gone: the next request is served from a fresh entry.
	if err := e.svc.Logout(t.Context(), p, ""); err != nil {
		t.Fatal(err)
	}
	_, err := e.svc.Authenticate(t.Context(), pair.AccessToken)
	wantCode(t, err, auth.EUnauthorized)
}

// TestEndedSessionLoadsNoProfile: a token of an ended session costs one
// read and is refused, and the cache remembers the session as ended without
// the user's profile: nothing needs it, and it would be served to no one.
func TestEndedSessionLoadsNoProfile(t *testing.T) {
	store := &authtest.CountingStore{Backend: wiringtest.OpenSQLite(t, nil)}
	c := cache.New(cache.NewMemory(cache.MemoryOptions{}), cache.Options{})
	e := newEnvOn(t, wiringtest.Embedded, store, authtest.Options{Cache: c})
	u, pair := e.register(t, "ada@example.com")
	p := e.principal(t, pair)
	if err := e.svc.Logout(t.Context(), p, ""); err != nil {
		t.Fatal(err)
	}
	before := store.Reads()
	_, err := e.svc.Authenticate(t.Context(), pair.AccessToken)
	wantCode(t, err, auth.EUnauthorized)
	if n := store.Reads() - before; n != 1 {
		t.Errorf("Authenticate of an ended session made %d reads, want 1", n)
	}
	entry, err := c.Get(t.Context(), u.ID, "s:"+pair.SessionID, func(context.Context) ([]byte, time.Duration, error) {
		return nil, 0, errors.New("the ended session's state is not cached")
	})
	if err != nil {
		t.Fatal(err)
	}
	var st map[string]json.RawMessage
	if err := json.Unmarshal(entry, &st); err != nil {
		t.Fatal(err)
	}
	if _, ok := st["u"]; ok {
		t.Errorf("the ended session's cached state holds the profile: %s", entry)
	}
}
