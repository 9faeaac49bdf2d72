package cache

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// fixture is one backend under test, as the contract suite sees it.
type fixture struct {
	backend Backend
	// replica shares backend's storage as another authd process would
	// (for Memory, which has no replicas, it is backend itself).
	replica Backend
	// expire checks that the entry of group and key, just filled, is kept
	// for ttl on the backend's clock, and then ends it as that clock would
	// once ttl has passed. Memory, whose clock the test holds, sees the
	// entry served until the last nanosecond of ttl; Redis, whose clock is
	// the server's, is asked for the TTL it holds, which it must have
	// received from the fill, and then loses the entry as expiry would.
	expire func(t *testing.T, group, key string, ttl time.Duration)
}

// testBackend is the contract every Backend passes, checked through Cache.
// open returns a fresh, empty fixture for each subtest.
func testBackend(t *testing.T, open func(t *testing.T) fixture) {
	tests := []struct {
		name string
		run  func(t *testing.T, f fixture)
	}{
		{"MissLoadsThenHits", testMissThenHit},
		{"EmptyValueIsCached", testEmptyValue},
		{"ZeroTTLIsNotCached", testZeroTTL},
		{"EntriesExpire", testExpiry},
		{"TTLIsCappedAtMaxTTL", testMaxTTL},
		{"InvalidateDropsOnlyTheGroup", testInvalidateGroup},
		{"InvalidateReachesReplicas", testInvalidateReplica},
		{"InvalidateIgnoresCancellation", testInvalidateCancelled},
		{"LoadRacingInvalidateIsNotCached", testLoadRacingInvalidate},
		{"FillWithOldVersionIsRefused", testStaleFill},
		{"LoadErrorsAreReturnedNotCached", testLoadError},
		{"OddGroupsAndKeys", testOddNames},
		{"ConcurrentReadersNeverSeeInvalidatedValues", testConcurrent},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.run(t, open(t))
		})
	}
}

func testMissThenHit(t *testing.T, f fixture) {
	c := New(f.backend, Options{})
	load, calls := counting("profile-1", time.Minute)
	for range 3 {
		if got := get(t, c, "u1", "profile", load); got != "profile-1" {
			t.Fatalf("Get = %q, want profile-1", got)
		}
	}
	if n := calls.Load(); n != 1 {
		t.Fatalf("load called %d times, want 1", n)
	}
	// The caller owns the returned slice: writing to it changes no entry.
	v, err := c.Get(t.Context(), "u1", "profile", load)
	if err != nil {
		t.Fatal(err)
	}
	copy(v, "XXXX")
	if got := get(t, c, "u1", "profile", load); got != "profile-1" {
		t.Fatalf("Get after modifying a returned value = %q", got)
	}
}

func testEmptyValue(t *testing.T, f fixture) {
	c := New(f.backend, Options{})
	load, calls := counting("", time.Minute)
	get(t, c, "u1", "k", load)
	if got := get(t, c, "u1", "k", load); got != "" || calls.Load() != 1 {
		t.Fatalf("Get = %q after %d loads, want an empty hit after 1", got, calls.Load())
	}
}

func testZeroTTL(t *testing.T, f fixture) {
	c := New(f.backend, Options{})
	for _, ttl := range []time.Duration{0, -time.Second} {
		key := "ttl" + ttl.String()
		load, calls := counting("v", ttl)
		get(t, c, "u1", key, load)
		get(t, c, "u1", key, load)
		if n := calls.Load(); n != 2 {
			t.Errorf("TTL %v: load called %d times, want 2", ttl, n)
		}
	}
}

func testExpiry(t *testing.T, f fixture) {
	const ttl = 90 * time.Second
	c := New(f.backend, Options{})
	load, calls := counting("v", ttl)
	get(t, c, "u1", "k", load)
	get(t, c, "u1", "k", load)
	if n := calls.Load(); n != 1 {
		t.Fatalf("load called %d times before expiry, want 1", n)
	}
	f.expire(t, "u1", "k", ttl)
	get(t, c, "u1", "k", load)
	get(t, c, "u1", "k", load)
	if n := calls.Load(); n != 2 {
		t.Fatalf("load called %d times, want 2 (once more after expiry, then cached again)", n)
	}
}

func testMaxTTL(t *testing.T, f fixture) {
	const maxTTL = 2 * time.Minute
	c := New(f.backend, Options{MaxTTL: maxTTL})
	load, calls := counting("v", time.Hour)
	get(t, c, "u1", "k", load)
	get(t, c, "u1", "k", load)
	if n := calls.Load(); n != 1 {
		t.Fatalf("load called %d times before MaxTTL, want 1", n)
	}
	// The entry is kept for MaxTTL, not for the hour the loader asked.
	f.expire(t, "u1", "k", maxTTL)
	get(t, c, "u1", "k", load)
	if n := calls.Load(); n != 2 {
		t.Fatalf("load called %d times after MaxTTL, want 2", n)
	}
}

