package auth_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/talentforge/authd/internal/auth"
	"github.com/talentforge/authd/internal/auth/authtest"
	"github.com/talentforge/authd/internal/cache"
)

// countingCache counts the loads of each key and the invalidations of each
// group of the real cache it wraps.
type countingCache struct {
	auth.Cache
	mu          sync.Mutex
	loads       map[string]int
	invalidated map[string]int
}

func newCountingCache(clock *authtest.Clock) *countingCache {
	return &countingCache{
		Cache:       cache.New(cache.NewMemory(cache.MemoryOptions{Now: clock.Now}), cache.Options{}),
		loads:       map[string]int{},
		invalidated: map[string]int{},
	}
}

func (c *countingCache) Get(ctx context.Context, group, key string, load func(context.Context) ([]byte, time.Duration, error)) ([]byte, error) {
	return c.Cache.Get(ctx, group, key, func(ctx context.Context) ([]byte, time.Duration, error) {
		c.mu.Lock()
		c.loads[key]++
		c.mu.Unlock()
		return load(ctx)
	})
}

func (c *countingCache) Invalidate(ctx context.Context, group string) error {
	c.mu.Lock()
	c.invalidated[group]++
	c.mu.Unlock()
	return c.Cache.Invalidate(ctx, group)
}

func (c *countingCache) counts(group, key string) (invalidated, loads int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.invalidated[group], c.loads[key]
}

// TestLoginKeepsOtherSessionsCached: a login writes only the account's
// last_login_at and a new session, so it drops no cached entry of the
// account's other sessions, and the new session, loaded fresh, shows the
// new last_login_at.
func TestLoginKeepsOtherSessionsCached(t *testing.T) {
	clock := authtest.NewClock()
	c := newCountingCache(clock)
	e := newEnv(t, authtest.Options{Clock: clock, Cache: c})
	u, pair := e.register(t, "ada@example.com")
	first := e.principal(t, pair)
	keyA := "s:" + first.SessionID
	before, err := e.svc.Me(t.Context(), first)
	if err != nil {
		t.Fatal(err)
	}
	invalidations, loads := c.counts(u.ID, keyA)
	if loads != 1 {
		t.Fatalf("session A loaded %d times, want 1", loads)
	}

	clock.Advance(time.Minute)
	second := e.login(t, "ada@example.com")
	if n, _ := c.counts(u.ID, keyA); n != invalidations {
		t.Fatalf("the login invalidated the account's cache group %d times", n-invalidations)
	}
	// The other session's entry is still cached …
	again := e.principal(t, pair)
	if _, n := c.counts(u.ID, keyA); n != 1 {
		t.Fatalf("session A loaded %d times after the login, want 1 (still cached)", n)
	}
	// … with the last_login_at it had, for at most the cache's MaxTTL.
	if me, err := e.svc.Me(t.Context(), again); err != nil || !me.LastLoginAt.Equal(before.LastLoginAt) {
		t.Fatalf("session A's profile: %v, %v; want the cached last_login_at %v", me, err, before.LastLoginAt)
	}
	// The new session is loaded fresh and shows the new last_login_at.
	if _, n := c.counts(u.ID, "s:"+second.SessionID); n != 1 {
		t.Fatalf("session B loaded %d times, want 1", n)
	}
	me, err := e.svc.Me(t.Context(), second)
	if err != nil {
		t.Fatal(err)
	}
	if !me.LastLoginAt.Equal(clock.Now()) || !me.LastLoginAt.After(before.LastLoginAt) {
		t.Fatalf("session B's last_login_at = %v, want the login's %v", me.LastLoginAt, clock.Now())
	}
}
