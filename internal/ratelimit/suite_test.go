package ratelimit_test

import (
	"context"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/talentforge/authd/internal/auth"
	"github.com/talentforge/authd/internal/ratelimit"
	"github.com/talentforge/authd/internal/testclock"
)

var (
	_ auth.Limiter = (*ratelimit.Memory)(nil)
	_ auth.Limiter = (*ratelimit.Redis)(nil)
	_ auth.Limiter = (*ratelimit.Memory)(nil)
)

// limiter is the method set every backend shares (auth.Limiter).
type limiter interface {
	Allow(ctx context.Context, rule auth.Rule, key string, cost int) (auth.Decision, error)
	Reset(ctx context.Context, rule auth.Rule, key string) error
	AllowAll(ctx context.Context, ops []auth.LimitOp) ([]auth.Decision, error)
	Batch(ctx context.Context, ops []auth.LimitOp) ([]auth.Decision, error)
}

// openFunc gives a subtest a fresh, empty limiter on the clock now.
type openFunc func(t *testing.T, now func() time.Time) limiter

var (
	login  = auth.Rule{Name: "login", Limit: 5, Period: 15 * time.Minute}
	strict = auth.Rule{Name: "strict", Limit: 5, Period: 15 * time.Minute, MaxLockout: time.Hour}
)

func ok(remaining int) auth.Decision {
	return auth.Decision{Allowed: true, Remaining: remaining}
}

func no(remaining int, retryAfter time.Duration) auth.Decision {
	return auth.Decision{Remaining: remaining, RetryAfter: retryAfter}
}

