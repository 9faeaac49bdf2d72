package token

import (
	"context"
	"strings"
	"testing"
	"time"
)

func (c *verifiedCache) len() int {
	n := 0
	for i := range c.shards {
		c.shards[i].mu.Lock()
		n += len(c.shards[i].m)
		c.shards[i].mu.Unlock()
	}
	return n
}

// TestVerifiedCache: a token verified once is answered from the cache, with
// the same claims, and the cache never accepts what a full check would not.
func TestVerifiedCache(t *testing.T) {
	ctx := context.Background()
	clk := newClock()
	m := newTestManager(t, newMemKeyStore(), testConfig(clk, ES256))
	tok := issue(t, m)

	first, err := m.Verify(ctx, tok)
	if err != nil {
		t.Fatal(err)
	}
	if m.verified.len() != 1 {
		t.Fatalf("cache holds %d tokens after one verification, want 1", m.verified.len())
	}
	second, err := m.Verify(ctx, tok)
	if err != nil || second.ID != first.ID || second.UserID != first.UserID || !second.ExpiresAt.Equal(first.ExpiresAt) ||
		strings.Join(second.Roles, ",") != strings.Join(first.Roles, ",") || second.EmailVerified != first.EmailVerified {
		t.Fatalf("cached claims %+v, %v; want %+v", second, err, first)
	}
	// Callers may change what they get; the cache keeps its own copy.
	second.Roles[0] = "changed"
	if third, _ := m.Verify(ctx, tok); third.Roles[0] == "changed" {
		t.Fatal("a caller's change reached the cache")
	}

	// A token that differs by one character is not a hit.
	i := strings.LastIndexByte(tok, '.') + 5
	flipped := tok[:i] + string(rune(tok[i])^1) + tok[i+1:]
	_, err = m.Verify(ctx, flipped)
	wantUnauthorized(t, err)

	// Past its expiry the token is refused although it is cached: within
	// the leeway by the full check, then for good.
	exp := first.ExpiresAt
	clk.Advance(exp.Sub(clk.Now()) + time.Second)
	if _, err := m.Verify(ctx, tok); err != nil {
		t.Fatalf("within the leeway after expiry: %v", err)
	}
	clk.Advance(time.Minute)
	_, err = m.Verify(ctx, tok)
	wantUnauthorized(t, err)
}

// TestVerifiedCacheChecksKey: a cached token is not served once its key is
// no longer published (today keys leave only after their tokens expire;
// this guards a future key withdrawal).
func TestVerifiedCacheChecksKey(t *testing.T) {
	clk := newClock()
	m := newTestManager(t, newMemKeyStore(), testConfig(clk, ES256))
	tok := issue(t, m)
	if _, err := m.Verify(context.Background(), tok); err != nil {
		t.Fatal(err)
	}
	if _, _, ok := m.verified.get(tok, clk.Now(), m.keys.Load()); !ok {
		t.Fatal("a verified token is not in the cache")
	}
	if _, _, ok := m.verified.get(tok, clk.Now(), m.newKeySet(nil)); ok {
		t.Fatal("served from the cache although its key is gone")
	}
}

func TestVerifiedCacheBoundedAndOff(t *testing.T) {
	ctx := context.Background()
	clk := newClock()
	cfg := testConfig(clk, EdDSA)
	cfg.VerifiedCacheSize = 64
	m := newTestManager(t, newMemKeyStore(), cfg)
	for range 300 {
		if _, err := m.Verify(ctx, issue(t, m)); err != nil {
			t.Fatal(err)
		}
	}
	if n := m.verified.len(); n > 64 || n == 0 {
		t.Fatalf("cache of 64 holds %d tokens", n)
	}

	cfg.VerifiedCacheSize = -1
	off := newTestManager(t, newMemKeyStore(), cfg)
	tok := issue(t, off)
	for range 2 {
		if _, err := off.Verify(ctx, tok); err != nil {
			t.Fatal(err)
		}
	}
	if n := off.verified.len(); n != 0 {
		t.Fatalf("disabled cache holds %d tokens", n)
	}
}
