package auth_test

import (
	"fmt"
	"runtime"
	"testing"

	"github.com/talentforge/authd/internal/auth"
	"github.com/talentforge/authd/internal/auth/authtest"
	"github.com/talentforge/authd/internal/postgres"
	"github.com/talentforge/authd/internal/postgres/pgtest"
)

// BenchmarkRefreshPostgres measures Service.Refresh on PostgreSQL (with the
// server's durability settings, fsync on commit by default): one chain of
// refreshes, then one chain per goroutine at 8 goroutines per core, each
// presenting the token its previous refresh returned. It reports
// refreshes/s.
//
//	AUTH_TEST_POSTGRES_URL=... go test -run '^$' -bench RefreshPostgres ./internal/auth
func BenchmarkRefreshPostgres(b *testing.B) {
	db, err := postgres.Open(b.Context(), pgtest.URL(b))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	if err := db.MigrateUp(b.Context()); err != nil {
		b.Fatal(err)
	}
	svc, _ := authtest.NewService(b, db, authtest.Options{})

	// signIn starts n sessions, each of its own user, and returns their
	// refresh tokens.
	users := 0
	signIn := func(b *testing.B, n int) []string {
		tokens := make([]string, n)
		for i := range tokens {
			users++
			_, pair, err := svc.Register(b.Context(), auth.RegisterInput{
				Email:    fmt.Sprintf("bench-%d@example.com", users),
				Password: pw,
			})
			if err != nil {
				b.Fatal(err)
			}
			tokens[i] = pair.RefreshToken
		}
		return tokens
	}

	b.Run("sequential", func(b *testing.B) {
		token := signIn(b, 1)[0]
		for b.Loop() {
			pair, err := svc.Refresh(b.Context(), token, auth.Origin{})
			if err != nil {
				b.Fatal(err)
			}
			token = pair.RefreshToken
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "refreshes/s")
	})

	b.Run("parallel", func(b *testing.B) {
		const perCore = 8
		b.SetParallelism(perCore)
		chains := make(chan string, perCore*runtime.GOMAXPROCS(0))
		for _, t := range signIn(b, cap(chains)) {
			chains <- t
		}
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			token := <-chains
			for pb.Next() {
				pair, err := svc.Refresh(b.Context(), token, auth.Origin{})
				if err != nil {
					b.Error(err)
					return
				}
				token = pair.RefreshToken
			}
		})
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "refreshes/s")
	})
}
