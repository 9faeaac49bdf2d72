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

func BenchmarkVerify(b *testing.B) {
	for _, alg := range algorithms {
		b.Run(alg, func(b *testing.B) {
			m := newTestManager(b, newMemKeyStore(), testConfig(newClock(), alg))
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

func BenchmarkVerifyParallel(b *testing.B) {
	m := newTestManager(b, newMemKeyStore(), testConfig(newClock(), ES256))
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
