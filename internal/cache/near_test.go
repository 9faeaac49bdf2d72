package cache

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// TestNearContract runs the Backend contract against Near in front of the
// in-process backend, with the feed's part played by the test: live from
// the start, and nothing reported but what Near does itself.
func TestNearContract(t *testing.T) {
	testBackend(t, func(t *testing.T) fixture {
		now := newClock()
		mem := NewMemory(MemoryOptions{Now: now.Now})
		n := NewNear(mem, NearOptions{Now: now.Now, MaxAge: time.Hour})
		n.Start()
		return fixture{
			backend: n,
			replica: n,
			// The shared entry expires; Near's copy, the same value under
			// the same version, may outlive it up to MaxAge, which its own
			// test checks: here it goes too, so the contract sees the
			// shared backend's expiry.
			expire: func(t *testing.T, group, key string, ttl time.Duration) {
				now.Advance(ttl)
				n.Flush()
			},
		}
	})
}

// counted is a Backend that counts the calls that reach it, and can hold
// a Get at a fixed point (after the read, before it returns).
type counted struct {
	Backend
	gets     atomic.Int64
	afterGet func()
}

func (c *counted) Get(ctx context.Context, group, key string) (Lookup, error) {
	c.gets.Add(1)
	l, err := c.Backend.Get(ctx, group, key)
	if c.afterGet != nil {
		c.afterGet()
	}
	return l, err
}

func newNearOverMemory(t *testing.T, opts NearOptions) (*Near, *counted, *Cache) {
	t.Helper()
	inner := &counted{Backend: NewMemory(MemoryOptions{})}
	n := NewNear(inner, opts)
	return n, inner, New(n, Options{})
}

func TestNearServesFromMemoryOnlyWhileLive(t *testing.T) {
	n, inner, c := newNearOverMemory(t, NearOptions{})
	get(t, c, "u1", "k", constant("v"))
	get(t, c, "u1", "k", constant("unexpected load"))
	if got := inner.gets.Load(); got != 2 {
		t.Fatalf("before Start: %d Gets reached the shared backend, want 2 (memory is not served)", got)
	}

	n.Start()
	for range 3 {
		if got := get(t, c, "u1", "k", constant("unexpected load")); got != "v" {
			t.Fatalf("Get = %q, want v", got)
		}
	}
	if got := inner.gets.Load(); got != 3 {
		t.Fatalf("live: %d Gets reached the shared backend, want 3 (one, then memory)", got)
	}

	n.Stop()
	get(t, c, "u1", "k", constant("unexpected load"))
	if got := inner.gets.Load(); got != 4 {
		t.Fatalf("after Stop: %d Gets reached the shared backend, want 4", got)
	}
	if s := n.Stats(); s.Live || s.Hits != 2 {
		t.Fatalf("stats %+v, want not live and 2 hits", s)
	}
}

func TestNearReportDropsTheGroup(t *testing.T) {
	n, inner, c := newNearOverMemory(t, NearOptions{})
	n.Start()
	get(t, c, "u1", "k", constant("a"))
	get(t, c, "u2", "k", constant("b"))
	n.Report(hashTag("u1"))
	before := inner.gets.Load()
	get(t, c, "u1", "k", constant("unexpected load"))
	get(t, c, "u2", "k", constant("unexpected load"))
	if got := inner.gets.Load() - before; got != 1 {
		t.Fatalf("%d Gets reached the shared backend after a report of u1, want 1 (u1's)", got)
	}
}

// TestNearDoesNotKeepAReadOvertakenByAReport holds a read from the shared
// backend after it has read, reports its group (as the feed does when
// another replica writes), then lets it finish: what it read must not be
// kept, or the report would be lost.
func TestNearDoesNotKeepAReadOvertakenByAReport(t *testing.T) {
	for _, tc := range []struct {
		name   string
		during func(n *Near)
	}{
		{"report", func(n *Near) { n.Report(hashTag("u1")) }},
		{"restart", func(n *Near) { n.Start() }},
		{"flush", func(n *Near) { n.Flush() }},
		{"stop and start", func(n *Near) { n.Stop(); n.Start() }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n, inner, c := newNearOverMemory(t, NearOptions{})
			n.Start()
			get(t, c, "u1", "k", constant("v")) // in the shared backend and in memory
			n.Report(hashTag("u1"))             // memory dropped; the shared entry stays
			inner.afterGet = func() {
				inner.afterGet = nil
				tc.during(n)
			}
			get(t, c, "u1", "k", constant("unexpected load"))
			before := inner.gets.Load()
			get(t, c, "u1", "k", constant("unexpected load"))
			if inner.gets.Load() == before {
				t.Fatal("a value read before a report of its group was kept and served from memory")
			}
			// The next read, with nothing in between, is kept.
			before = inner.gets.Load()
			get(t, c, "u1", "k", constant("unexpected load"))
			if inner.gets.Load() != before {
				t.Fatal("a read with no report in between was not kept")
			}
		})
	}
}