// check calls Allow and compares its decision with want.
func check(t *testing.T, l limiter, rule auth.Rule, key string, cost int, want auth.Decision) {
	t.Helper()
	got, err := l.Allow(context.Background(), rule, key, cost)
	if err != nil {
		t.Fatalf("Allow(%s, %q, %d): %v", rule.Name, key, cost, err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("Allow(%s, %q, %d) (-want +got):\n%s", rule.Name, key, cost, diff)
	}
}

// batch calls Batch and compares its decisions with want.
func batch(t *testing.T, l limiter, ops []auth.LimitOp, want ...auth.Decision) {
	t.Helper()
	got, err := l.Batch(context.Background(), ops)
	if err != nil {
		t.Fatalf("Batch(%+v): %v", ops, err)
	}
	if diff := cmp.Diff(want, got, cmpopts.EquateEmpty()); diff != "" {
		t.Fatalf("Batch(%+v) (-want +got):\n%s", ops, diff)
	}
}

// allowAll calls AllowAll and compares its decisions with want.
func allowAll(t *testing.T, l limiter, ops []auth.LimitOp, want ...auth.Decision) {
	t.Helper()
	got, err := l.AllowAll(context.Background(), ops)
	if err != nil {
		t.Fatalf("AllowAll(%+v): %v", ops, err)
	}
	if diff := cmp.Diff(want, got, cmpopts.EquateEmpty()); diff != "" {
		t.Fatalf("AllowAll(%+v) (-want +got):\n%s", ops, diff)
	}
}

func take(rule auth.Rule, key string, cost int) auth.LimitOp {
	return auth.LimitOp{Rule: rule, Key: key, Cost: cost}
}

func exhaust(t *testing.T, l limiter, rule auth.Rule, key string) {
	t.Helper()
	for i := range rule.Limit {
		check(t, l, rule, key, 1, ok(rule.Limit-1-i))
	}
}

func reset(t *testing.T, l limiter, rule auth.Rule, key string) {
	t.Helper()
	if err := l.Reset(context.Background(), rule, key); err != nil {
		t.Fatalf("Reset(%s, %q): %v", rule.Name, key, err)
	}
}

// testLimiter is the contract every backend must pass.
func testLimiter(t *testing.T, open openFunc) {
	// T = 15m / 5 = 3m for login and strict.
	tests := []struct {
		name string
		run  func(t *testing.T, l limiter, clk *testclock.Clock)
	}{
		{"burst then exact retry-after", func(t *testing.T, l limiter, clk *testclock.Clock) {
			exhaust(t, l, login, "k")
			check(t, l, login, "k", 1, no(0, 3*time.Minute))
			clk.Advance(90*time.Second + 500*time.Millisecond)
			check(t, l, login, "k", 1, no(0, 89500*time.Millisecond))
		}},
		{"refill one per interval", func(t *testing.T, l limiter, clk *testclock.Clock) {
			exhaust(t, l, login, "k")
			clk.Advance(3 * time.Minute)
			check(t, l, login, "k", 1, ok(0))
			check(t, l, login, "k", 1, no(0, 3*time.Minute))
			clk.Advance(7 * time.Minute)
			check(t, l, login, "k", 0, ok(2))
			clk.Advance(time.Hour)
			check(t, l, login, "k", 0, ok(5))
		}},
		{"cost above one", func(t *testing.T, l limiter, clk *testclock.Clock) {
			check(t, l, login, "k", 3, ok(2))
			check(t, l, login, "k", 3, no(2, 3*time.Minute))
			check(t, l, login, "k", 2, ok(0))
			if d, err := l.Allow(context.Background(), login, "k", 1000); err != nil || d.Allowed || d.RetryAfter <= 0 {
				t.Fatalf("cost above the limit: %+v, %v; want refused with a RetryAfter", d, err)
			}
		}},
		{"uneven period still bursts exactly limit", func(t *testing.T, l limiter, clk *testclock.Clock) {
			rule := auth.Rule{Name: "uneven", Limit: 3, Period: 10 * time.Second} // T = 3333ms
			exhaust(t, l, rule, "k")
			check(t, l, rule, "k", 1, no(0, 3333*time.Millisecond))
		}},
		{"peek does not consume", func(t *testing.T, l limiter, clk *testclock.Clock) {
			check(t, l, strict, "k", 0, ok(5))
			check(t, l, strict, "k", 0, ok(5))
			exhaust(t, l, strict, "k")
			for range 3 {
				check(t, l, strict, "k", 0, no(0, 3*time.Minute))
			}
			// The peeks struck nothing: this is the first lockout.
			check(t, l, strict, "k", 1, no(0, 3*time.Minute))
		}},
		{"give back restores one, never beyond full", func(t *testing.T, l limiter, clk *testclock.Clock) {
			check(t, l, login, "k", 1, ok(4))
			check(t, l, login, "k", 1, ok(3))
			check(t, l, login, "k", -1, ok(4))
			check(t, l, login, "k", -1, ok(5))
			check(t, l, login, "k", -1, ok(5))
			check(t, l, login, "k", -10, ok(5))
			exhaust(t, l, login, "k")
			check(t, l, login, "k", 1, no(0, 3*time.Minute))
			check(t, l, login, "k", -1, ok(1))
			check(t, l, login, "k", 1, ok(0))
			check(t, l, login, "k", 1, no(0, 3*time.Minute))
		}},
		{"lockouts double up to the maximum", func(t *testing.T, l limiter, clk *testclock.Clock) {
			exhaust(t, l, strict, "k")
			var got []time.Duration
			for range 7 {
				d := auth.Decision{Allowed: true}
				for d.Allowed {
					var err error
					if d, err = l.Allow(context.Background(), strict, "k", 1); err != nil {
						t.Fatal(err)
					}
				}
				got = append(got, d.RetryAfter)
				// Refused throughout, without extending the lockout.
				clk.Advance(d.RetryAfter / 2)
				rest := d.RetryAfter - d.RetryAfter/2
				check(t, l, strict, "k", 1, no(0, rest))
				check(t, l, strict, "k", 0, no(0, rest))
				clk.Advance(rest - time.Millisecond)
				check(t, l, strict, "k", 1, no(0, time.Millisecond))
				clk.Advance(time.Millisecond)
			}
			want := []time.Duration{3 * time.Minute, 6 * time.Minute, 12 * time.Minute, 24 * time.Minute, 48 * time.Minute, time.Hour, time.Hour}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Fatalf("lockouts (-want +got):\n%s", diff)
			}
			// Strikes are remembered for a day after the last one …
			clk.Advance(22 * time.Hour) // 23h after the last strike
			exhaust(t, l, strict, "k")
			check(t, l, strict, "k", 1, no(0, time.Hour))
			// … and then forgotten.
			clk.Advance(ratelimit.StrikeMemory)
			exhaust(t, l, strict, "k")
			check(t, l, strict, "k", 1, no(0, 3*time.Minute))
		}},
		{"reset clears counts and strikes", func(t *testing.T, l limiter, clk *testclock.Clock) {
			exhaust(t, l, strict, "k")
			check(t, l, strict, "k", 1, no(0, 3*time.Minute))
			reset(t, l, strict, "k")
			exhaust(t, l, strict, "k")
			check(t, l, strict, "k", 1, no(0, 3*time.Minute)) // not 6m
			reset(t, l, strict, "never-seen")
		}},
		{"rules are independent", func(t *testing.T, l limiter, clk *testclock.Clock) {
			other := login
			other.Name = "login-ip"
			exhaust(t, l, login, "k")
			check(t, l, login, "k", 1, no(0, 3*time.Minute))
			exhaust(t, l, other, "k")
			reset(t, l, other, "k")
			check(t, l, login, "k", 1, no(0, 3*time.Minute))
		}},
		{"keys are independent", func(t *testing.T, l limiter, clk *testclock.Clock) {
			exhaust(t, l, strict, "alice@example.com")
			check(t, l, strict, "alice@example.com", 1, no(0, 3*time.Minute))
			exhaust(t, l, strict, "bob@example.com")
			reset(t, l, strict, "bob@example.com")
			check(t, l, strict, "alice@example.com", 1, no(0, 3*time.Minute))
		}},
		{"disabled rule always allows", func(t *testing.T, l limiter, clk *testclock.Clock) {
			off := auth.Rule{Name: "off", Period: time.Minute}
			for range 100 {
				check(t, l, off, "k", 1, ok(0))
			}
		}},
		{"invalid rule is an error", func(t *testing.T, l limiter, clk *testclock.Clock) {
			for _, rule := range []auth.Rule{
				{Name: "negative", Limit: -1, Period: time.Minute},
				{Name: "no-period", Limit: 5},
				{Name: "too-fine", Limit: 1000, Period: 999 * time.Millisecond},
			} {
				if d, err := l.Allow(context.Background(), rule, "k", 1); err == nil || d.Allowed {
					t.Errorf("Allow(%s) = %+v, %v; want an error", rule.Name, d, err)
				}
			}
		}},
		{"concurrent attempts never exceed the limit", func(t *testing.T, l limiter, clk *testclock.Clock) {
			if runtime.GOMAXPROCS(0) < 2 {
				t.Log("GOMAXPROCS < 2: no real parallelism")
			}
			var allowed atomic.Int32
			var wg sync.WaitGroup
			start := make(chan struct{})
			for range 50 {
				wg.Go(func() {
					<-start
					d, err := l.Allow(context.Background(), strict, "k", 1)
					if err != nil {
						t.Error(err)
					}
					if d.Allowed {
						allowed.Add(1)
					}
				})
			}
			close(start)
			wg.Wait()
			if n := allowed.Load(); n != 5 {
				t.Fatalf("%d of 50 concurrent attempts allowed, want 5", n)
			}
		}},
		{"batch applies each op as alone, in order", func(t *testing.T, l limiter, clk *testclock.Clock) {
			off := auth.Rule{Name: "off", Period: time.Minute}
			exhaust(t, l, strict, "locked")
			batch(t, l, []auth.LimitOp{
				take(login, "a", 1),
				take(login, "a", 1), // the same key again sees the first
				take(strict, "locked", 1),
				take(login, "b", 0),
				take(off, "a", 1),
				take(login, "c", 3),
				take(login, "c", -1),
			}, ok(4), ok(3), no(0, 3*time.Minute), ok(5), ok(0), ok(2), ok(3))
			// The refusal struck as Allow's would: this is a lockout.
			check(t, l, strict, "locked", 0, no(0, 3*time.Minute))
			check(t, l, login, "a", 0, ok(3))
			check(t, l, login, "c", 0, ok(3))
			batch(t, l, nil)
		}},
		{"batch resets", func(t *testing.T, l limiter, clk *testclock.Clock) {
			exhaust(t, l, strict, "a")
			check(t, l, strict, "a", 1, no(0, 3*time.Minute))
			check(t, l, login, "b", 1, ok(4))
			batch(t, l, []auth.LimitOp{
				{Rule: strict, Key: "a", Reset: true},
				take(login, "b", -1),
				{Rule: login, Key: "never-seen", Reset: true},
			}, ok(0), ok(5), ok(0))
			exhaust(t, l, strict, "a")
			check(t, l, strict, "a", 1, no(0, 3*time.Minute)) // not 6m: the strike is gone
			// A reset and then a take of the same key in one batch, in
			// that order.
			batch(t, l, []auth.LimitOp{{Rule: strict, Key: "a", Reset: true}, take(strict, "a", 1)}, ok(0), ok(4))
		}},
		{"allow all: a refusal in the middle costs the others nothing", func(t *testing.T, l limiter, clk *testclock.Clock) {
			// A login's counts: per IP, per (account, IP), per account.
			ip, account, global := login, strict, login
			global.Name = "global"
			off := auth.Rule{Name: "off", Period: time.Minute}
			allowAll(t, l, []auth.LimitOp{take(ip, "a", 1), take(off, "a", 1), take(account, "a", 1), take(global, "a", 1)},
				ok(4), ok(0), ok(4), ok(4))
			exhaust(t, l, account, "b")
			allowAll(t, l, []auth.LimitOp{take(ip, "a", 1), take(off, "a", 1), take(account, "b", 1), take(global, "a", 1)},
				ok(3), ok(0), no(0, 3*time.Minute))
			// The refusal struck (a lockout), the IP got its attempt back,
			// and the per-account count was not asked.
			check(t, l, account, "b", 0, no(0, 3*time.Minute))
			check(t, l, ip, "a", 0, ok(4))
			check(t, l, global, "a", 0, ok(4))
			allowAll(t, l, nil)
			if ds, err := l.AllowAll(context.Background(), []auth.LimitOp{{Rule: login, Key: "a", Reset: true}}); err == nil {
				t.Fatalf("AllowAll with a Reset = %+v, want an error", ds)
			}
		}},
		{"batches with an invalid rule apply nothing", func(t *testing.T, l limiter, clk *testclock.Clock) {
			bad := auth.Rule{Name: "no-period", Limit: 5}
			ops := []auth.LimitOp{take(login, "a", 1), take(bad, "a", 1)}
			if ds, err := l.Batch(context.Background(), ops); err == nil {
				t.Fatalf("Batch with an invalid rule = %+v, want an error", ds)
			}
			if ds, err := l.AllowAll(context.Background(), ops); err == nil {
				t.Fatalf("AllowAll with an invalid rule = %+v, want an error", ds)
			}
			check(t, l, login, "a", 0, ok(5))
		}},
		{"concurrent AllowAlls never exceed a limit", func(t *testing.T, l limiter, clk *testclock.Clock) {
			// 50 logins at once, each taking from a count of 5 and one of
			// 3, all or nothing: exactly 3 get both.
			small := auth.Rule{Name: "small", Limit: 3, Period: 15 * time.Minute}
			var both atomic.Int32
			var wg sync.WaitGroup
			start := make(chan struct{})
			for range 50 {
				wg.Go(func() {
					<-start
					ctx := context.Background()
					ops := []auth.LimitOp{take(login, "x", 1), take(small, "y", 1)}
					ds, err := l.AllowAll(ctx, ops)
					if err != nil {
						t.Error(err)
						return
					}
					if len(ds) == 2 && ds[1].Allowed {
						both.Add(1)
					}
				})
			}
			close(start)
			wg.Wait()
			if n := both.Load(); n != 3 {
				t.Fatalf("%d of 50 concurrent logins allowed by both counts, want 3", n)
			}
			// The refused ones left nothing behind.
			check(t, l, login, "x", 0, ok(2))
			check(t, l, small, "y", 0, no(0, 5*time.Minute))
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			clk := newClock()
			tt.run(t, open(t, clk.Now), clk)
		})
	}
}

func newClock() *testclock.Clock { return testclock.At(time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)) }
