package auth_test

import (
	"testing"

	"github.com/talentforge/authd/internal/auth"
	"github.com/talentforge/authd/internal/auth/authtest"
	"github.com/talentforge/authd/internal/password"
	"github.com/talentforge/authd/internal/wiringtest"
)

// BenchmarkLogin compares Service.Login with the production argon2id
// parameters against the bare password check it is bounded by, in one run:
// everything login does besides hashing should cost a few percent.
//
//	go test -run '^$' -bench Login -cpu 2 ./internal/auth
func BenchmarkLogin(b *testing.B) {
	e := newEnvOn(b, wiringtest.Embedded, wiringtest.OpenSQLite(b, nil), authtest.Options{RealHashing: true})
	if _, _, err := e.svc.Register(b.Context(), auth.RegisterInput{Email: "ada@example.com", Password: pw}); err != nil {
		b.Fatal(err)
	}
	hasher := password.New(password.Config{Params: password.DefaultParams})
	hash, err := hasher.Hash(b.Context(), pw)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("password-verify", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if ok, _, err := hasher.Verify(b.Context(), pw, hash); !ok || err != nil {
					b.Error("verify failed", err)
					return
				}
			}
		})
	})
	b.Run("login", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, _, err := e.svc.Login(b.Context(), auth.LoginInput{Email: "ada@example.com", Password: pw}); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
}
