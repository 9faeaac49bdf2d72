package cache

import (
	"fmt"
	"runtime"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/talentforge/authd/internal/redisconn"
	"github.com/talentforge/authd/internal/redisconn/redistest"
)

// nearReplica is one authd replica's cache tier: its own Redis client, a
// Near in front of the shared Redis backend, and the feed keeping it
// current.
type nearReplica struct {
	client *redisconn.Client
	near   *Near
	feed   *Feed
	cache  *Cache
}

func startNearReplica(t *testing.T, url, prefix string, interval time.Duration) *nearReplica {
	t.Helper()
	client := openClient(t, url)
	n := NewNear(NewRedis(client, RedisOptions{Prefix: prefix}), NearOptions{})
	f, ok := StartFeed(client, n, FeedOptions{Prefix: prefix, Interval: interval})
	if !ok {
		t.Fatal("StartFeed refused a standalone Redis")
	}
	t.Cleanup(func() { f.Close() })
	r := &nearReplica{client: client, near: n, feed: f, cache: New(n, Options{})}
	r.waitLive(t, true)
	return r
}

// waitLive waits until the feed is (or is no longer) live. The feed talks
// to another process, so the wait is bounded: a generous bound only a
// broken feed reaches.
func (r *nearReplica) waitLive(t *testing.T, live bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for r.near.Stats().Live != live {
		if time.Now().After(deadline) {
			t.Fatalf("feed live = %v after 10s, want %v", !live, live)
		}
		time.Sleep(time.Millisecond)
	}
}

// fromMemory reports whether a Get of group/k is answered without Redis.
func (r *nearReplica) fromMemory(t *testing.T, group string) bool {
	t.Helper()
	before := r.near.Stats().Hits
	get(t, r.cache, group, "k", constant("v"))
	return r.near.Stats().Hits > before
}

// warm reads group/k until it is served from memory. A read is not kept
// when a report of its group arrives while it runs, and the creation of
// the group's version (by the first read, on either replica) is reported
// too, later than the read that caused it; so the wait is bounded, not a
// fixed number of reads.
func (r *nearReplica) warm(t *testing.T, group string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !r.fromMemory(t, group) {
		if time.Now().After(deadline) {
			t.Fatalf("%s is not served from memory after 5s of reads", group)
		}
	}
}

// TestFeedPropagation is the two-replica revocation test: B holds a group
// in memory, A invalidates it, and the time until B no longer serves it is
// measured over 1,000 trials. A itself must refuse the old entry at once.
// The figures are logged (go test -v); the test fails only past the
// feed's health-check bound, which no healthy feed comes near.
func TestFeedPropagation(t *testing.T) {
	url := redistest.URL(t)
	prefix := redistest.Prefix(t, url)
	a := startNearReplica(t, url, prefix, time.Second)
	b := startNearReplica(t, url, prefix, time.Second)
	const trials = 1000
	bound := 3 * time.Second
	lags := make([]time.Duration, 0, trials)
	for i := range trials {
		group := fmt.Sprintf("user-%d", i)
		get(t, a.cache, group, "k", constant("old"))
		b.warm(t, group)
		if err := a.cache.Invalidate(t.Context(), group); err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		if got := get(t, a.cache, group, "k", constant("new")); got != "new" {
			t.Fatalf("trial %d: A serves %q right after its own Invalidate, want new", i, got)
		}
		for {
			l, err := b.near.Get(t.Context(), group, "k")
			if err != nil {
				t.Fatal(err)
			}
			if !l.Hit || string(l.Value) == "new" {
				break
			}
			if time.Since(start) > bound {
				t.Fatalf("trial %d: B still served the old entry %v after A's Invalidate", i, bound)
			}
			runtime.Gosched()
		}
		lags = append(lags, time.Since(start))
	}
	slices.Sort(lags)
	t.Logf("invalidation on A refused on B after: p50 %v, p99 %v, max %v (%d trials)",
		lags[trials/2], lags[trials*99/100], lags[trials-1], trials)
	if s := b.near.Stats(); s.Reports < trials {
		t.Errorf("B's feed reported %d groups, want at least %d", s.Reports, trials)
	}
}

