package auth_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/redis/go-redis/v9"

	"github.com/talentforge/authd/internal/auth"
	"github.com/talentforge/authd/internal/auth/authtest"
	"github.com/talentforge/authd/internal/cache"
	"github.com/talentforge/authd/internal/redisconn"
	"github.com/talentforge/authd/internal/redisconn/redistest"
	"github.com/talentforge/authd/internal/wiringtest"
)

func TestServiceClients(t *testing.T) {
	forEachCache(t, func(t *testing.T, e *env, _ *authtest.CountingStore) {
		ctx := t.Context()
		_, adm := e.admin(t, "root@example.com")
		c, secret, err := e.svc.CreateClient(ctx, adm, auth.ClientInput{Name: "billing", Scopes: []string{"invoices:write", "invoices:read", "invoices:read"}})
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]string{"invoices:read", "invoices:write"}, c.Scopes); diff != "" {
			t.Errorf("scopes (-want +got):\n%s", diff)
		}

		// Authentication: the right secret only; an unknown id looks the same.
		if _, err := e.svc.AuthenticateClient(ctx, c.ID, secret, auth.Origin{}); err != nil {
			t.Fatalf("authenticate: %v", err)
		}
		_, err = e.svc.AuthenticateClient(ctx, c.ID, secret+"x", auth.Origin{})
		wantCode(t, err, auth.EInvalidClient)
		_, err = e.svc.AuthenticateClient(ctx, "0190c0de-0000-7000-8000-000000000000", secret, auth.Origin{})
		wantCode(t, err, auth.EInvalidClient)
		_, err = e.svc.AuthenticateClient(ctx, "not-an-id", secret, auth.Origin{})
		wantCode(t, err, auth.EInvalidClient)

		// client_credentials: a subset of the client's scopes, or all.
		pair, scope, err := e.svc.ClientToken(ctx, c, "invoices:read")
		if err != nil || scope != "invoices:read" || pair.RefreshToken != "" {
			t.Fatalf("client token: %q %+v %v", scope, pair, err)
		}
		if _, scope, err := e.svc.ClientToken(ctx, c, ""); err != nil || scope != "invoices:read invoices:write" {
			t.Errorf("default scope = %q, %v", scope, err)
		}
		_, _, err = e.svc.ClientToken(ctx, c, "invoices:read admin")
		wantCode(t, err, auth.EInvalidScope)

		// A client token is not a user's: authd's own endpoints refuse it.
		_, err = e.svc.Authenticate(ctx, pair.AccessToken)
		wantCode(t, err, auth.EUnauthorized)

		in, err := e.svc.Introspect(ctx, c, pair.AccessToken, "")
		if err != nil || !in.Active || in.ClientID != c.ID || in.Scope != "invoices:read" || in.Subject != c.ID {
			t.Fatalf("introspect client token: %+v %v", in, err)
		}

		// Another client can't revoke it; its own client can.
		other, _, err := e.svc.CreateClient(ctx, adm, auth.ClientInput{Name: "gateway"})
		if err != nil {
			t.Fatal(err)
		}
		wantCode(t, e.svc.RevokeToken(ctx, other, pair.AccessToken, ""), auth.EForbidden)
		if err := e.svc.RevokeToken(ctx, c, pair.AccessToken, auth.TokenTypeAccess); err != nil {
			t.Fatal(err)
		}
		if in := e.introspect(t, other, pair.AccessToken, ""); in.Active {
			t.Error("revoked client token still active")
		}
		if err := e.svc.RevokeToken(ctx, c, pair.AccessToken, ""); err != nil {
			t.Errorf("revoking twice: %v", err)
		}

		// Deleting the client ends its secret and its tokens at once.
		fresh, _, err := e.svc.ClientToken(ctx, c, "")
		if err != nil {
			t.Fatal(err)
		}
		if in := e.introspect(t, other, fresh.AccessToken, ""); !in.Active {
			t.Fatal("fresh client token inactive")
		}
		if err := e.svc.DeleteClient(ctx, adm, c.ID); err != nil {
			t.Fatal(err)
		}
		if in := e.introspect(t, other, fresh.AccessToken, ""); in.Active {
			t.Error("token of a deleted client still active")
		}
		_, err = e.svc.AuthenticateClient(ctx, c.ID, secret, auth.Origin{})
		wantCode(t, err, auth.EInvalidClient)
		wantCode(t, e.svc.DeleteClient(ctx, adm, c.ID), auth.ENotFound)
	})
}

