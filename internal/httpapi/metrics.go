package httpapi

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/talentforge/authd/internal/logging"
)

// httpMetrics are the request metrics. Their labels are bounded: the route
// is the pattern that matched (or "unmatched"), never the path a client
// sent; the method is one of the standard ones (or "other"); the status is
// a three-digit code.
type httpMetrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	inFlight prometheus.Gauge
}

func newHTTPMetrics(reg prometheus.Registerer) *httpMetrics {
	m := &httpMetrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "authd_http_requests_total",
			Help: "HTTP requests by method, route pattern and status code.",
		}, []string{"method", "route", "status"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "authd_http_request_duration_seconds",
			Help: "Time from the request's arrival to its handler's return, by method and route pattern.",
			// From a cached verify (well under a millisecond) to an
			// argon2id login queued behind a flood (seconds).
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"method", "route"}),
		inFlight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "authd_http_requests_in_flight",
			Help: "HTTP requests being served.",
		}),
	}
	reg.MustRegister(m.requests, m.duration, m.inFlight)
	return m
}

// measure records every request in m. It runs inside observe, whose
// statusRecorder it reads the status from, and after routing has named the
// route in the request's logging.Request.
func (m *httpMetrics) measure(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		m.inFlight.Inc()
		panicked := true
		defer func() {
			m.inFlight.Dec()
			status := http.StatusOK // a handler that wrote nothing sent 200
			if rec, ok := w.(*statusRecorder); ok && rec.status != 0 {
				status = rec.status
			} else if panicked {
				status = http.StatusInternalServerError // observe answers it
			}
			method, route := metricMethod(r.Method), "unmatched"
			if lr := logging.RequestFrom(r.Context()); lr != nil && lr.Route() != "" {
				route = routePath(lr.Route())
			}
			m.requests.WithLabelValues(method, route, strconv.Itoa(status)).Inc()
			m.duration.WithLabelValues(method, route).Observe(time.Since(start).Seconds())
		}()
		next.ServeHTTP(w, r)
		panicked = false
	})
}

// metricMethod maps the method to a bounded set: a client can send any
// token as a method.
func metricMethod(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut,
		http.MethodPatch, http.MethodDelete, http.MethodOptions:
		return m
	}
	return "other"
}

// routePath is the path of a mux pattern ("GET /api/v1/users/{id}" →
// "/api/v1/users/{id}"); the method has its own label.
func routePath(pattern string) string {
	if _, path, ok := strings.Cut(pattern, " "); ok {
		return path
	}
	return pattern
}
