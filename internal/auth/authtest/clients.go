package authtest

import (
	"context"
	"encoding/base64"
	"testing"
	"time"

	"github.com/talentforge/authd/internal/auth"
)

// Service clients and revoked access tokens.

// newClient returns a valid, not yet stored service client.
func newClient(t *testing.T) *auth.ServiceClient {
	t.Helper()
	return &auth.ServiceClient{
		ID:         newID(t),
		Name:       "Billing service",
		SecretHash: append([]byte{0, 0xff}, randomBytes(t, 30)...), // not text
		Scopes:     []string{"invoices:read", "invoices:write"},
		CreatedBy:  newID(t),
		CreatedAt:  at(now(), 0),
	}
}

func getClient(t *testing.T, s Backend, id string) *auth.ServiceClient {
	t.Helper()
	c, err := s.Client(context.Background(), id)
	mustOK(t, err)
	wantUTC(t, c.CreatedAt)
	return c
}

func listClients(t *testing.T, s Backend) []*auth.ServiceClient {
	t.Helper()
	list, err := s.ListClients(context.Background())
	mustOK(t, err)
	for _, c := range list {
		wantUTC(t, c.CreatedAt)
	}
	return list
}

// newJTI returns an access token id shaped like those token.Manager mints.
func newJTI(t *testing.T) string {
	t.Helper()
	return base64.RawURLEncoding.EncodeToString(randomBytes(t, 16))
}

func testClients(t *testing.T, s Backend) {
	ctx := context.Background()
	if list := listClients(t, s); len(list) != 0 {
		t.Fatalf("ListClients on a fresh store = %d clients, want 0", len(list))
	}
	c1, c2, c3 := newClient(t), newClient(t), newClient(t)
	c2.Scopes = nil
	c3.Name, c3.CreatedBy = "Créé par la CLI", "" // made by an operator command
	// Inserted in another order than the ids.
	for _, c := range []*auth.ServiceClient{c3, c1, c2} {
		mustOK(t, txCreateClient(ctx, s, c, nil))
	}
	for _, c := range []*auth.ServiceClient{c1, c2, c3} {
		if d := diff(c, getClient(t, s, c.ID)); d != "" {
			t.Errorf("Client(%s) (-want +got):\n%s", c.Name, d)
		}
	}
	if d := diff([]*auth.ServiceClient{c1, c2, c3}, listClients(t, s)); d != "" {
		t.Errorf("ListClients (-want +got):\n%s", d)
	}
}

func testCreateClientErrors(t *testing.T, s Backend) {
	ctx := context.Background()
	c := newClient(t)
	mustOK(t, txCreateClient(ctx, s, c, nil))
	dup := newClient(t)
	dup.ID = c.ID
	wantCode(t, txCreateClient(ctx, s, dup, nil), auth.EConflict)
	if d := diff(c, getClient(t, s, c.ID)); d != "" {
		t.Errorf("Client after a duplicate CreateClient (-want +got):\n%s", d)
	}

	bad := newClient(t)
	bad.ID = "not-a-uuid"
	wantCode(t, txCreateClient(ctx, s, bad, nil), auth.EInvalid)
	if d := diff([]*auth.ServiceClient{c}, listClients(t, s)); d != "" {
		t.Errorf("ListClients after failed CreateClient calls (-want +got):\n%s", d)
	}
}

func testClientNotFound(t *testing.T, s Backend) {
	ctx := context.Background()
	mustOK(t, txCreateClient(ctx, s, newClient(t), nil)) // a non-empty table
	for _, id := range []string{newID(t), "not-a-uuid", ""} {
		_, err := s.Client(ctx, id)
		if got := auth.ErrorCode(err); got != auth.ENotFound {
			t.Errorf("Client(%q): error code %q, want %q", id, got, auth.ENotFound)
		}
	}
}

func testDeleteClient(t *testing.T, s Backend) {
	ctx := context.Background()
	gone, kept := newClient(t), newClient(t)
	mustOK(t, txCreateClient(ctx, s, gone, nil))
	mustOK(t, txCreateClient(ctx, s, kept, nil))

	mustOK(t, txDeleteClient(ctx, s, gone.ID, nil))
	_, err := s.Client(ctx, gone.ID)
	wantCode(t, err, auth.ENotFound)
	if d := diff([]*auth.ServiceClient{kept}, listClients(t, s)); d != "" {
		t.Errorf("ListClients after DeleteClient (-want +got):\n%s", d)
	}
	for _, id := range []string{gone.ID, newID(t), "not-a-uuid"} {
		if got := auth.ErrorCode(txDeleteClient(ctx, s, id, nil)); got != auth.ENotFound {
			t.Errorf("DeleteClient(%q): error code %q, want %q", id, got, auth.ENotFound)
		}
	}
	getClient(t, s, kept.ID)

	// The id is free again.
	again := newClient(t)
	again.ID = gone.ID
	mustOK(t, txCreateClient(ctx, s, again, nil))
}

func testRevokeToken(t *testing.T, s Backend) {
	ctx := context.Background()
	revoked := func(jti string) bool {
		t.Helper()
		ok, err := s.TokenRevoked(ctx, jti)
		mustOK(t, err)
		return ok
	}
	jti, other := newJTI(t), newJTI(t)
	if revoked(jti) {
		t.Fatal("TokenRevoked before RevokeToken = true")
	}
	expires := at(now(), 15*time.Minute)
	mustOK(t, txRevokeToken(ctx, s, jti, expires, nil))
	if !revoked(jti) {
		t.Error("TokenRevoked after RevokeToken = false")
	}
	if revoked(other) {
		t.Error("RevokeToken revoked another token")
	}

	// Revoking again is no error, changes nothing, and says so.
	wantNoChange(t, txRevokeToken(ctx, s, jti, at(expires, time.Minute), nil))
	if !revoked(jti) {
		t.Error("TokenRevoked after a second RevokeToken = false")
	}
	mustOK(t, txRevokeToken(ctx, s, other, expires, nil))
	if !revoked(other) || !revoked(jti) {
		t.Error("TokenRevoked = false for a revoked token")
	}
}

// testRevokeTokenForgetsExpired: a revocation purges the records of tokens
// that expired more than an hour ago, and keeps the others.
func testRevokeTokenForgetsExpired(t *testing.T, s Backend) {
	ctx := context.Background()
	n := time.Now()
	for jti, exp := range map[string]time.Time{"old": n.Add(-2 * time.Hour), "recent": n.Add(-time.Minute), "live": n.Add(time.Hour)} {
		mustOK(t, txRevokeToken(ctx, s, jti, exp, nil))
	}
	mustOK(t, txRevokeToken(ctx, s, "new", n.Add(time.Hour), nil))
	for jti, want := range map[string]bool{"old": false, "recent": true, "live": true, "new": true, "unknown": false} {
		if got, err := s.TokenRevoked(ctx, jti); err != nil || got != want {
			t.Errorf("TokenRevoked(%q) = %v, %v; want %v", jti, got, err, want)
		}
	}
}
