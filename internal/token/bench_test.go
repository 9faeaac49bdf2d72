package token

import (
	"context"
	"testing"
)

func BenchmarkIssue(b *testing.B) {
	for _, alg := range algorithms {
		b.Run(alg, func(b *testing.B) {
			m := newTestManager(b, newMemKeyStore(), testConfig(newClock(), alg))
			ctx, c := context.Background(), testClaims()
			b.ReportAllocs()
			for b.Loop() {
				if _, _, err := m.Issue(ctx, c); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkVerify measures the full check (signature and claims, the
// verified-token cache off) and a repeat of a token already verified.
func BenchmarkVerify(b *testing.B) {
	for _, alg := range algorithms {
		for _, mode := range []struct {
			name string
			size int
		}{{"full", -1}, {"cached", 0}} {
			b.Run(alg+"/"+mode.name, func(b *testing.B) {
				cfg := testConfig(newClock(), alg)
				cfg.VerifiedCacheSize = mode.size
				m := newTestManager(b, newMemKeyStore(), cfg)
				ctx, tok := context.Background(), issue(b, m)
				b.ReportAllocs()
				for b.Loop() {
					if _, err := m.Verify(ctx, tok); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

func BenchmarkVerifyParallel(b *testing.B) {
	cfg := testConfig(newClock(), ES256)
	cfg.VerifiedCacheSize = -1
	m := newTestManager(b, newMemKeyStore(), cfg)
	ctx, tok := context.Background(), issue(b, m)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := m.Verify(ctx, tok); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

func BenchmarkJWKS(b *testing.B) {
	m := newTestManager(b, newMemKeyStore(), testConfig(newClock(), ES256))
	b.ReportAllocs()
	for b.Loop() {
		m.JWKS()
	}
}