// TestFeedLoss cuts the feed's connection: the replica stops serving from
// memory, serves what Redis holds meanwhile, and comes back by itself,
// empty.
func TestFeedLoss(t *testing.T) {
	url := redistest.URL(t)
	prefix := redistest.Prefix(t, url)
	a := startNearReplica(t, url, prefix, 50*time.Millisecond)
	b := startNearReplica(t, url, prefix, 50*time.Millisecond)
	get(t, a.cache, "u1", "k", constant("old"))
	b.warm(t, "u1")

	id := b.feed.connID.Load()
	admin := openClient(t, url).Universal()
	if n, err := admin.ClientKillByFilter(t.Context(), "ID", fmt.Sprint(id)).Result(); err != nil || n != 1 {
		t.Fatalf("CLIENT KILL ID %d = %d, %v", id, n, err)
	}
	b.waitLive(t, false)
	// Reports made now reach nobody; B must not serve its memory.
	if err := a.cache.Invalidate(t.Context(), "u1"); err != nil {
		t.Fatal(err)
	}
	if got := get(t, b.cache, "u1", "k", constant("new")); got != "new" {
		t.Fatalf("B serves %q while its feed is down, want new", got)
	}
	b.waitLive(t, true)
	if b.feed.connID.Load() == id {
		t.Fatal("the feed came back on the killed connection's id")
	}
	b.warm(t, "u1")
	if got := get(t, b.cache, "u1", "k", constant("unexpected load")); got != "new" {
		t.Fatalf("B serves %q after its feed came back, want new", got)
	}
}

func TestFeedNotOnCluster(t *testing.T) {
	url := redistest.ClusterURL(t)
	client := openClient(t, url)
	n := NewNear(NewRedis(client, RedisOptions{}), NearOptions{})
	if f, ok := StartFeed(client, n, FeedOptions{}); ok {
		f.Close()
		t.Fatal("StartFeed started a feed on a Redis Cluster, which needs one per node")
	}
	if n.Stats().Live {
		t.Fatal("Near serves memory without a feed")
	}
}

// TestFeedThroughSentinel: replicas that reach Redis through a Sentinel
// keep their memory current too (the feed connects to the master the
// Sentinel names).
func TestFeedThroughSentinel(t *testing.T) {
	master := redistest.StartTCPServer(t)
	port := redistest.StartSentinel(t, master)
	url := "redis://127.0.0.1:" + strconv.Itoa(port) + "?master_name=mymaster"
	a := startNearReplica(t, url, "authd:", 50*time.Millisecond)
	b := startNearReplica(t, url, "authd:", 50*time.Millisecond)
	get(t, a.cache, "u1", "k", constant("old"))
	b.warm(t, "u1")
	if err := a.cache.Invalidate(t.Context(), "u1"); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		l, err := b.near.Get(t.Context(), "u1", "k")
		if err != nil {
			t.Fatal(err)
		}
		if !l.Hit {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("B still serves the entry A invalidated, 5s later")
		}
		runtime.Gosched()
	}
}

// TestFeedSurvivesRedisLosingItsData: a FLUSHALL (reported to the feed
// as a flush of every key) and a restart that loses everything (the feed's
// connection dies with the server) each empty the replica's memory, and
// the feed comes back by itself.
func TestFeedSurvivesRedisLosingItsData(t *testing.T) {
	srv := redistest.StartServer(t)
	r := startNearReplica(t, srv.URL(), "authd:", 50*time.Millisecond)
	for _, lose := range []struct {
		name string
		do   func()
	}{{"flushall", srv.Flush}, {"restart", srv.Restart}} {
		get(t, r.cache, "u1", "k", constant("old"))
		r.warm(t, "u1")
		lose.do()
		// Redis lost the entry and its version, so a read that reaches it
		// loads "new"; memory that was not emptied keeps answering "old"
		// for a minute (MaxAge), past this bound.
		deadline := time.Now().Add(5 * time.Second)
		for {
			v, err := r.cache.Get(t.Context(), "u1", "k", constant("new"))
			if err == nil && string(v) == "new" {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: Get = %q, %v 5s later; want new", lose.name, v, err)
			}
			time.Sleep(time.Millisecond)
		}
		r.waitLive(t, true)
		waitUp(t, r.client)
		if err := r.cache.Invalidate(t.Context(), "u1"); err != nil {
			t.Fatal(err)
		}
	}
}
