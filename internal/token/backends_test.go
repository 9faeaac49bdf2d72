package token_test

import (
	"errors"
	"testing"
	"time"

	"github.com/talentforge/authd/internal/auth"
	"github.com/talentforge/authd/internal/auth/authtest"
	"github.com/talentforge/authd/internal/testclock"
	"github.com/talentforge/authd/internal/token"
	"github.com/talentforge/authd/internal/wiringtest"
)

// The manager's own tests run on an in-memory key store, which lets them hold
// a reload at a fixed point. These run replicas on the real backends: keys
// sealed by one and read by another, rotation, and the audit trail of both.
func TestManagersShareKeysThroughTheBackends(t *testing.T) {
	for _, w := range wiringtest.All() {
		t.Run(w.Name, func(t *testing.T) {
			t.Parallel()
			ctx := t.Context()
			clock := testclock.New()
			store := w.Open(t, clock)
			cfg := token.Config{
				Issuer:       authtest.Issuer,
				AccessTTL:    15 * time.Minute,
				PublishDelay: 10 * time.Minute,
				Secret:       []byte(authtest.Secret),
				Now:          clock.Now,
			}
			a, err := token.New(ctx, store, cfg)
			if err != nil {
				t.Fatal(err)
			}
			b, err := token.New(ctx, store, cfg) // a second replica: loads a's key
			if err != nil {
				t.Fatal(err)
			}
			claims := auth.AccessClaims{UserID: "0190b3a4-7c1e-7d2a-9f00-000000000001", SessionID: "0190b3a4-7c1e-7d2a-9f00-000000000002", Roles: []string{"user"}}
			tok, _, err := a.Issue(ctx, claims)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := b.Verify(ctx, tok); err != nil {
				t.Fatalf("a replica refuses its peer's token: %v", err)
			}

			rotated, err := a.Rotate(ctx)
			if err != nil {
				t.Fatal(err)
			}
			clock.Advance(cfg.PublishDelay)
			c, err := token.New(ctx, store, cfg) // a replica started after the rotation
			if err != nil {
				t.Fatal(err)
			}
			next, issued, err := c.Issue(ctx, claims)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := a.Verify(ctx, next); err != nil {
				t.Fatalf("the rotating replica refuses a token of its new key: %v", err)
			}
			if _, err := c.Verify(ctx, tok); err != nil {
				t.Fatalf("a token of the old key is refused after the rotation: %v", err)
			}
			if issued.ExpiresAt.IsZero() {
				t.Fatal("issued claims without expiry")
			}

			events, err := store.ListEvents(ctx, auth.EventFilter{Type: auth.EventKeyRotated, Limit: 10})
			if err != nil {
				t.Fatal(err)
			}
			if len(events) != 2 || events[0].Resource != rotated.ID || events[0].ActorType != auth.ActorSystem {
				t.Errorf("key.rotated events %+v, want the first key's and then %s", events, rotated.ID)
			}

			other := cfg
			other.Secret = []byte("another-secret-0123456789abcdefghijklmnopqrstuvwxyz")
			if _, err := token.New(ctx, store, other); !errors.Is(err, token.ErrSecretMismatch) {
				t.Errorf("a replica with another secret: %v, want ErrSecretMismatch", err)
			}
		})
	}
}
