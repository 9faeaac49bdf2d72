package cache

import (
	"bytes"
	"testing"

	"github.com/talentforge/authd/internal/redisconn/redistest"
)

// BenchmarkGetHit measures the hot path: an entry of 256 bytes found.
func BenchmarkGetHit(b *testing.B) {
	b.Run("memory", func(b *testing.B) { benchGetHit(b, NewMemory(MemoryOptions{})) })
	for _, top := range topologies {
		b.Run("redis-"+top.name, func(b *testing.B) {
			url := top.url(b)
			benchGetHit(b, NewRedis(openClient(b, url), RedisOptions{Prefix: redistest.Prefix(b, url)}))
		})
	}
}

func benchGetHit(b *testing.B, backend Backend) {
	c := New(backend, Options{})
	value := string(bytes.Repeat([]byte("v"), 256))
	get(b, c, "0b7e8e2c-5d2a-4c1e-9b1a-0d6f7c3e9a11", "session", constant(value))
	load, calls := counting("miss", 0)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.Get(b.Context(), "0b7e8e2c-5d2a-4c1e-9b1a-0d6f7c3e9a11", "session", load); err != nil {
			b.Fatal(err)
		}
	}
	if n := calls.Load(); n != 0 {
		b.Fatalf("%d misses in a hit benchmark", n)
	}
}