func TestIntrospectAndRevokeUserTokens(t *testing.T) {
	forEachCache(t, func(t *testing.T, e *env, _ *authtest.CountingStore) {
		ctx := t.Context()
		_, adm := e.admin(t, "root@example.com")
		rs, _, err := e.svc.CreateClient(ctx, adm, auth.ClientInput{Name: "resource server"})
		if err != nil {
			t.Fatal(err)
		}
		u, pair := e.register(t, "ada@example.com")

		in, err := e.svc.Introspect(ctx, rs, pair.AccessToken, "")
		if err != nil || !in.Active || in.Subject != u.ID || in.SessionID != pair.SessionID || in.TokenType != auth.TokenTypeAccess {
			t.Fatalf("introspect access: %+v %v", in, err)
		}
		if diff := cmp.Diff([]string{auth.RoleUser}, in.Roles); diff != "" {
			t.Errorf("roles (-want +got):\n%s", diff)
		}
		in, err = e.svc.Introspect(ctx, rs, pair.RefreshToken, auth.TokenTypeRefresh)
		if err != nil || !in.Active || in.Subject != u.ID || in.TokenType != auth.TokenTypeRefresh {
			t.Fatalf("introspect refresh: %+v %v", in, err)
		}
		for _, junk := range []string{"", "garbage", pair.AccessToken + "x", "a.b.c"} {
			if in, err := e.svc.Introspect(ctx, rs, junk, ""); err != nil || in.Active {
				t.Errorf("introspect %q: %+v %v", junk, in, err)
			}
		}

		// A rotated refresh token is no longer active.
		next, err := e.svc.Refresh(ctx, pair.RefreshToken, auth.Origin{})
		if err != nil {
			t.Fatal(err)
		}
		if in := e.introspect(t, rs, pair.RefreshToken, ""); in.Active {
			t.Error("rotated refresh token still active")
		}

		// Revoking the access token ends its session: the refresh token too.
		if err := e.svc.RevokeToken(ctx, rs, next.AccessToken, ""); err != nil {
			t.Fatal(err)
		}
		_, err = e.svc.Authenticate(ctx, next.AccessToken)
		wantCode(t, err, auth.EUnauthorized)
		if in := e.introspect(t, rs, next.RefreshToken, ""); in.Active {
			t.Error("refresh token of a revoked session still active")
		}

		// Revoking by refresh token ends that session.
		_, pair3, err := e.svc.Login(ctx, auth.LoginInput{Email: "ada@example.com", Password: pw})
		if err != nil {
			t.Fatal(err)
		}
		if err := e.svc.RevokeToken(ctx, rs, pair3.RefreshToken, auth.TokenTypeRefresh); err != nil {
			t.Fatal(err)
		}
		_, err = e.svc.Authenticate(ctx, pair3.AccessToken)
		wantCode(t, err, auth.EUnauthorized)
		if err := e.svc.RevokeToken(ctx, rs, "not a token", ""); err != nil {
			t.Errorf("revoking garbage: %v", err)
		}
	})
}

// clientReads counts the client lookups that reach the database.
type clientReads struct {
	authtest.Backend
	n atomic.Int64
}

func (s *clientReads) Client(ctx context.Context, id string) (*auth.ServiceClient, error) {
	s.n.Add(1)
	return s.Backend.Client(ctx, id)
}

// TestUnknownClientIDsAreNotCached: client ids are the caller's choice, so
// a miss is not cached (each would be an entry an unauthenticated caller
// makes); a registered client still is.
func TestUnknownClientIDsAreNotCached(t *testing.T) {
	for _, name := range []string{"memory", "redis"} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			clock := authtest.NewClock()
			var (
				c      auth.Cache
				rc     *redisconn.Client
				prefix string
			)
			if name == "memory" {
				c = cache.New(cache.NewMemory(cache.MemoryOptions{Now: clock.Now}), cache.Options{})
			} else {
				url := redistest.URL(t)
				rc, prefix = openRedis(t, url), redistest.Prefix(t, url)
				c = cache.New(cache.NewRedis(rc, cache.RedisOptions{Prefix: prefix}), cache.Options{})
			}
			store := &clientReads{Backend: wiringtest.OpenSQLite(t, clock)}
			e := newEnvOn(t, wiringtest.Embedded, store, authtest.Options{Clock: clock, Cache: c})
			ctx := t.Context()
			_, adm := e.admin(t, "root@example.com")
			known, secret, err := e.svc.CreateClient(ctx, adm, auth.ClientInput{Name: "billing"})
			if err != nil {
				t.Fatal(err)
			}

			authenticate := func(id, secret string) {
				t.Helper()
				if _, err := e.svc.AuthenticateClient(ctx, id, secret, auth.Origin{}); err != nil && auth.ErrorCode(err) != auth.EInvalidClient {
					t.Fatal(err)
				}
			}
			reads := func(fn func()) int64 {
				before := store.n.Load()
				fn()
				return store.n.Load() - before
			}
			if n := reads(func() { authenticate(known.ID, secret); authenticate(known.ID, secret) }); n > 1 {
				t.Errorf("a registered client was read %d times for two authentications, want it cached", n)
			}
			const unknown = "0190c0de-0000-7000-8000-000000000000"
			if n := reads(func() { authenticate(unknown, "x"); authenticate(unknown, "x") }); n != 2 {
				t.Errorf("an unknown client id was read %d times for two authentications, want 2 (not cached)", n)
			}
			if rc == nil {
				return
			}
			before := redisKeys(t, rc, prefix)
			for i := range 20 {
				authenticate(fmt.Sprintf("0190c0de-0000-7000-8000-%012x", i), "x")
			}
			if after := redisKeys(t, rc, prefix); after != before {
				t.Errorf("20 unknown client ids left %d keys in Redis, want none", after-before)
			}
		})
	}
}

