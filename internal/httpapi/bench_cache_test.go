package httpapi_test

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/talentforge/authd/internal/auth"
	"github.com/talentforge/authd/internal/auth/authtest"
	"github.com/talentforge/authd/internal/cache"
	"github.com/talentforge/authd/internal/httpapi"
	"github.com/talentforge/authd/internal/redisconn"
	"github.com/talentforge/authd/internal/redisconn/redistest"
	"github.com/talentforge/authd/internal/wiringtest"
)

// BenchmarkVerifyCached measures GET /api/v1/auth/verify in process on each
// storage and cache combination authd runs with, and reports the database
// reads per request (db-reads/op): 0 on a warm cache.
//
//	go test -run '^$' -bench VerifyCached ./internal/httpapi
func BenchmarkVerifyCached(b *testing.B) {
	stores := map[string]func(testing.TB, *authtest.Clock) wiringtest.Store{
		"sqlite":   wiringtest.OpenSQLite,
		"postgres": wiringtest.OpenPostgres,
	}
	redisCache := func(url string) func(b *testing.B) auth.Cache {
		return func(b *testing.B) auth.Cache {
			c, err := redisconn.Open(b.Context(), redisconn.Options{URL: url})
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { c.Close() })
			return cache.New(cache.NewRedis(c, cache.RedisOptions{Prefix: redistest.Prefix(b, url)}), cache.Options{})
		}
	}
	caches := map[string]func(b *testing.B) auth.Cache{
		"memory": func(*testing.B) auth.Cache {
			return cache.New(cache.NewMemory(cache.MemoryOptions{}), cache.Options{})
		},
		"redis":         func(b *testing.B) auth.Cache { return redisCache(redistest.URL(b))(b) },
		"redis-cluster": func(b *testing.B) auth.Cache { return redisCache(redistest.ClusterURL(b))(b) },
	}
	for _, storeName := range []string{"sqlite", "postgres"} {
		for _, cacheName := range []string{"memory", "redis", "redis-cluster"} {
			b.Run(storeName+"/"+cacheName, func(b *testing.B) {
				store := &authtest.CountingStore{Backend: stores[storeName](b, nil)}
				svc, tokens := authtest.NewService(b, store, authtest.Options{Cache: caches[cacheName](b)})
				h := httpapi.New(svc, tokens, store, httpapi.Config{Issuer: authtest.Issuer}, slog.New(slog.DiscardHandler))
				_, pair, err := svc.Register(b.Context(), auth.RegisterInput{Email: "bench@example.com", Password: "correct horse battery staple"})
				if err != nil {
					b.Fatal(err)
				}
				req := httptest.NewRequest(http.MethodGet, "/api/v1/auth/verify", nil)
				req.Header.Set("Authorization", "Bearer "+pair.AccessToken)
				serve := func() int {
					rec := httptest.NewRecorder()
					h.ServeHTTP(rec, req.Clone(req.Context()))
					return rec.Code
				}
				if serve() != http.StatusOK { // warms the cache
					b.Fatal("verify failed")
				}
				before := store.Reads()
				start := time.Now()
				b.ReportAllocs()
				// 16 goroutines per core: enough requests in flight to
				// overlap the Redis and PostgreSQL round trips, as a loaded
				// server would.
				b.SetParallelism(16)
				b.ResetTimer()
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						if code := serve(); code != http.StatusOK {
							b.Errorf("status %d", code)
							return
						}
					}
				})
				b.StopTimer()
				b.ReportMetric(float64(store.Reads()-before)/float64(b.N), "db-reads/op")
				b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "req/s")
			})
		}
	}
}
