package ratelimit_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/talentforge/authd/internal/auth"
	"github.com/talentforge/authd/internal/ratelimit"
	"github.com/talentforge/authd/internal/redisconn"
	"github.com/talentforge/authd/internal/redisconn/redistest"
)

// servers are the shared Redis topologies every Redis test runs on.
var servers = []struct {
	name string
	url  func(testing.TB) string
}{
	{"standalone", redistest.URL},
	{"cluster", redistest.ClusterURL},
}

func openClient(tb testing.TB, url string, probe time.Duration) *redisconn.Client {
	tb.Helper()
	c, err := redisconn.Open(context.Background(), redisconn.Options{URL: url, ProbeInterval: probe})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { c.Close() })
	return c
}

// TestRedis runs the contract without a fallback, so that every answer comes
// from Redis (an outage would fail the test rather than hide in Memory).
func TestRedis(t *testing.T) {
	for _, s := range servers {
		t.Run(s.name, func(t *testing.T) {
			t.Parallel()
			url := s.url(t)
			client := openClient(t, url, 0)
			testLimiter(t, func(t *testing.T, now func() time.Time) limiter {
				return ratelimit.NewRedis(client, nil, ratelimit.RedisOptions{Prefix: redistest.Prefix(t, url), Now: now})
			})
		})
	}
}

func TestRedisKeys(t *testing.T) {
	for _, s := range servers {
		t.Run(s.name, func(t *testing.T) {
			t.Parallel()
			url := s.url(t)
			prefix := redistest.Prefix(t, url)
			client := openClient(t, url, 0)
			clk := newClock()
			l := ratelimit.NewRedis(client, nil, ratelimit.RedisOptions{Prefix: prefix, Now: clk.Now})
			const email = "alice@example.com"
			sum := sha256.Sum256([]byte(email))
			name := prefix + "rl:{" + strict.Name + ":" + hex.EncodeToString(sum[:])[:32] + "}"
			ttl := func() time.Duration {
				t.Helper()
				d, err := client.Universal().PTTL(context.Background(), name).Result()
				if err != nil {
					t.Fatal(err)
				}
				return d
			}

			check(t, l, strict, email, 1, ok(4))
			keys := redisKeys(t, client.Universal(), prefix)
			if len(keys) != 1 || keys[0] != name {
				t.Fatalf("keys = %q, want [%q]", keys, name)
			}
			if strings.Contains(keys[0], "alice") || strings.Contains(keys[0], "example") {
				t.Fatalf("key %q shows the caller's key in the clear", keys[0])
			}
			// Kept until the allowance is full again: one interval.
			if d := ttl(); d > 3*time.Minute || d < 3*time.Minute-10*time.Second {
				t.Fatalf("PTTL = %s, want about 3m", d)
			}
			check(t, l, strict, email, -1, ok(5))
			if keys := redisKeys(t, client.Universal(), prefix); len(keys) != 0 {
				t.Fatalf("full allowance still stored: %q", keys)
			}
			// A strike is kept for StrikeMemory.
			exhaust(t, l, strict, email)
			check(t, l, strict, email, 1, no(0, 3*time.Minute))
			if d := ttl(); d > ratelimit.StrikeMemory || d < ratelimit.StrikeMemory-10*time.Second {
				t.Fatalf("PTTL = %s, want about %s", d, ratelimit.StrikeMemory)
			}
			reset(t, l, strict, email)
			if keys := redisKeys(t, client.Universal(), prefix); len(keys) != 0 {
				t.Fatalf("keys after Reset: %q", keys)
			}
		})
	}
}

// TestRedisKeySecret: with a KeySecret, key names are an HMAC of the
// caller's key, so a list of candidate emails can't be hashed and matched.
func TestRedisKeySecret(t *testing.T) {
	url := redistest.URL(t)
	prefix := redistest.Prefix(t, url)
	client := openClient(t, url, 0)
	secret := []byte("0123456789abcdef0123456789abcdef")
	l := ratelimit.NewRedis(client, nil, ratelimit.RedisOptions{Prefix: prefix, Now: newClock().Now, KeySecret: secret})
	const email = "alice@example.com"
	check(t, l, strict, email, 1, ok(4))
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte(email))
	want := prefix + "rl:{" + strict.Name + ":" + hex.EncodeToString(mac.Sum(nil))[:32] + "}"
	if keys := redisKeys(t, client.Universal(), prefix); len(keys) != 1 || keys[0] != want {
		t.Fatalf("keys = %q, want [%q]", keys, want)
	}
	// Another limiter with the same secret (another replica) shares the count.
	other := ratelimit.NewRedis(client, nil, ratelimit.RedisOptions{Prefix: prefix, Now: newClock().Now, KeySecret: secret})
	check(t, other, strict, email, 1, ok(3))
}

