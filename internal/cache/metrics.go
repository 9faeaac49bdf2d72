package cache

import (
	"errors"
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics counts Get calls by result. The counters exist even without a
// registerer, so that the code counting needs no nil checks.
type metrics struct {
	hit, miss, err prometheus.Counter
}

// newMetrics registers the counter on reg, or joins the one already there,
// so that several Caches on one registry add up. It panics, as MustRegister
// does, if reg holds a different metric of that name: a wiring bug.
func newMetrics(reg prometheus.Registerer) metrics {
	requests := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "authd_cache_requests_total",
		Help: "Cache lookups by result: hit; miss (loaded); error (cache unavailable, loaded without caching).",
	}, []string{"result"})
	if reg != nil {
		if err := reg.Register(requests); err != nil {
			var dup prometheus.AlreadyRegisteredError
			existing, ok := (*prometheus.CounterVec)(nil), false
			if errors.As(err, &dup) {
				existing, ok = dup.ExistingCollector.(*prometheus.CounterVec)
			}
			if !ok {
				panic(fmt.Errorf("cache: register metrics: %w", err))
			}
			requests = existing
		}
	}
	return metrics{
		hit:  requests.WithLabelValues("hit"),
		miss: requests.WithLabelValues("miss"),
		err:  requests.WithLabelValues("error"),
	}
}

// NearCollectors exports n's counters: lookups answered from process memory
// or not, the groups its feed reported changed, full drops, and whether it
// serves from memory now.
func NearCollectors(n *Near) []prometheus.Collector {
	counter := func(name, help string, v func(NearStats) int64) prometheus.Collector {
		return prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help},
			func() float64 { return float64(v(n.Stats())) })
	}
	return []prometheus.Collector{
		counter("authd_cache_local_hits_total", "Cache lookups answered from this replica's memory, without a Redis round trip.",
			func(s NearStats) int64 { return s.Hits }),
		counter("authd_cache_local_misses_total", "Cache lookups this replica's memory could not answer (sent to Redis).",
			func(s NearStats) int64 { return s.Misses }),
		counter("authd_cache_local_invalidations_total", "Cache groups Redis reported changed (by any replica) and dropped from memory.",
			func(s NearStats) int64 { return s.Reports }),
		counter("authd_cache_local_flushes_total", "Times this replica dropped its whole in-memory cache (invalidation feed lost or restarted).",
			func(s NearStats) int64 { return s.Flushes }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "authd_cache_local_live",
			Help: "1 while the Redis invalidation feed is live and warm entries are served from memory, else 0."},
			func() float64 {
				if n.Stats().Live {
					return 1
				}
				return 0
			}),
	}
}
