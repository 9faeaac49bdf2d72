package ratelimit_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/talentforge/authd/internal/auth"
	"github.com/talentforge/authd/internal/ratelimit"
	"github.com/talentforge/authd/internal/redisconn/redistest"
)

// benchRule allows about a third of the attempts of a tight loop on one key,
// so both the allowed and the refused paths are measured.
var benchRule = auth.Rule{Name: "bench", Limit: 100, Period: 100 * time.Millisecond, MaxLockout: time.Second}

func BenchmarkMemoryAllow(b *testing.B) {
	benchAllow(b, ratelimit.NewMemory(ratelimit.MemoryOptions{}))
}

func BenchmarkRedisAllow(b *testing.B) {
	for _, s := range servers {
		b.Run(s.name, func(b *testing.B) {
			url := s.url(b)
			client := openClient(b, url, 0)
			benchAllow(b, ratelimit.NewRedis(client, nil, ratelimit.RedisOptions{Prefix: redistest.Prefix(b, url)}))
		})
	}
}

func benchAllow(b *testing.B, l limiter) {
	ctx := context.Background()
	keys := make([]string, 1024)
	for i := range keys {
		keys[i] = "user" + strconv.Itoa(i) + "@example.com"
	}
	b.Run("one-key", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := l.Allow(ctx, benchRule, keys[0], 1); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("parallel-1024-keys", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			i := 0
			for pb.Next() {
				if _, err := l.Allow(ctx, benchRule, keys[i%len(keys)], 1); err != nil {
					b.Error(err)
					return
				}
				i++
			}
		})
	})
}

// BenchmarkRedisLogin compares a successful login's limiter traffic (take
// three counts, then reset one and give back two) made one call at a time
// with AllowAll and Batch.
func BenchmarkRedisLogin(b *testing.B) {
	ip := auth.Rule{Name: "bench-ip", Limit: 1_000_000, Period: time.Hour}
	account := auth.Rule{Name: "bench-account", Limit: 1_000_000, Period: time.Hour, MaxLockout: time.Hour}
	global := auth.Rule{Name: "bench-global", Limit: 1_000_000, Period: time.Hour}
	ctx := context.Background()
	for _, s := range servers {
		b.Run(s.name, func(b *testing.B) {
			url := s.url(b)
			l := ratelimit.NewRedis(openClient(b, url, 0), nil, ratelimit.RedisOptions{Prefix: redistest.Prefix(b, url)})
			b.Run("one-by-one", func(b *testing.B) {
				for b.Loop() {
					for _, r := range []auth.Rule{ip, account, global} {
						if _, err := l.Allow(ctx, r, "k", 1); err != nil {
							b.Fatal(err)
						}
					}
					if err := l.Reset(ctx, account, "k"); err != nil {
						b.Fatal(err)
					}
					for _, r := range []auth.Rule{ip, global} {
						if _, err := l.Allow(ctx, r, "k", -1); err != nil {
							b.Fatal(err)
						}
					}
				}
			})
			b.Run("batched", func(b *testing.B) {
				takes := []auth.LimitOp{{Rule: ip, Key: "k", Cost: 1}, {Rule: account, Key: "k", Cost: 1}, {Rule: global, Key: "k", Cost: 1}}
				done := []auth.LimitOp{{Rule: ip, Key: "k", Cost: -1}, {Rule: account, Key: "k", Reset: true}, {Rule: global, Key: "k", Cost: -1}}
				for b.Loop() {
					if _, err := l.AllowAll(ctx, takes); err != nil {
						b.Fatal(err)
					}
					if _, err := l.Batch(ctx, done); err != nil {
						b.Fatal(err)
					}
				}
			})
		})
	}
}
