package token

import (
	"context"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/talentforge/authd/internal/auth"
)

// TestRevoke walks the emergency rotation of a leaked key across two
// replicas sharing a store: the key that signs can't be revoked until a new
// one signs at once; once revoked, the replica that revoked it refuses its
// tokens at once, and the other replica at its next reload, verified-token
// cache included.
func TestRevoke(t *testing.T) {
	ctx := context.Background()
	clk := newClock()
	store := newMemKeyStore()
	a := newTestManager(t, store, testConfig(clk, ES256))
	b := newTestManager(t, store, testConfig(clk, ES256))
	leaked := currentKey(t, a).id
	old := issue(t, a)
	if _, err := b.Verify(ctx, old); err != nil { // now in b's verified-token cache
		t.Fatal(err)
	}

	if err := a.Revoke(ctx, leaked); !errors.Is(err, ErrRevokeCurrent) {
		t.Fatalf("revoking the key that signs: %v, want ErrRevokeCurrent", err)
	}
	if err := a.Revoke(ctx, "no-such-kid"); auth.ErrorCode(err) != auth.ENotFound {
		t.Fatalf("revoking an unknown key: %v, want not found", err)
	}

	rec, err := a.RotateNow(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if d := rec.ActivatesAt.Sub(clk.Now()); d > 0 {
		t.Errorf("RotateNow's key activates %v from now, want at once", d)
	}
	fresh := issue(t, a)
	if kid := tokenKid(t, fresh); kid != rec.ID {
		t.Fatalf("after RotateNow tokens are signed by %s, want %s", kid, rec.ID)
	}
	// b has not reloaded, but an unknown kid makes it.
	if _, err := b.Verify(ctx, fresh); err != nil {
		t.Fatalf("the other replica refuses the new key's token: %v", err)
	}

	// b reloaded just now, so it may not reload again right away: it keeps
	// accepting the leaked key's tokens until its next tick.
	if err := a.Revoke(ctx, leaked); err != nil {
		t.Fatal(err)
	}
	_, err = a.Verify(ctx, old)
	wantUnauthorized(t, err)
	if got := jwksKids(t, a); !cmp.Equal(got, []string{rec.ID}) {
		t.Errorf("JWKS after the revocation: %v, want only %s", got, rec.ID)
	}
	if _, err := b.Verify(ctx, old); err != nil {
		t.Fatalf("before its reload the other replica already refuses: %v (the documented lag is one reload)", err)
	}
	b.tick(ctx)
	_, err = b.Verify(ctx, old)
	wantUnauthorized(t, err)
	if _, err := b.Verify(ctx, fresh); err != nil {
		t.Errorf("the new key's token after the revocation: %v", err)
	}
	if err := a.Revoke(ctx, leaked); auth.ErrorCode(err) != auth.ENotFound {
		t.Errorf("revoking it again: %v, want not found", err)
	}

	var revoked []string
	for _, ev := range store.events {
		if ev.Type == auth.EventKeyRevoked {
			revoked = append(revoked, ev.Resource)
		}
	}
	if !cmp.Equal(revoked, []string{leaked}) {
		t.Errorf("key.revoked events for %v, want one for %s", revoked, leaked)
	}
}