// TestRedisMatchesMemory drives the Lua script and the Go reference with the
// same random attempts on the same clock: they must agree on every answer.
func TestRedisMatchesMemory(t *testing.T) {
	rules := []auth.Rule{
		strict,
		{Name: "small", Limit: 2, Period: 7 * time.Second, MaxLockout: 100 * time.Second},
		{Name: "uneven", Limit: 7, Period: 10 * time.Second},
		{Name: "long", Limit: 3, Period: time.Hour, MaxLockout: 48 * time.Hour},
	}
	steps := []time.Duration{0, 0, time.Millisecond, 999 * time.Millisecond, 3 * time.Second, 2 * time.Minute, 20 * time.Minute, 25 * time.Hour}
	for _, s := range servers {
		t.Run(s.name, func(t *testing.T) {
			t.Parallel()
			url := s.url(t)
			clk := newClock()
			r := ratelimit.NewRedis(openClient(t, url, 0), nil, ratelimit.RedisOptions{Prefix: redistest.Prefix(t, url), Now: clk.Now})
			m := ratelimit.NewMemory(ratelimit.MemoryOptions{Now: clk.Now})
			ctx := context.Background()
			rnd := rand.New(rand.NewPCG(1, 2))
			for i := range 3000 {
				clk.Advance(steps[rnd.IntN(len(steps))])
				rule, key, cost := rules[rnd.IntN(len(rules))], []string{"x", "y"}[rnd.IntN(2)], rnd.IntN(7)-2
				if rnd.IntN(100) == 0 {
					reset(t, r, rule, key)
					reset(t, m, rule, key)
					continue
				}
				want, err := m.Allow(ctx, rule, key, cost)
				if err != nil {
					t.Fatal(err)
				}
				got, err := r.Allow(ctx, rule, key, cost)
				if err != nil {
					t.Fatal(err)
				}
				if got != want {
					t.Fatalf("step %d, Allow(%s, %s, %d): Redis %+v, Memory %+v", i, rule.Name, key, cost, got, want)
				}
			}
		})
	}
}

// TestRedisFallback stops a private server: Allow answers from Memory, and
// from Redis again once the client has found it back.
func TestRedisFallback(t *testing.T) {
	srv := redistest.StartServer(t)
	client := openClient(t, srv.URL(), 50*time.Millisecond)
	clk := newClock()
	mem := ratelimit.NewMemory(ratelimit.MemoryOptions{Now: clk.Now})
	l := ratelimit.NewRedis(client, mem, ratelimit.RedisOptions{Prefix: "fallback:", Now: clk.Now})

	check(t, l, login, "a", 1, ok(4))
	if n := len(redisKeys(t, client.Universal(), "fallback:")); n != 1 || mem.Len() != 0 {
		t.Fatalf("%d keys in Redis, %d in Memory; want 1 and 0", n, mem.Len())
	}

	srv.Stop()
	check(t, l, login, "a", 1, ok(4)) // Memory starts from zero
	check(t, l, login, "a", 1, ok(3))
	if client.Up() || mem.Len() != 1 {
		t.Fatalf("Up = %v, Memory keys = %d; want degraded, 1", client.Up(), mem.Len())
	}
	reset(t, l, login, "a")
	check(t, l, login, "a", 0, ok(5))

	srv.Start()
	waitUp(t, client)
	check(t, l, login, "b", 1, ok(4))
	if n := len(redisKeys(t, client.Universal(), "fallback:")); n != 1 || mem.Len() != 0 {
		t.Fatalf("%d keys in Redis, %d in Memory; want 1 and 0", n, mem.Len())
	}
}

// TestRedisResetReplay resets keys while the client is degraded: the resets