func testInvalidateGroup(t *testing.T, f fixture) {
	c := New(f.backend, Options{})
	type pair struct{ group, key string }
	pairs := []pair{{"u1", "a"}, {"u1", "b"}, {"u2", "a"}, {"u10", "a"}}
	loads := make(map[pair]loadFunc)
	calls := make(map[pair]*atomic.Int64)
	for _, p := range pairs {
		loads[p], calls[p] = counting(p.group+"/"+p.key, time.Minute)
		get(t, c, p.group, p.key, loads[p])
	}
	if err := c.Invalidate(t.Context(), "u1"); err != nil {
		t.Fatal(err)
	}
	for _, p := range pairs {
		get(t, c, p.group, p.key, loads[p])
		want := int64(1)
		if p.group == "u1" {
			want = 2
		}
		if n := calls[p].Load(); n != want {
			t.Errorf("%s/%s loaded %d times, want %d", p.group, p.key, n, want)
		}
	}
}

func testInvalidateReplica(t *testing.T, f fixture) {
	c := New(f.backend, Options{})
	other := New(f.replica, Options{})
	get(t, c, "u1", "k", constant("old"))
	if got := get(t, other, "u1", "k", constant("unexpected load")); got != "old" {
		t.Fatalf("replica Get = %q, want the shared entry", got)
	}
	if err := other.Invalidate(t.Context(), "u1"); err != nil {
		t.Fatal(err)
	}
	if got := get(t, c, "u1", "k", constant("new")); got != "new" {
		t.Fatalf("Get after the replica's Invalidate = %q, want new", got)
	}
}

func testInvalidateCancelled(t *testing.T, f fixture) {
	c := New(f.backend, Options{})
	get(t, c, "u1", "k", constant("old"))
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := c.Invalidate(ctx, "u1"); err != nil {
		t.Fatal(err)
	}
	load, calls := counting("new", time.Minute)
	get(t, c, "u1", "k", load)
	if got := get(t, c, "u1", "k", load); got != "new" || calls.Load() != 1 {
		t.Fatalf("Get after Invalidate with a cancelled context = %q after %d loads, want new cached after 1", got, calls.Load())
	}
}

// testLoadRacingInvalidate is the race the versions exist for: the database
// is read, a write commits and invalidates, and only then does the reader
// try to store what it read.
func testLoadRacingInvalidate(t *testing.T, f fixture) {
	for _, via := range []struct {
		name    string
		backend Backend
	}{{"same", f.backend}, {"replica", f.replica}} {
		t.Run(via.name, func(t *testing.T) {
			c := New(f.backend, Options{})
			writer := New(via.backend, Options{})
			group := "race-" + via.name
			got := get(t, c, group, "k", func(ctx context.Context) ([]byte, time.Duration, error) {
				if err := writer.Invalidate(ctx, group); err != nil {
					return nil, 0, err
				}
				return []byte("old"), time.Minute, nil
			})
			if got != "old" {
				t.Fatalf("racing Get = %q, want old (what it loaded)", got)
			}
			load, calls := counting("new", time.Minute)
			get(t, c, group, "k", load)
			if got := get(t, c, group, "k", load); got != "new" || calls.Load() != 1 {
				t.Fatalf("Get = %q after %d loads, want new after 1: the racing load was cached", got, calls.Load())
			}
		})
	}
}

func testStaleFill(t *testing.T, f fixture) {
	ctx := t.Context()
	l, err := f.backend.Get(ctx, "u1", "k")
	if err != nil {
		t.Fatal(err)
	}
	if l.Hit {
		t.Fatal("hit in an empty backend")
	}
	if err := f.backend.Invalidate(ctx, "u1"); err != nil {
		t.Fatal(err)
	}
	if ok, err := f.backend.Fill(ctx, "u1", "k", l.Version, []byte("old"), time.Minute); ok || err != nil {
		t.Fatalf("Fill with the version from before Invalidate = %v, %v; want false, nil", ok, err)
	}
	l, err = f.backend.Get(ctx, "u1", "k")
	if err != nil || l.Hit {
		t.Fatalf("Get = %+v, %v; want a miss", l, err)
	}
	if ok, err := f.backend.Fill(ctx, "u1", "k", l.Version, []byte("new"), time.Minute); !ok || err != nil {
		t.Fatalf("Fill with the current version = %v, %v; want true, nil", ok, err)
	}
	if l, err := f.backend.Get(ctx, "u1", "k"); err != nil || !l.Hit || string(l.Value) != "new" {
		t.Fatalf("Get = %+v, %v; want a hit on new", l, err)
	}
}