func TestNearInvalidateIsImmediateOnItsOwnReplica(t *testing.T) {
	n, _, c := newNearOverMemory(t, NearOptions{})
	n.Start()
	get(t, c, "u1", "k", constant("old"))
	if err := c.Invalidate(t.Context(), "u1"); err != nil {
		t.Fatal(err)
	}
	if got := get(t, c, "u1", "k", constant("new")); got != "new" {
		t.Fatalf("Get after Invalidate = %q, want new", got)
	}
}

func TestNearMaxAge(t *testing.T) {
	now := newClock()
	n, inner, c := newNearOverMemory(t, NearOptions{MaxAge: time.Minute, Now: now.Now})
	n.Start()
	get(t, c, "u1", "k", constant("v"))
	now.Advance(time.Minute - time.Nanosecond)
	get(t, c, "u1", "k", constant("unexpected load"))
	if got := inner.gets.Load(); got != 1 {
		t.Fatalf("%d Gets reached the shared backend within MaxAge, want 1", got)
	}
	now.Advance(time.Nanosecond)
	get(t, c, "u1", "k", constant("unexpected load"))
	if got := inner.gets.Load(); got != 2 {
		t.Fatalf("%d Gets reached the shared backend at MaxAge, want 2", got)
	}
}

func TestNearStaysWithinMaxBytes(t *testing.T) {
	const maxBytes = 64 << 10
	n, _, c := newNearOverMemory(t, NearOptions{MaxBytes: maxBytes})
	n.Start()
	value := strings.Repeat("x", 500)
	for i := range 2000 { // 1 MB of values
		g := "user-" + time.Duration(i).String()
		get(t, c, g, "k", constant(value))
		get(t, c, g, "k", constant(value))
	}
	total := 0
	for i := range n.shards {
		sh := &n.shards[i]
		if sh.bytes > n.budget {
			t.Fatalf("shard %d holds %d bytes, over its budget of %d", i, sh.bytes, n.budget)
		}
		counted := 0
		for tag, g := range sh.groups {
			counted += len(tag)
			for k, e := range g.entries {
				counted += len(k) + len(e.value)
			}
		}
		if counted != sh.bytes {
			t.Fatalf("shard %d counts %d bytes but holds %d", i, sh.bytes, counted)
		}
		total += counted
	}
	if total == 0 || total > maxBytes {
		t.Fatalf("%d bytes kept, want some and at most %d", total, maxBytes)
	}
}

func TestNearReturnsACopy(t *testing.T) {
	n, _, c := newNearOverMemory(t, NearOptions{})
	n.Start()
	get(t, c, "u1", "k", constant("value"))
	v, err := c.Get(t.Context(), "u1", "k", constant("unexpected load"))
	if err != nil {
		t.Fatal(err)
	}
	copy(v, "XXXXX")
	if got := get(t, c, "u1", "k", constant("unexpected load")); got != "value" {
		t.Fatalf("Get after the caller changed a returned slice = %q, want value", got)
	}
}

func TestFeedApply(t *testing.T) {
	n, inner, c := newNearOverMemory(t, NearOptions{})
	f := &Feed{near: n, prefix: "p:c:"}
	n.Start()
	warm := func() {
		t.Helper()
		get(t, c, "u1", "k", constant("v"))
		get(t, c, "u2", "k", constant("v"))
	}
	fromMemory := func(group string) bool {
		t.Helper()
		before := inner.gets.Load()
		get(t, c, group, "k", constant("v"))
		return inner.gets.Load() == before
	}
	for _, tc := range []struct {
		key    string
		u1, u2 bool // still served from memory afterwards
	}{
		{"p:c:{u1}:v", false, true},      // u1's version changed
		{"p:c:{u1}:e:s:abc", true, true}, // an entry: nothing changes
		{"p:c:{u1}:e:x}:v", true, true},  // still an entry, whatever its key holds
		{"p:c:{u1}:x", false, false},     // not authd's shape: everything goes
		{"p:c:u1", false, false},
		{"p:c:{u1", false, false},
	} {
		warm()
		warm()
		f.apply(tc.key)
		if u1, u2 := fromMemory("u1"), fromMemory("u2"); u1 != tc.u1 || u2 != tc.u2 {
			t.Errorf("after a report of %q: u1 served from memory %v, u2 %v; want %v, %v", tc.key, u1, u2, tc.u1, tc.u2)
		}
	}
}