func redisKeys(t *testing.T, c *redisconn.Client, prefix string) int {
	t.Helper()
	n := 0
	err := c.Do(t.Context(), func(rdb redis.UniversalClient) error {
		iter := rdb.Scan(t.Context(), 0, prefix+"*", 1000).Iterator()
		for iter.Next(t.Context()) {
			n++
		}
		return iter.Err()
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestUnknownClientWithTheDummySecret: the secret an unknown id is compared
// against (so that it costs what a wrong secret costs) opens nothing.
func TestUnknownClientWithTheDummySecret(t *testing.T) {
	forEachWiring(t, authtest.Options{}, func(t *testing.T, e *env) {
		unknown := "0190a5c8-7d2e-7b3a-9f1e-3c4d5e6f7a8b"
		_, err := e.svc.AuthenticateClient(t.Context(), unknown, "authd: no such client", auth.Origin{IP: "192.0.2.1"})
		wantCode(t, err, auth.EInvalidClient)
	})
}

// TestIntrospectEndedUserSessions: a user's access token introspects active
// only while its session is: after logout, after the user is disabled and
// after the session is revoked by an admin it answers inactive, with no
// claims, though its signature and lifetime are still good.
func TestIntrospectEndedUserSessions(t *testing.T) {
	forEachWiring(t, authtest.Options{}, func(t *testing.T, e *env) {
		ctx := t.Context()
		_, adm := e.admin(t, "root@example.com")
		rs, _, err := e.svc.CreateClient(ctx, adm, auth.ClientInput{Name: "resource server"})
		if err != nil {
			t.Fatal(err)
		}
		active := func(token string) *auth.Introspection {
			t.Helper()
			in, err := e.svc.Introspect(ctx, rs, token, "")
			if err != nil {
				t.Fatal(err)
			}
			return in
		}

		u, pair := e.register(t, "ada@example.com")
		if in := active(pair.AccessToken); !in.Active || in.Subject != u.ID {
			t.Fatalf("a live token: %+v", in)
		}
		if err := e.svc.Logout(ctx, e.principal(t, pair), ""); err != nil {
			t.Fatal(err)
		}
		if in := active(pair.AccessToken); in.Active || in.Subject != "" {
			t.Errorf("after logout: %+v, want inactive", in)
		}

		pair2 := e.loginPair(t, "ada@example.com")
		if err := e.svc.RevokeUserSession(ctx, adm, u.ID, pair2.SessionID); err != nil {
			t.Fatal(err)
		}
		if in := active(pair2.AccessToken); in.Active {
			t.Errorf("after an admin revoked the session: %+v, want inactive", in)
		}

		pair3 := e.loginPair(t, "ada@example.com")
		off := auth.StatusDisabled
		if _, err := e.svc.UpdateUser(ctx, adm, u.ID, auth.UserPatch{Status: &off}); err != nil {
			t.Fatal(err)
		}
		if in := active(pair3.AccessToken); in.Active {
			t.Errorf("after the user was disabled: %+v, want inactive", in)
		}
	})
}

func (e *env) loginPair(t *testing.T, email string) *auth.TokenPair {
	t.Helper()
	_, pair, err := e.svc.Login(t.Context(), auth.LoginInput{Email: email, Password: pw})
	if err != nil {
		t.Fatalf("login %s: %v", email, err)
	}
	return pair
}

// introspect is Introspect that fails the test on an error.
func (e *env) introspect(t *testing.T, rs *auth.ServiceClient, token, hint string) *auth.Introspection {
	t.Helper()
	in, err := e.svc.Introspect(t.Context(), rs, token, hint)
	if err != nil {
		t.Fatalf("introspect: %v", err)
	}
	return in
}