func testLoadError(t *testing.T, f fixture) {
	c := New(f.backend, Options{})
	boom := errors.New("database down")
	var calls int
	load := func(context.Context) ([]byte, time.Duration, error) {
		calls++
		return []byte("partial"), time.Minute, boom
	}
	for range 2 {
		// Identity, not errors.Is: the error must come back unwrapped.
		if v, err := c.Get(t.Context(), "u1", "k", load); err != boom || v != nil {
			t.Fatalf("Get = %q, %v; want nil, the load error as is", v, err)
		}
	}
	if calls != 2 {
		t.Fatalf("load called %d times, want 2 (errors are not cached)", calls)
	}
}

// testOddNames checks that groups and keys are opaque: braces, colons,
// glob and escape characters, unicode and empty strings neither collide nor
// split a group (on Cluster, over slots).
func testOddNames(t *testing.T, f fixture) {
	c := New(f.backend, Options{})
	groups := []string{"", "a", "}", "{", "{}", "a}b", "}a", "a}:e:k", "%", "%7d", "a:b:c",
		"*?[x]\\", "ünïcødé 🔑", "nul\x00byte"}
	keys := []string{"", "k", "}", "{x}", ":v", "k}:v", "*", "ключ"}
	want := func(g, k string) string { return strconv.Quote(g) + "/" + strconv.Quote(k) }
	check := func(invalidated string) {
		t.Helper()
		for _, g := range groups {
			for _, k := range keys {
				loaded := false
				got := get(t, c, g, k, func(context.Context) ([]byte, time.Duration, error) {
					loaded = true
					return []byte(want(g, k)), time.Minute, nil
				})
				if got != want(g, k) {
					t.Errorf("Get(%q, %q) = %q", g, k, got)
				}
				if loaded != (g == invalidated) {
					t.Errorf("Get(%q, %q) loaded = %v after invalidating %q", g, k, loaded, invalidated)
				}
			}
		}
	}
	for _, g := range groups {
		for _, k := range keys {
			get(t, c, g, k, constant(want(g, k)))
		}
	}
	check("none")
	for _, g := range []string{"}", ""} {
		if err := c.Invalidate(t.Context(), g); err != nil {
			t.Fatal(err)
		}
		check(g)
	}
}

// testConcurrent runs readers and writers on a counter standing for the
// database. A writer increments it, then invalidates; a reader must never get
// a value older than the last write whose Invalidate had returned before the
// reader's Get started.
func testConcurrent(t *testing.T, f fixture) {
	c := New(f.backend, Options{})
	other := New(f.replica, Options{})
	var (
		db        atomic.Int64
		committed atomic.Int64 // highest db value whose Invalidate returned
		wg        sync.WaitGroup
	)
	load := func(context.Context) ([]byte, time.Duration, error) {
		return strconv.AppendInt(nil, db.Load(), 10), time.Minute, nil
	}
	for i := range 20 {
		cache := c
		if i%2 == 1 {
			cache = other
		}
		wg.Go(func() {
			for j := range 100 {
				if i < 4 {
					v := db.Add(1)
					if err := cache.Invalidate(t.Context(), "u1"); err != nil {
						t.Error(err)
						return
					}
					raise(&committed, v)
					continue
				}
				floor := committed.Load()
				got, err := cache.Get(t.Context(), "u1", fmt.Sprint("k", j%2), load)
				if err != nil {
					t.Error(err)
					return
				}
				if n, _ := strconv.ParseInt(string(got), 10, 64); n < floor {
					t.Errorf("Get = %d, but the Invalidate after write %d had returned", n, floor)
					return
				}
			}
		})
	}
	wg.Wait()
}

// raise sets a to v unless it is already higher.
func raise(a *atomic.Int64, v int64) {
	for cur := a.Load(); cur < v; cur = a.Load() {
		if a.CompareAndSwap(cur, v) {
			return
		}
	}
}

type loadFunc = func(context.Context) ([]byte, time.Duration, error)

// get calls c.Get, failing the test on an error.
func get(tb testing.TB, c *Cache, group, key string, load loadFunc) string {
	tb.Helper()
	v, err := c.Get(tb.Context(), group, key, load)
	if err != nil {
		tb.Fatalf("Get(%q, %q): %v", group, key, err)
	}
	return string(v)
}

// counting returns a loader of value with ttl, and the number of its calls.
func counting(value string, ttl time.Duration) (loadFunc, *atomic.Int64) {
	var calls atomic.Int64
	return func(context.Context) ([]byte, time.Duration, error) {
		calls.Add(1)
		return []byte(value), ttl, nil
	}, &calls
}

// constant loads value for a minute.
func constant(value string) loadFunc {
	load, _ := counting(value, time.Minute)
	return load
}
