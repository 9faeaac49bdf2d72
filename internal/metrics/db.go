package metrics

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// DBStats is a connection pool's state, in the terms both backends share
// (pgxpool.Stat, database/sql's DBStats).
type DBStats struct {
	InUse, Idle int
	Max         int           // 0: no limit (database/sql's default)
	Waits       int64         // acquisitions that found no idle connection and waited
	WaitTime    time.Duration // their total wait
}

// dbCollector reads the pool at scrape time: the pools keep their own
// counters, so there is nothing to update on the query path.
type dbCollector struct {
	stats                       func() DBStats
	conns, max, waits, waitTime *prometheus.Desc
}

// NewDBCollector returns the collector of a database pool; backend
// ("postgres" or "sqlite") labels its series.
func NewDBCollector(backend string, stats func() DBStats) prometheus.Collector {
	l := prometheus.Labels{"backend": backend}
	return &dbCollector{
		stats:    stats,
		conns:    prometheus.NewDesc("authd_db_connections", "Database connections by state: in_use, idle.", []string{"state"}, l),
		max:      prometheus.NewDesc("authd_db_max_connections", "The pool's connection limit.", nil, l),
		waits:    prometheus.NewDesc("authd_db_wait_total", "Connection acquisitions that had to wait for a connection.", nil, l),
		waitTime: prometheus.NewDesc("authd_db_wait_seconds_total", "Total time spent waiting for a connection.", nil, l),
	}
}

func (c *dbCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.conns
	ch <- c.max
	ch <- c.waits
	ch <- c.waitTime
}

func (c *dbCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.stats()
	ch <- prometheus.MustNewConstMetric(c.conns, prometheus.GaugeValue, float64(s.InUse), "in_use")
	ch <- prometheus.MustNewConstMetric(c.conns, prometheus.GaugeValue, float64(s.Idle), "idle")
	ch <- prometheus.MustNewConstMetric(c.max, prometheus.GaugeValue, float64(s.Max))
	ch <- prometheus.MustNewConstMetric(c.waits, prometheus.CounterValue, float64(s.Waits))
	ch <- prometheus.MustNewConstMetric(c.waitTime, prometheus.CounterValue, s.WaitTime.Seconds())
}
