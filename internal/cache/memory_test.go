package cache

import (
	"strconv"
	"testing"
	"time"

	"github.com/talentforge/authd/internal/testclock"
)

func TestMemory(t *testing.T) {
	testBackend(t, func(t *testing.T) fixture {
		clk := newClock()
		m := NewMemory(MemoryOptions{Now: clk.Now})
		expire := func(t *testing.T, group, key string, ttl time.Duration) {
			t.Helper()
			clk.Advance(ttl - time.Nanosecond)
			if l, err := m.Get(t.Context(), group, key); err != nil || !l.Hit {
				t.Fatalf("entry %s/%s gone a nanosecond before its TTL of %v: %+v, %v", group, key, ttl, l, err)
			}
			clk.Advance(time.Nanosecond)
		}
		return fixture{backend: m, replica: m, expire: expire}
	})
}

func TestMemoryIsBounded(t *testing.T) {
	const limit = 16
	m := NewMemory(MemoryOptions{MaxEntries: limit})
	c := New(m, Options{})
	for i := range 10 * limit {
		get(t, c, strconv.Itoa(i%(3*limit)), strconv.Itoa(i), constant("v"))
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.entries) > limit || len(m.versions) > limit {
		t.Fatalf("%d entries, %d versions; want at most %d of each", len(m.entries), len(m.versions), limit)
	}
}

func TestMemoryEvictsExpiredEntriesFirst(t *testing.T) {
	clk := newClock()
	c := New(NewMemory(MemoryOptions{Now: clk.Now, MaxEntries: 4}), Options{})
	short, _ := counting("short", time.Second)
	for _, k := range []string{"s1", "s2"} {
		get(t, c, "u1", k, short)
	}
	long, calls := counting("long", time.Hour)
	for _, k := range []string{"l1", "l2"} {
		get(t, c, "u1", k, long)
	}
	clk.Advance(2 * time.Second)
	get(t, c, "u1", "l3", long) // full: the two expired entries make room
	for _, k := range []string{"l1", "l2", "l3"} {
		get(t, c, "u1", k, long)
	}
	if n := calls.Load(); n != 3 {
		t.Fatalf("long entries loaded %d times, want 3: a live entry was evicted before expired ones", n)
	}
}

func newClock() *testclock.Clock { return testclock.At(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)) }
