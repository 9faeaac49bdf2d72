package cache

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/talentforge/authd/internal/redisconn"
	"github.com/talentforge/authd/internal/redisconn/redistest"
)

// topologies are the shared test servers every Redis test runs against.
var topologies = []struct {
	name string
	url  func(testing.TB) string
}{{"standalone", redistest.URL}, {"cluster", redistest.ClusterURL}}

func TestRedis(t *testing.T) {
	for _, top := range topologies {
		t.Run(top.name, func(t *testing.T) {
			url := top.url(t)
			testBackend(t, func(t *testing.T) fixture {
				prefix := redistest.Prefix(t, url)
				client := openClient(t, url)
				r := NewRedis(client, RedisOptions{Prefix: prefix})
				return fixture{
					backend: r,
					replica: NewRedis(openClient(t, url), RedisOptions{Prefix: prefix}),
					expire: func(t *testing.T, group, key string, ttl time.Duration) {
						t.Helper()
						expireRedis(t, client.Universal(), r.groupKey(group)+":e:"+key, ttl)
					},
				}
			})
		})
	}
}

// expireRedis checks that the server holds a TTL of ttl for key, and then
// deletes key, as the server does once that TTL has run out. Waiting for the
// server to expire it would make the test as slow as the TTL and as flaky as
// the machine's load; what authd decides is the TTL it asks for, and the rest
// is Redis's own behaviour. The server counts down from the fill on its own
// clock, so the TTL left is at most ttl, and more than half of it: no test
// takes that long, and a TTL taken from elsewhere (the loader's, the
// version's) would be off by more.
func expireRedis(t *testing.T, rdb redis.UniversalClient, key string, ttl time.Duration) {
	t.Helper()
	left, err := rdb.PTTL(t.Context(), key).Result()
	if err != nil {
		t.Fatal(err)
	}
	if left <= ttl/2 || left > ttl {
		t.Fatalf("%s has %v to live on the server, want at most %v and more than half of it", key, left, ttl)
	}
	if err := rdb.Del(t.Context(), key).Err(); err != nil {
		t.Fatal(err)
	}
}

func TestHashTag(t *testing.T) {
	groups := []string{"", "a", "}", "{", "{}", "a}b", "}a", "%", "%7d", "%25", "ü", "9f1c-uuid"}
	seen := make(map[string]string)
	for _, g := range groups {
		tag := hashTag(g)
		if tag == "" || strings.Contains(tag, "}") {
			t.Errorf("hashTag(%q) = %q: empty or ends the hash tag early", g, tag)
		}
		if prev, ok := seen[tag]; ok {
			t.Errorf("hashTag(%q) = hashTag(%q) = %q", g, prev, tag)
		}
		seen[tag] = g
	}
	if tag := hashTag("9f1c-uuid"); tag != "9f1c-uuid" {
		t.Errorf("hashTag of a plain id = %q, want it unchanged", tag)
	}
}

