package httpapi

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"runtime/debug"
	"strings"
	"time"

	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	noopmetric "go.opentelemetry.io/otel/metric/noop"
	"go.opentelemetry.io/otel/propagation"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
	nooptrace "go.opentelemetry.io/otel/trace/noop"

	"github.com/talentforge/authd/internal/auth"
	"github.com/talentforge/authd/internal/logging"
)

// requestID returns the id of the request ctx belongs to, or "".
func requestID(ctx context.Context) string {
	if r := logging.RequestFrom(ctx); r != nil {
		return r.ID()
	}
	return ""
}

// setUserID records the caller once a handler knows who it is (a sign-in,
// a sign-up), for the log lines that follow.
func setUserID(ctx context.Context, id string) {
	if r := logging.RequestFrom(ctx); r != nil {
		r.SetUserID(id)
	}
}

// traceID returns the trace the request belongs to: the span this process
// records, or the caller's traceparent when tracing is off here. "" when
// there is neither.
func traceID(ctx context.Context) string {
	if sc := trace.SpanContextFromContext(ctx); sc.IsValid() {
		return sc.TraceID().String()
	}
	return ""
}

// validRequestID accepts ids a gateway plausibly sends; anything else (too
// long, control characters, spaces) is replaced so that it can't forge log
// lines or bloat them.
func validRequestID(s string) bool {
	if s == "" || len(s) > 128 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.' || c == ':') {
			return false
		}
	}
	return true
}

func newRequestID() string {
	b := make([]byte, 16)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// statusRecorder remembers the status a handler wrote, for the access log.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.ResponseWriter.Write(b)
}

func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// hotPaths are the routes a gateway calls on every request it forwards:
// their successful responses are logged at Config.HotPathLevel.
var hotPaths = map[string]bool{
	"GET /api/v1/auth/verify":       true,
	"GET /api/v1/users/me":          true,
	"POST /api/v2/oauth/introspect": true,
}

// observe assigns the request id, sets the headers every response carries,
// recovers panics, and writes one access-log line per request.
func (s *server) observe(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		id := r.Header.Get("X-Request-ID")
		if !validRequestID(id) {
			id = newRequestID()
		}
		ri := logging.NewRequest(id, s.clientIP(r))
		r = r.WithContext(logging.WithRequest(r.Context(), ri))

		h := w.Header()
		h.Set("X-Request-ID", id)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Cache-Control", "no-store")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("X-Frame-Options", "DENY")
		if s.hsts {
			h.Set("Strict-Transport-Security", "max-age=63072000; includeSubDomains")
		}

		rec := &statusRecorder{ResponseWriter: w}
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.log.ErrorContext(r.Context(), "panic serving request", "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
				if rec.status == 0 {
					s.writeError(rec, r, fmt.Errorf("panic: %v", v))
				}
			}
			attrs := []slog.Attr{
				slog.String("method", r.Method),
				slog.Int("status", rec.status),
				slog.Float64("duration_ms", float64(time.Since(start).Microseconds())/1000),
			}
			// The log handler adds the route once it is known.
			route := ri.Route()
			if route == "" {
				attrs = append(attrs, slog.String("route", "unmatched"))
			}
			level := slog.LevelInfo
			switch {
			case rec.status >= 500:
				level = slog.LevelWarn
			case rec.status < 300 && hotPaths[route]:
				level = s.hotPathLevel
			}
			s.log.LogAttrs(r.Context(), level, "request", attrs...)
		}()
		next.ServeHTTP(rec, r)
	})
}

// untraced are the probes and scrapes that run every few seconds: a span
// each would bury the traces of real requests.
var untraced = map[string]bool{"/healthz": true, "/readyz": true, "/metrics": true}

// traced starts a server span for every request but the probes, child of
// the caller's traceparent when it sends one. The span is named after the
// method until the route is matched (see handleRoute), never after the raw
// path, which carries ids.
func (s *server) traced(next http.Handler) http.Handler {
	if _, off := s.tracerProvider.(nooptrace.TracerProvider); off {
		return s.withCallerTrace(next)
	}
	return otelhttp.NewHandler(next, "authd",
		otelhttp.WithTracerProvider(s.tracerProvider),
		otelhttp.WithPropagators(s.propagator),
		// HTTP metrics are Prometheus's (see Config.Metrics), not
		// OpenTelemetry's.
		otelhttp.WithMeterProvider(noopmetric.NewMeterProvider()),
		otelhttp.WithSpanNameFormatter(func(_ string, r *http.Request) string { return r.Method }),
		otelhttp.WithFilter(func(r *http.Request) bool { return !untraced[r.URL.Path] }),
	)
}

// withCallerTrace is traced when no spans are made: it reads only the
// caller's trace context, for the log lines and error bodies, and skips
// otelhttp's per-request work (attributes, a wrapped writer: about 30
// allocations a request on the hottest paths).
func (s *server) withCallerTrace(next http.Handler) http.Handler {
	fields := s.propagator.Fields()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for _, f := range fields {
			if r.Header.Get(f) != "" {
				r = r.WithContext(s.propagator.Extract(r.Context(), propagation.HeaderCarrier(r.Header)))
				break
			}
		}
		next.ServeHTTP(w, r)
	})
}

// routed names the request's span after the matched route and records the
// route for the log lines.
func routed(r *http.Request) {
	if i := logging.RequestFrom(r.Context()); i != nil {
		i.SetRoute(r.Pattern)
	}
	span := trace.SpanFromContext(r.Context())
	span.SetName(r.Pattern)
	if _, path, ok := strings.Cut(r.Pattern, " "); ok {
		span.SetAttributes(semconv.HTTPRoute(path))
	}
}

// clientIP returns the address of the client: the peer's address, or, when
// the peer is a trusted proxy, the right-most address in X-Forwarded-For that
// is not itself a trusted proxy (left-most entries are client-controlled).
func (s *server) clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	peer, err := netip.ParseAddr(host)
	if err != nil {
		return host
	}
	peer = peer.Unmap()
	if !s.trusted(peer) {
		return peer.String()
	}
	hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
	for i := len(hops) - 1; i >= 0; i-- {
		a, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			break
		}
		a = a.Unmap()
		if !s.trusted(a) {
			return a.String()
		}
		peer = a
	}
	return peer.String()
}

func (s *server) trusted(a netip.Addr) bool {
	for _, p := range s.trustedProxies {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

func (s *server) origin(r *http.Request) auth.Origin {
	return auth.Origin{IP: s.clientIP(r), UserAgent: r.UserAgent()}
}
