package auth_test

import (
	"testing"

	"github.com/talentforge/authd/internal/auth"
	"github.com/talentforge/authd/internal/auth/authtest"
	"github.com/talentforge/authd/internal/wiringtest"
)

// BenchmarkForgotPassword compares ForgotPassword for an address that has
// an account with one that has none, on each production wiring: how much
// the answer's timing can tell a stranger. The known address costs one more
// transaction (the token and its queued mail); the ratio of the two
// ns/op, measured in one run, is what to watch.
//
//	go test -run '^$' -bench ForgotPassword -cpu 1 ./internal/auth
func BenchmarkForgotPassword(b *testing.B) {
	for _, w := range wiringtest.All() {
		b.Run(w.Name, func(b *testing.B) {
			// The limits would refuse a benchmark's loop; what it measures is
			// the work behind them, so they are off (any non-zero Limits
			// replaces the defaults).
			e := newEnvAt(b, w, authtest.Options{Limits: auth.Limits{IPv4Prefix: 32}})
			if _, _, err := e.svc.Register(b.Context(), auth.RegisterInput{Email: "ada@example.com", Password: pw}); err != nil {
				b.Fatal(err)
			}
			for _, addr := range []string{"ada@example.com", "nobody@example.com"} {
				name := "known"
				if addr != "ada@example.com" {
					name = "unknown"
				}
				b.Run(name, func(b *testing.B) {
					for b.Loop() {
						if err := e.svc.ForgotPassword(b.Context(), addr, auth.Origin{IP: "192.0.2.1"}); err != nil {
							b.Fatal(err)
						}
					}
				})
			}
		})
	}
}
