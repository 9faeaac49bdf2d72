package redisconn

import (
	"github.com/prometheus/client_golang/prometheus"
)

// Collectors returns the client's metrics: whether Redis is reachable, how
// often it was not, and the connection pool's statistics.
func (c *Client) Collectors() []prometheus.Collector {
	labels := prometheus.Labels{"mode": c.mode}
	pool := func(name, help string, f func() float64) prometheus.Collector {
		return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "authd_redis_pool_" + name, Help: help, ConstLabels: labels}, f)
	}
	poolCounter := func(name, help string, f func() float64) prometheus.Collector {
		return prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "authd_redis_pool_" + name, Help: help, ConstLabels: labels}, f)
	}
	return []prometheus.Collector{
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name:        "authd_redis_up",
			Help:        "1 while Redis answers; 0 while authd serves degraded (cache bypassed, in-process rate limits).",
			ConstLabels: labels,
		}, func() float64 {
			if c.Up() {
				return 1
			}
			return 0
		}),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name:        "authd_redis_degraded_total",
			Help:        "Times authd lost Redis and went into degraded mode.",
			ConstLabels: labels,
		}, func() float64 { return float64(c.Degradations()) }),
		pool("connections", "Connections in the pool.", func() float64 { return float64(c.rdb.PoolStats().TotalConns) }),
		pool("idle_connections", "Idle connections in the pool.", func() float64 { return float64(c.rdb.PoolStats().IdleConns) }),
		poolCounter("hits_total", "Times a free connection was found in the pool.", func() float64 { return float64(c.rdb.PoolStats().Hits) }),
		poolCounter("misses_total", "Times no free connection was found in the pool.", func() float64 { return float64(c.rdb.PoolStats().Misses) }),
		poolCounter("timeouts_total", "Times waiting for a connection timed out.", func() float64 { return float64(c.rdb.PoolStats().Timeouts) }),
	}
}