// TestRedisRefusingWritesFallsBack: a Redis that answers but refuses writes
// (out of memory here) must not turn logins into errors: the limiter counts
// in process and the client stays degraded until Redis accepts writes.
func TestRedisRefusingWritesFallsBack(t *testing.T) {
	srv := redistest.StartServer(t)
	client := openClient(t, srv.URL(), 50*time.Millisecond)
	clk := newClock()
	mem := ratelimit.NewMemory(ratelimit.MemoryOptions{Now: clk.Now})
	l := ratelimit.NewRedis(client, mem, ratelimit.RedisOptions{Prefix: "oom:", Now: clk.Now})
	rdb := client.Universal()
	if err := rdb.ConfigSet(t.Context(), "maxmemory-policy", "noeviction").Err(); err != nil {
		t.Fatal(err)
	}
	if err := rdb.ConfigSet(t.Context(), "maxmemory", "1").Err(); err != nil {
		t.Fatal(err)
	}
	check(t, l, login, "a", 1, ok(4))
	if client.Up() || mem.Len() != 1 {
		t.Fatalf("Up = %v, Memory keys = %d; want degraded, 1", client.Up(), mem.Len())
	}
	if err := rdb.ConfigSet(t.Context(), "maxmemory", "0").Err(); err != nil {
		t.Fatal(err)
	}
	waitUp(t, client)
	check(t, l, login, "b", 1, ok(4))
	if n := len(redisKeys(t, rdb, "oom:")); n != 1 {
		t.Fatalf("%d keys in Redis after recovery, want 1", n)
	}
}

// reach Redis when the client recovers, before it serves from Redis again.
func TestRedisResetReplay(t *testing.T) {
	for _, s := range servers {
		t.Run(s.name, func(t *testing.T) {
			t.Parallel()
			url := s.url(t)
			prefix := redistest.Prefix(t, url)
			client := openClient(t, url, time.Second)
			clk := newClock()
			l := ratelimit.NewRedis(client, ratelimit.NewMemory(ratelimit.MemoryOptions{Now: clk.Now}),
				ratelimit.RedisOptions{Prefix: prefix, Now: clk.Now})
			bare := ratelimit.NewRedis(client, nil, ratelimit.RedisOptions{Prefix: prefix, Now: clk.Now})
			keys := []string{"j", "k", "l"} // several, on several Cluster nodes

			for _, k := range keys {
				exhaust(t, l, strict, k)
				check(t, l, strict, k, 1, no(0, 3*time.Minute))
			}
			client.MarkDown(errors.New("test outage"))
			for _, k := range keys {
				reset(t, l, strict, k)
			}
			if _, err := bare.Allow(context.Background(), strict, "k", 1); !errors.Is(err, redisconn.ErrDegraded) {
				t.Fatalf("Allow without fallback while degraded: %v, want ErrDegraded", err)
			}
			if n := len(redisKeys(t, client.Universal(), prefix)); n != len(keys) {
				t.Fatalf("%d keys in Redis during the outage, want %d (resets not delivered yet)", n, len(keys))
			}

			waitUp(t, client)
			if left := redisKeys(t, client.Universal(), prefix); len(left) != 0 {
				t.Fatalf("keys after recovery: %q, want the resets replayed", left)
			}
			exhaust(t, l, strict, "k")
			check(t, l, strict, "k", 1, no(0, 3*time.Minute)) // first strike again
		})
	}
}

// waitUp waits until the client's probe has found Redis again. Redis is
// another process, so the wait is bounded: a generous bound that only a
// broken recovery reaches.
func waitUp(t *testing.T, c *redisconn.Client) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if err := c.WaitUp(ctx); err != nil {
		t.Fatalf("client still degraded after 10s: %v", err)
	}
}

// redisKeys lists the keys under prefix, on every master of a Cluster.
func redisKeys(t *testing.T, c redis.UniversalClient, prefix string) []string {
	t.Helper()
	var mu sync.Mutex
	var keys []string
	scan := func(ctx context.Context, n *redis.Client) error {
		iter := n.Scan(ctx, 0, prefix+"*", 100).Iterator()
		for iter.Next(ctx) {
			mu.Lock()
			keys = append(keys, iter.Val())
			mu.Unlock()
		}
		return iter.Err()
	}
	ctx := context.Background()
	var err error
	if cc, ok := c.(*redis.ClusterClient); ok {
		err = cc.ForEachMaster(ctx, scan)
	} else {
		err = scan(ctx, c.(*redis.Client))
	}
	if err != nil {
		t.Fatalf("scan %s*: %v", prefix, err)
	}
	return keys
}

