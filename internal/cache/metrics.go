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
