package password

import (
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// hashMetrics watch the hashing capacity: how long each computation takes,
// how long callers wait for a slot, and how many give up (answered 503).
type hashMetrics struct {
	duration *prometheus.HistogramVec // by op: hash, verify
	wait     prometheus.Histogram
	rejected prometheus.Counter
	// priorityFailed counts hashes computed at the normal priority because
	// lowering their thread's failed (Config.Priority).
	priorityFailed prometheus.Counter
	waiting        atomic.Int64 // callers queued for a slot
}

// hashBuckets span cheap test parameters to production argon2id under load.
var hashBuckets = []float64{.001, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5}

func newHashMetrics() *hashMetrics {
	return &hashMetrics{
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "authd_password_hash_duration_seconds",
			Help:    "Time computing a password hash (hash) or checking one (verify, with its failure padding), after a slot was free.",
			Buckets: hashBuckets,
		}, []string{"op"}),
		wait: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "authd_password_hash_wait_seconds",
			Help:    "Time waiting for a password-hashing slot, including waits that timed out.",
			Buckets: append([]float64{0.0001}, hashBuckets...),
		}),
		rejected: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "authd_password_hash_rejected_total",
			Help: "Hashing requests refused because no slot freed up within the queue timeout (answered 503).",
		}),
		priorityFailed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "authd_password_hash_priority_errors_total",
			Help: "Hashes computed at the normal priority because lowering their thread's to AUTH_HASH_PRIORITY failed.",
		}),
	}
}

// computed records a computation that began at start.
func (m *hashMetrics) computed(op string, start time.Time) {
	m.duration.WithLabelValues(op).Observe(time.Since(start).Seconds())
}

// Collectors returns the hasher's metrics, for the application's registry.
func (h *Hasher) Collectors() []prometheus.Collector {
	return []prometheus.Collector{
		h.metrics.duration, h.metrics.wait, h.metrics.rejected, h.metrics.priorityFailed,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "authd_password_hash_queue_depth",
			Help: "Callers waiting for a password-hashing slot.",
		}, func() float64 { return float64(h.metrics.waiting.Load()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "authd_password_hash_in_progress",
			Help: "Password hashes being computed (at most AUTH_HASH_CONCURRENCY).",
		}, func() float64 { return float64(len(h.slots)) }),
	}
}