// TestRedisBatchAfterScriptFlush: servers that lost the script (a restart,
// SCRIPT FLUSH) answer NOSCRIPT, and the batches send it again in full.
func TestRedisBatchAfterScriptFlush(t *testing.T) {
	for _, s := range servers {
		t.Run(s.name, func(t *testing.T) {
			url := s.url(t)
			client := openClient(t, url, 0)
			l := ratelimit.NewRedis(client, nil, ratelimit.RedisOptions{Prefix: redistest.Prefix(t, url), Now: newClock().Now})
			flush := func() {
				t.Helper()
				ctx := context.Background()
				var err error
				if cc, ok := client.Universal().(*redis.ClusterClient); ok {
					err = cc.ForEachMaster(ctx, func(ctx context.Context, n *redis.Client) error { return n.ScriptFlush(ctx).Err() })
				} else {
					err = client.Universal().ScriptFlush(ctx).Err()
				}
				if err != nil {
					t.Fatal(err)
				}
			}
			flush()
			batch(t, l, []auth.LimitOp{take(login, "a", 1), {Rule: login, Key: "b", Reset: true}, take(login, "c", 2)}, ok(4), ok(0), ok(3))
			flush()
			allowAll(t, l, []auth.LimitOp{take(login, "a", 1), take(login, "c", 1)}, ok(3), ok(2))
		})
	}
}

// TestRedisBatchFallback: while Redis is down, AllowAll and Batch answer
// from the fallback, as Allow and Reset do, and from Redis once it is back.
func TestRedisBatchFallback(t *testing.T) {
	srv := redistest.StartServer(t)
	client := openClient(t, srv.URL(), 50*time.Millisecond)
	clk := newClock()
	mem := ratelimit.NewMemory(ratelimit.MemoryOptions{Now: clk.Now})
	l := ratelimit.NewRedis(client, mem, ratelimit.RedisOptions{Prefix: "batchfallback:", Now: clk.Now})
	bare := ratelimit.NewRedis(client, nil, ratelimit.RedisOptions{Prefix: "batchfallback:", Now: clk.Now})

	exhaust(t, l, strict, "locked")
	check(t, l, strict, "locked", 1, no(0, 3*time.Minute))
	if n := len(redisKeys(t, client.Universal(), "batchfallback:")); n != 1 || mem.Len() != 0 {
		t.Fatalf("%d keys in Redis, %d in Memory; want 1 and 0", n, mem.Len())
	}

	srv.Stop()
	allowAll(t, l, []auth.LimitOp{take(login, "a", 1), take(strict, "locked", 1)}, ok(4), ok(4)) // Memory starts from zero
	if client.Up() {
		t.Fatal("client still up with the server stopped")
	}
	batch(t, l, []auth.LimitOp{{Rule: strict, Key: "locked", Reset: true}, take(login, "a", -1)}, ok(0), ok(5))
	check(t, l, strict, "locked", 0, ok(5))
	if _, err := bare.AllowAll(context.Background(), []auth.LimitOp{take(login, "a", 1)}); !errors.Is(err, redisconn.ErrDegraded) {
		t.Fatalf("AllowAll without fallback while degraded: %v, want ErrDegraded", err)
	}
	if _, err := bare.Batch(context.Background(), []auth.LimitOp{take(login, "a", 1)}); !errors.Is(err, redisconn.ErrDegraded) {
		t.Fatalf("Batch without fallback while degraded: %v, want ErrDegraded", err)
	}

	srv.Start()
	waitUp(t, client)
	allowAll(t, l, []auth.LimitOp{take(login, "a", 1)}, ok(4)) // from Redis again
	if n := len(redisKeys(t, client.Universal(), "batchfallback:")); n != 1 {
		t.Fatalf("%d keys in Redis after recovery, want 1", n)
	}
}

// TestRedisBatchResetReplay resets keys in a Batch while the client is
// degraded: the resets reach Redis when the client recovers, as Reset's.
func TestRedisBatchResetReplay(t *testing.T) {
	url := redistest.URL(t)
	prefix := redistest.Prefix(t, url)
	client := openClient(t, url, time.Second)
	clk := newClock()
	l := ratelimit.NewRedis(client, ratelimit.NewMemory(ratelimit.MemoryOptions{Now: clk.Now}),
		ratelimit.RedisOptions{Prefix: prefix, Now: clk.Now})
	exhaust(t, l, strict, "k")
	check(t, l, strict, "k", 1, no(0, 3*time.Minute))
	client.MarkDown(errors.New("test outage"))
	batch(t, l, []auth.LimitOp{{Rule: strict, Key: "k", Reset: true}, take(login, "other", 1)}, ok(0), ok(4))
	if n := len(redisKeys(t, client.Universal(), prefix)); n != 1 {
		t.Fatalf("%d keys in Redis during the outage, want 1 (the reset not delivered yet)", n)
	}
	waitUp(t, client)
	if left := redisKeys(t, client.Universal(), prefix); len(left) != 0 {
		t.Fatalf("keys after recovery: %q, want the reset replayed", left)
	}
	exhaust(t, l, strict, "k")
	check(t, l, strict, "k", 1, no(0, 3*time.Minute)) // first strike again
}