// TestRedisGroupKeysShareASlot asks the Cluster itself which slot each key
// of a group hashes to.
func TestRedisGroupKeysShareASlot(t *testing.T) {
	url := redistest.ClusterURL(t)
	client := openClient(t, url)
	r := NewRedis(client, RedisOptions{Prefix: redistest.Prefix(t, url)})
	slot := func(key string) int64 {
		t.Helper()
		n, err := client.Universal().ClusterKeySlot(t.Context(), key).Result()
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	for _, g := range []string{"", "}", "{", "{}", "}a", "a}b", "%", "ü", "0b7e8e2c-5d2a-4c1e-9b1a-0d6f7c3e9a11"} {
		v := slot(r.groupKey(g) + ":v")
		for _, k := range []string{"", "k", "}", "{x}"} {
			if e := slot(r.groupKey(g) + ":e:" + k); e != v {
				t.Errorf("group %q: entry %q in slot %d, version in slot %d", g, k, e, v)
			}
		}
		if hashTag(g) == g && slot(g) != v {
			t.Errorf("group %q: keys in slot %d, want the group's own slot %d", g, v, slot(g))
		}
	}
}

// TestRedisPrefixWithHashTag: a hash tag in the prefix puts every key in one
// Cluster slot, which costs balance but not correctness.
func TestRedisPrefixWithHashTag(t *testing.T) {
	url := redistest.ClusterURL(t)
	c := New(NewRedis(openClient(t, url), RedisOptions{Prefix: redistest.Prefix(t, url) + "{tagged}:"}), Options{})
	load, calls := counting("v", time.Minute)
	get(t, c, "u1", "k", load)
	get(t, c, "u1", "k", load)
	if err := c.Invalidate(t.Context(), "u1"); err != nil {
		t.Fatal(err)
	}
	get(t, c, "u1", "k", load)
	if n := calls.Load(); n != 2 {
		t.Fatalf("load called %d times, want 2 (hit, then a miss after Invalidate)", n)
	}
}

func TestRedisFlushedServerMisses(t *testing.T) {
	srv := redistest.StartServer(t)
	c := New(NewRedis(openClient(t, srv.URL()), RedisOptions{}), Options{})
	get(t, c, "u1", "k", constant("old"))
	srv.Flush()
	load, calls := counting("new", time.Minute)
	for range 2 {
		if got := get(t, c, "u1", "k", load); got != "new" {
			t.Fatalf("Get after FLUSHALL = %q, want new", got)
		}
	}
	if n := calls.Load(); n != 1 {
		t.Fatalf("load called %d times after FLUSHALL, want 1 (a miss, then a hit)", n)
	}
	if err := c.Invalidate(t.Context(), "u1"); err != nil {
		t.Fatal(err)
	}
	if get(t, c, "u1", "k", constant("newer")) != "newer" {
		t.Fatal("Invalidate after FLUSHALL did not drop the entry")
	}
}

// TestRedisServerDown kills the server: Get must keep answering from the
// loader without errors (the client's own tests show that a degraded client
// fails fast without touching the network), and caching must resume once the
// server is back.
func TestRedisServerDown(t *testing.T) {
	srv := redistest.StartServer(t)
	client := openClient(t, srv.URL())
	reg := prometheus.NewRegistry()
	c := New(NewRedis(client, RedisOptions{}), Options{Registerer: reg})
	get(t, c, "u1", "k", constant("cached"))
	srv.Stop()

	load, calls := counting("loaded", time.Minute)
	for range 5 {
		if got := get(t, c, "u1", "k", load); got != "loaded" {
			t.Fatalf("Get while Redis is down = %q, want loaded", got)
		}
	}
	if n := calls.Load(); n != 5 {
		t.Fatalf("load called %d times while Redis is down, want 5", n)
	}
	if err := c.Invalidate(t.Context(), "u1"); err != nil {
		t.Fatalf("Invalidate while Redis is down: %v", err)
	}
	if client.Up() {
		t.Fatal("client still up after the server died")
	}
	if n := counter(t, reg, "error"); n != 5 {
		t.Errorf("error count = %v, want 5", n)
	}

	srv.Start()
	waitUp(t, client)
	load, calls = counting("fresh", time.Minute)
	get(t, c, "u1", "k", load)
	get(t, c, "u1", "k", load)
	if n := calls.Load(); n != 1 {
		t.Fatalf("load called %d times after recovery, want 1 (caching resumed)", n)
	}
}

// TestRedisReplaysInvalidations forces the client degraded while Redis keeps
// its data, so the stale entry is still there when the client comes back:
// only the replayed invalidation keeps the other replica from serving it.
func TestRedisReplaysInvalidations(t *testing.T) {
	for _, top := range topologies {
		t.Run(top.name, func(t *testing.T) {
			t.Parallel()
			url := top.url(t)
			prefix := redistest.Prefix(t, url)
			client := openClient(t, url)
			a := New(NewRedis(client, RedisOptions{Prefix: prefix}), Options{})
			b := New(NewRedis(openClient(t, url), RedisOptions{Prefix: prefix}), Options{})
			get(t, a, "u1", "k", constant("old"))

			client.MarkDown(errors.New("test: outage"))
			if err := a.Invalidate(t.Context(), "u1"); err != nil {
				t.Fatalf("Invalidate while degraded: %v", err)
			}
			if client.Up() {
				t.Fatal("client recovered before the test could queue an invalidation")
			}
			load, calls := counting("new", time.Minute)
			if got := get(t, a, "u1", "k", load); got != "new" || calls.Load() != 1 {
				t.Fatalf("Get while degraded = %q after %d loads, want new, loaded", got, calls.Load())
			}

			waitUp(t, client)
			if got := get(t, b, "u1", "k", load); got != "new" || calls.Load() != 2 {
				t.Fatalf("replica Get after recovery = %q after %d loads: the stale entry survived", got, calls.Load())
			}
		})
	}
}

// TestRedisReplayOverflowDropsEverything queues more groups than the bound:
// recovery must then drop every entry under the prefix, and nothing else.
func TestRedisReplayOverflowDropsEverything(t *testing.T) {
	for _, top := range topologies {
		t.Run(top.name, func(t *testing.T) {
			t.Parallel()
			url := top.url(t)
			prefix := redistest.Prefix(t, url)
			client := openClient(t, url)
			ra := NewRedis(client, RedisOptions{Prefix: prefix, MaxPending: 2})
			a := New(ra, Options{})
			b := New(NewRedis(openClient(t, url), RedisOptions{Prefix: prefix}), Options{})
			groups := []string{"g0", "g1", "g2", "untouched", "ü}"}
			for _, g := range groups {
				get(t, a, g, "k", constant("old"))
			}
			other := prefix + "not-cache"
			if err := client.Universal().Set(t.Context(), other, "keep", time.Minute).Err(); err != nil {
				t.Fatal(err)
			}

			client.MarkDown(errors.New("test: outage"))
			for _, g := range groups[:3] {
				if err := a.Invalidate(t.Context(), g); err != nil {
					t.Fatalf("Invalidate while degraded: %v", err)
				}
			}
			ra.pending.mu.Lock()
			all := ra.pending.all
			ra.pending.mu.Unlock()
			if !all || client.Up() {
				t.Fatalf("after 3 queued invalidations with MaxPending 2: overflowed = %v, up = %v; want true, false", all, client.Up())
			}

			waitUp(t, client)
			for _, g := range groups {
				load, calls := counting("new", time.Minute)
				get(t, b, g, "k", load)
				get(t, b, g, "k", load)
				if n := calls.Load(); n != 1 {
					t.Errorf("group %q loaded %d times after recovery, want 1 (dropped, then cached again)", g, n)
				}
			}
			if v, err := client.Universal().Get(t.Context(), other).Result(); v != "keep" {
				t.Errorf("key outside the cache after recovery = %q, %v; want it kept", v, err)
			}
		})
	}
}

// TestRedisDeliversLateQueuedInvalidation covers an Invalidate that saw the
// client degraded and queued its group after the recovery hook had emptied
// the queue: the next operation of that replica delivers it.
func TestRedisDeliversLateQueuedInvalidation(t *testing.T) {
	url := redistest.URL(t)
	prefix := redistest.Prefix(t, url)
	ra := NewRedis(openClient(t, url), RedisOptions{Prefix: prefix})
	a := New(ra, Options{})
	b := New(NewRedis(openClient(t, url), RedisOptions{Prefix: prefix}), Options{})
	get(t, a, "u1", "k", constant("old"))
	ra.pending.add("u1")
	get(t, a, "u2", "k", constant("any"))
	if got := get(t, b, "u1", "k", constant("new")); got != "new" {
		t.Fatalf("replica Get = %q: the queued invalidation was not delivered", got)
	}
}

// TestRedisRepairsBadVersions puts versions in the way that INCR can't
// handle: Get must still answer, and Invalidate must make the group usable
// again (by deleting the version).
func TestRedisRepairsBadVersions(t *testing.T) {
	url := redistest.URL(t)
	client := openClient(t, url)
	r := NewRedis(client, RedisOptions{Prefix: redistest.Prefix(t, url)})
	c := New(r, Options{})
	rdb := client.Universal()
	for _, tc := range []struct {
		name string
		set  func(ctx context.Context, key string) error
	}{
		{"not a number", func(ctx context.Context, key string) error { return rdb.Set(ctx, key, "x", time.Minute).Err() }},
		{"wrong type", func(ctx context.Context, key string) error {
			if err := rdb.Del(ctx, key).Err(); err != nil {
				return err
			}
			return rdb.HSet(ctx, key, "f", "v").Err()
		}},
		{"at the int64 limit", func(ctx context.Context, key string) error {
			return rdb.Set(ctx, key, "9223372036854775807", time.Minute).Err()
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			group := tc.name
			get(t, c, group, "k", constant("old"))
			if err := tc.set(t.Context(), r.groupKey(group)+":v"); err != nil {
				t.Fatal(err)
			}
			if got := get(t, c, group, "k", constant("loaded")); got != "loaded" && got != "old" {
				t.Fatalf("Get with a bad version = %q", got)
			}
			get(t, c, group, "k", constant("cached"))
			if err := c.Invalidate(t.Context(), group); err != nil {
				t.Fatal(err)
			}
			if !client.Up() {
				t.Fatal("Invalidate of a bad version put the client into degraded mode")
			}
			load, calls := counting("new", time.Minute)
			get(t, c, group, "k", load)
			if got := get(t, c, group, "k", load); got != "new" || calls.Load() != 1 {
				t.Fatalf("Get after Invalidate = %q after %d loads, want new cached after 1", got, calls.Load())
			}
		})
	}
}

// openClient opens a client on url, closed when the test ends. Shared servers
// must be up.
func openClient(tb testing.TB, url string) *redisconn.Client {
	tb.Helper()
	client, err := redisconn.Open(tb.Context(), redisconn.Options{URL: url, ProbeInterval: 200 * time.Millisecond})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { client.Close() })
	return client
}

// waitUp waits until client has left degraded mode. Redis is another
// process, so the wait is bounded: a generous bound that only a broken
// recovery reaches.
func waitUp(tb testing.TB, client *redisconn.Client) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(tb.Context(), 10*time.Second)
	defer cancel()
	if err := client.WaitUp(ctx); err != nil {
		tb.Fatalf("client still degraded after 10s: %v", err)
	}
}
