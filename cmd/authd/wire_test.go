package main

import (
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/talentforge/authd/internal/auth"
	"github.com/talentforge/authd/internal/testclock"
	"github.com/talentforge/authd/internal/token"
)

// TestShortAccessTokenExpires: with the shortest AUTH_ACCESS_TOKEN_TTL, 5s,
// a token from the token manager wired as serve wires it (verified-token
// cache on) is accepted for its five seconds and refused within a second
// after, not stretched by a clock-skew leeway meant for 15-minute tokens.
func TestShortAccessTokenExpires(t *testing.T) {
	ctx := t.Context()
	vars := map[string]string{"AUTH_ACCESS_TOKEN_TTL": "5s", "AUTH_DATA_DIR": filepath.Join(t.TempDir(), "data")}
	cfg, err := loadConfig(func(k string) string { return vars[k] })
	if err != nil {
		t.Fatal(err)
	}
	db, err := openReady(ctx, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	clock := testclock.New()
	tc := tokenConfig(cfg, slog.New(slog.DiscardHandler))
	tc.Now = clock.Now
	tokens, err := token.New(ctx, db, tc)
	if err != nil {
		t.Fatal(err)
	}
	tok, claims, err := tokens.Issue(ctx, auth.AccessClaims{UserID: "u1", SessionID: "s1"})
	if err != nil {
		t.Fatal(err)
	}
	if life := claims.ExpiresAt.Sub(claims.IssuedAt); life != 5*time.Second {
		t.Fatalf("token lifetime %v, want 5s", life)
	}
	start := clock.Now()
	for _, step := range []struct {
		at time.Duration // since issue
		ok bool
	}{
		{0, true},
		{4 * time.Second, true}, // from the verified-token cache
		{5*time.Second - time.Millisecond, true},
		{6 * time.Second, false},
		{time.Minute, false},
	} {
		clock.Advance(start.Add(step.at).Sub(clock.Now()))
		_, err := tokens.Verify(ctx, tok)
		if (err == nil) != step.ok {
			t.Errorf("%v after issue: verify error %v, want accepted=%v", step.at, err, step.ok)
		}
	}

	// The default lifetime keeps the usual leeway.
	def, err := loadConfig(func(k string) string { return map[string]string{"AUTH_DATA_DIR": vars["AUTH_DATA_DIR"]}[k] })
	if err != nil {
		t.Fatal(err)
	}
	if got := tokenConfig(def, slog.New(slog.DiscardHandler)).Leeway; got != token.DefaultLeeway {
		t.Errorf("leeway for 15m tokens %v, want %v", got, token.DefaultLeeway)
	}
}
