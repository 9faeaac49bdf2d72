package cache

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Options configure a Cache.
type Options struct {
	// MaxTTL caps the TTL a loader asks for (default 5 minutes): it bounds
	// how long an entry can outlive a lost invalidation.
	MaxTTL time.Duration
	// Registerer receives the authd_cache_requests_total counter
	// {result="hit"|"miss"|"error"}; nil registers nothing.
	Registerer prometheus.Registerer
}

// Cache is a read-through cache of per-user entries on top of a Backend. It
// implements auth.Cache and is safe for concurrent use.
type Cache struct {
	backend Backend
	maxTTL  time.Duration
	metrics metrics
}

// New returns a Cache storing its entries in backend. Caches sharing a
// Registerer share its counter; New panics if the Registerer already holds a
// different metric named authd_cache_requests_total.
func New(backend Backend, opts Options) *Cache {
	if opts.MaxTTL <= 0 {
		opts.MaxTTL = 5 * time.Minute
	}
	return &Cache{backend: backend, maxTTL: opts.MaxTTL, metrics: newMetrics(opts.Registerer)}
}

// Get returns the entry stored under key in group. On a miss it
// calls load and caches the value for the TTL load returns (capped at MaxTTL;
// 0 caches nothing), unless the group was invalidated since the lookup. It
// returns only load's errors, as they are; when the backend fails, the value
// is loaded and not cached. The returned slice belongs to the caller.
func (c *Cache) Get(ctx context.Context, group, key string, load func(context.Context) ([]byte, time.Duration, error)) ([]byte, error) {
	l, err := c.backend.Get(ctx, group, key)
	switch {
	case err != nil:
		c.metrics.err.Inc()
		v, _, err := load(ctx)
		if err != nil {
			return nil, err
		}
		return v, nil
	case l.Hit:
		c.metrics.hit.Inc()
		return l.Value, nil
	}
	c.metrics.miss.Inc()
	v, ttl, err := load(ctx)
	if err != nil {
		return nil, err
	}
	if ttl > 0 {
		// A failed fill only costs the next reader a load; the Redis client
		// has already noted an outage.
		_, _ = c.backend.Fill(ctx, group, key, l.Version, v, min(ttl, c.maxTTL))
	}
	return v, nil
}

// Invalidate drops every entry of group, on every replica sharing
// the backend; call it after the database write has committed. It returns
// the backend's error, which Memory and Redis never have: Redis queues an
// invalidation it can't deliver and replays it on recovery.
func (c *Cache) Invalidate(ctx context.Context, group string) error {
	return c.backend.Invalidate(ctx, group)
}
