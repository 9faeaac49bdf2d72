package ratelimit_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/talentforge/authd/internal/auth"
	"github.com/talentforge/authd/internal/ratelimit"
)

func TestMemory(t *testing.T) {
	testLimiter(t, func(t *testing.T, now func() time.Time) limiter {
		return ratelimit.NewMemory(ratelimit.MemoryOptions{Now: now})
	})
}

func TestMemoryForgetsExpiredKeys(t *testing.T) {
	clk := newClock()
	m := ratelimit.NewMemory(ratelimit.MemoryOptions{Now: clk.Now})
	check(t, m, strict, "a", 1, ok(4))
	check(t, m, login, "b", 1, ok(4))
	check(t, m, login, "b", -1, ok(5)) // full again: nothing to keep
	if n := m.Len(); n != 1 {
		t.Fatalf("Len = %d, want 1", n)
	}
	// A lockout's strikes keep the key for StrikeMemory.
	exhaust(t, m, strict, "c")
	check(t, m, strict, "c", 1, no(0, 3*time.Minute))
	clk.Advance(time.Hour)
	check(t, m, strict, "a", 0, ok(5))
	check(t, m, strict, "c", 0, ok(5))
	if n := m.Len(); n != 2 {
		t.Fatalf("Len = %d, want 2 (a not yet swept, c remembered)", n)
	}
}

func TestMemoryBounded(t *testing.T) {
	clk := newClock()
	m := ratelimit.NewMemory(ratelimit.MemoryOptions{Now: clk.Now, MaxKeys: 10})
	ctx := context.Background()
	for i := range 10 {
		check(t, m, login, string(rune('a'+i)), 1, ok(4))
	}
	// Expired keys go first.
	clk.Advance(time.Hour)
	check(t, m, login, "new", 1, ok(4))
	if n := m.Len(); n != 1 {
		t.Fatalf("Len = %d after sweeping expired keys, want 1", n)
	}
	// Then arbitrary ones, but never beyond MaxKeys.
	for i := range 1000 {
		if _, err := m.Allow(ctx, login, string(rune(0x100+i)), 1); err != nil {
			t.Fatal(err)
		}
		if n := m.Len(); n > 10 {
			t.Fatalf("Len = %d, want at most MaxKeys = 10", n)
		}
	}
	// The key just stored is kept.
	check(t, m, login, "last", 5, ok(0))
	check(t, m, login, "last", 1, no(0, 3*time.Minute))
}

// TestMeteredCountsBatchRefusals: refusals made through AllowAll and Batch
// are counted per rule as Allow's are; asks and give-backs are not.
func TestMeteredCountsBatchRefusals(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := ratelimit.NewMetered(ratelimit.NewMemory(ratelimit.MemoryOptions{Now: newClock().Now}), reg)
	exhaust(t, m, strict, "k")
	allowAll(t, m, []auth.LimitOp{take(login, "k", 1), take(strict, "k", 1)}, ok(4), no(0, 3*time.Minute))
	batch(t, m, []auth.LimitOp{take(strict, "k", 1), take(strict, "k", 0), take(login, "k", -1)}, no(0, 3*time.Minute), no(0, 3*time.Minute), ok(5))
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			got[m.GetLabel()[0].GetValue()] = m.GetCounter().GetValue()
		}
	}
	if diff := cmp.Diff(map[string]float64{strict.Name: 2}, got); diff != "" {
		t.Fatalf("authd_rate_limited_total (-want +got):\n%s", diff)
	}
}
