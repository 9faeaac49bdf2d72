package auth_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/talentforge/authd/internal/auth"
	"github.com/talentforge/authd/internal/auth/authtest"
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
		if _, err := e.svc.AuthenticateClient(ctx, c.ID, secret); err != nil {
			t.Fatalf("authenticate: %v", err)
		}
		_, err = e.svc.AuthenticateClient(ctx, c.ID, secret+"x")
		wantCode(t, err, auth.EInvalidClient)
		_, err = e.svc.AuthenticateClient(ctx, "0190c0de-0000-7000-8000-000000000000", secret)
		wantCode(t, err, auth.EInvalidClient)
		_, err = e.svc.AuthenticateClient(ctx, "not-an-id", secret)
		wantCode(t, err, auth.EInvalidClient)

		// client_credentials: a subset of the client's scopes, or all.
		pair, scope, err := e.svc.ClientToken(ctx, c, "invoices:read")
		if err != nil || scope != "invoices:read" || pair.RefreshToken != "" {
			t.Fatalf("client token: %q %+v %v", scope, pair, err)
		}
		if _, scope, _ := e.svc.ClientToken(ctx, c, ""); scope != "invoices:read invoices:write" {
			t.Errorf("default scope = %q", scope)
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
		if in, _ := e.svc.Introspect(ctx, other, pair.AccessToken, ""); in.Active {
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
		if in, _ := e.svc.Introspect(ctx, other, fresh.AccessToken, ""); !in.Active {
			t.Fatal("fresh client token inactive")
		}
		if err := e.svc.DeleteClient(ctx, adm, c.ID); err != nil {
			t.Fatal(err)
		}
		if in, _ := e.svc.Introspect(ctx, other, fresh.AccessToken, ""); in.Active {
			t.Error("token of a deleted client still active")
		}
		_, err = e.svc.AuthenticateClient(ctx, c.ID, secret)
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
		next, err := e.svc.Refresh(ctx, pair.RefreshToken, auth.Client{})
		if err != nil {
			t.Fatal(err)
		}
		if in, _ := e.svc.Introspect(ctx, rs, pair.RefreshToken, ""); in.Active {
			t.Error("rotated refresh token still active")
		}

		// Revoking the access token ends its session: the refresh token too.
		if err := e.svc.RevokeToken(ctx, rs, next.AccessToken, ""); err != nil {
			t.Fatal(err)
		}
		_, err = e.svc.Authenticate(ctx, next.AccessToken)
		wantCode(t, err, auth.EUnauthorized)
		if in, _ := e.svc.Introspect(ctx, rs, next.RefreshToken, ""); in.Active {
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
