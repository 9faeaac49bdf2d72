// Package wiringtest builds auth.Service the way cmd/authd wires it: a real
// store (SQLite or PostgreSQL), a real cache (in process or in Redis) and the
// default rate limits of package config. The service and HTTP suites run on
// these wirings, so that what they prove holds for what production runs, not
// for a service without a cache or limits that no deployment has.
//
// It is imported only by tests.
package wiringtest

import (
	"context"
	"crypto/sha256"
	"path/filepath"
	"testing"

	"github.com/talentforge/authd/internal/auth"
	"github.com/talentforge/authd/internal/auth/authtest"
	"github.com/talentforge/authd/internal/cache"
	"github.com/talentforge/authd/internal/config"
	"github.com/talentforge/authd/internal/postgres"
	"github.com/talentforge/authd/internal/postgres/pgtest"
	"github.com/talentforge/authd/internal/ratelimit"
	"github.com/talentforge/authd/internal/redisconn"
	"github.com/talentforge/authd/internal/redisconn/redistest"
	"github.com/talentforge/authd/internal/sqlite"
)

// Store is a backend as cmd/authd holds it: the storage contract and the
// readiness probe.
type Store interface {
	authtest.Backend
	Ping(ctx context.Context) error
}

// Wiring is one way cmd/authd composes the service.
type Wiring struct {
	Name  string
	Open  func(testing.TB, *authtest.Clock) Store
	redis bool
}

var (
	// Embedded is the default deployment: SQLite with the cache and the
	// limits in process.
	Embedded = Wiring{Name: "sqlite+memory", Open: OpenSQLite}
	// Production is PostgreSQL with the cache and the limits in Redis.
	Production = Wiring{Name: "postgres+redis", Open: OpenPostgres, redis: true}
)

// All lists the wirings the suites run on.
func All() []Wiring { return []Wiring{Embedded, Production} }

// Run runs f as one parallel subtest per wiring.
func Run(t *testing.T, f func(t *testing.T, w Wiring)) {
	t.Helper()
	for _, w := range All() {
		t.Run(w.Name, func(t *testing.T) {
			t.Parallel()
			f(t, w)
		})
	}
}

// Options returns opts completed with this wiring's cache and limiter, and
// with authd's default limits unless opts sets its own. The in-process cache
// and limiter run on opts.Clock; Redis keeps its own time, as in production.
func (w Wiring) Options(tb testing.TB, opts authtest.Options) authtest.Options {
	tb.Helper()
	if opts.Limits == (auth.Limits{}) {
		opts.Limits = DefaultLimits(tb)
	}
	var memCache cache.MemoryOptions
	var memLimits ratelimit.MemoryOptions
	if opts.Clock != nil {
		memCache.Now = opts.Clock.Now
		memLimits.Now = opts.Clock.Now
	}
	local := ratelimit.NewMemory(memLimits)
	if !w.redis {
		if opts.Cache == nil {
			opts.Cache = cache.New(cache.NewMemory(memCache), cache.Options{})
		}
		if opts.Limiter == nil {
			opts.Limiter = local
		}
		return opts
	}
	url := redistest.URL(tb)
	prefix := redistest.Prefix(tb, url)
	rc, err := redisconn.Open(tb.Context(), redisconn.Options{URL: url})
	if err != nil {
		tb.Fatalf("redis: %v", err)
	}
	tb.Cleanup(func() { rc.Close() })
	if opts.Cache == nil {
		opts.Cache = cache.New(cache.NewRedis(rc, cache.RedisOptions{Prefix: prefix}), cache.Options{})
	}
	if opts.Limiter == nil {
		key := sha256.Sum256([]byte(prefix))
		opts.Limiter = ratelimit.NewRedis(rc, local, ratelimit.RedisOptions{Prefix: prefix, KeySecret: key[:]})
	}
	return opts
}

// DefaultLimits are the limits authd runs with when no AUTH_RATE_* variable
// is set.
func DefaultLimits(tb testing.TB) auth.Limits {
	tb.Helper()
	cfg, err := config.Load(func(string) string { return "" }, "")
	if err != nil {
		tb.Fatalf("default config: %v", err)
	}
	return cfg.Limits()
}

// OpenSQLite opens a fresh, migrated SQLite store whose clock is clock (nil:
// real time).
func OpenSQLite(tb testing.TB, clock *authtest.Clock) Store {
	tb.Helper()
	var opts []sqlite.Option
	if clock != nil {
		opts = append(opts, sqlite.WithClock(clock.Now))
	}
	db, err := sqlite.Open(tb.Context(), filepath.Join(tb.TempDir(), "authd.db"), opts...)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	if err := db.MigrateUp(tb.Context()); err != nil {
		tb.Fatal(err)
	}
	return db
}

// OpenPostgres opens a fresh, migrated schema whose database clock is clock
// (nil: the server's).
func OpenPostgres(tb testing.TB, clock *authtest.Clock) Store {
	tb.Helper()
	var opts []postgres.Option
	if clock != nil {
		opts = append(opts, postgres.WithClock(clock.Now))
	}
	db, err := postgres.Open(tb.Context(), pgtest.URL(tb), opts...)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	if err := db.MigrateUp(tb.Context()); err != nil {
		tb.Fatal(err)
	}
	return db
}
