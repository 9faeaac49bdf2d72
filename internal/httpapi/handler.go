package httpapi

import (
	"context"
	"log/slog"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
	nooptrace "go.opentelemetry.io/otel/trace/noop"

	"github.com/talentforge/authd/internal/auth"
	"github.com/talentforge/authd/internal/logging"
)

// KeySet publishes the public signing keys.
type KeySet interface {
	// JWKS returns the JSON Web Key Set of every published key.
	JWKS() []byte
	// JWKSMaxAge is how long clients may cache the JWKS.
	JWKSMaxAge() time.Duration
	// Algorithms lists the JWS algorithms of the published keys.
	Algorithms() []string
}

// Pinger reports whether a dependency is reachable.
type Pinger interface {
	Ping(ctx context.Context) error
}

// Config is what the HTTP layer needs beyond its collaborators.
type Config struct {
	Issuer         string
	TrustedProxies []netip.Prefix
	// RedisState is reported by /readyz as the "redis" check: "ok" or
	// "degraded". Nil reports "in-process" (embedded mode, no Redis).
	RedisState func() string
	// Metrics serves GET /metrics; nil answers 404.
	Metrics http.Handler
	// ShuttingDown reports that the server is about to stop accepting
	// connections: /readyz then answers 503 "shutting_down", so that load
	// balancers stop routing here first, while /healthz stays 200. Nil:
	// never.
	ShuttingDown func() bool
	// SchemaVersion reads the database's applied migration version, which
	// /readyz reports as "schema_version". Nil, or an error, leaves it out.
	SchemaVersion func(ctx context.Context) (int64, error)
	// Registerer receives the HTTP request metrics; nil: none are kept.
	Registerer prometheus.Registerer
	// TracerProvider makes the server span of each request (see
	// telemetry.Setup). Nil: no spans, though a caller's traceparent still
	// reaches the log lines and error bodies.
	TracerProvider trace.TracerProvider
	// Propagator reads the caller's trace context. Nil: W3C traceparent
	// and baggage.
	Propagator propagation.TextMapPropagator
	// HotPathLevel is the level of the access-log lines of successful
	// requests to the routes a gateway calls for every request it forwards
	// (verify, users/me, introspect); other lines are at info, 5xx at
	// warn. The zero value is info (AUTH_LOG_HOT_PATHS).
	HotPathLevel slog.Level
	// RefreshTokenTTL is the lifetime of the cookie-mode refresh cookie
	// (AUTH_REFRESH_TOKEN_TTL); zero makes it a browser-session cookie.
	RefreshTokenTTL time.Duration
	// Pages serves the hosted pages under /ui/ (see internal/ui); nil
	// answers 404 there.
	Pages http.Handler
}

type server struct {
	accounts       *auth.Accounts
	admin          *auth.Admin
	clients        *auth.ServiceClients
	keys           KeySet
	db             Pinger
	log            *slog.Logger
	issuer         string
	redisState     func() string
	shuttingDown   func() bool
	schemaVersion  func(ctx context.Context) (int64, error)
	metrics        http.Handler
	httpMetrics    *httpMetrics // nil: requests are not measured
	tracerProvider trace.TracerProvider
	propagator     propagation.TextMapPropagator
	hotPathLevel   slog.Level
	refreshTTL     time.Duration
	crossOrigin    *http.CrossOriginProtection
	pages          http.Handler
	hsts           bool
	trustedProxies []netip.Prefix
	mux            *http.ServeMux
	table          []route // every endpoint, see routes.go
	openAPI        []byte  // the OpenAPI document, built from table
}

// New returns the authd HTTP handler.
func New(svc *auth.Service, keys KeySet, db Pinger, cfg Config, log *slog.Logger) http.Handler {
	return newServer(svc, keys, db, cfg, log).handler()
}

// handler is the server with its middleware: the span first, so that
// every log line of the request carries its trace id; the metrics inside
// observe, which names the route and records the status they read.
func (s *server) handler() http.Handler {
	var h http.Handler = http.HandlerFunc(s.dispatch)
	if s.httpMetrics != nil {
		h = s.httpMetrics.measure(h)
	}
	return s.traced(s.observe(h))
}

func newServer(svc *auth.Service, keys KeySet, db Pinger, cfg Config, log *slog.Logger) *server {
	s := &server{
		accounts:       svc.Accounts,
		admin:          svc.Admin,
		clients:        svc.ServiceClients,
		keys:           keys,
		db:             db,
		log:            slog.New(logging.NewHandler(log.Handler())),
		issuer:         strings.TrimRight(cfg.Issuer, "/"),
		redisState:     cfg.RedisState,
		shuttingDown:   cfg.ShuttingDown,
		schemaVersion:  cfg.SchemaVersion,
		metrics:        cfg.Metrics,
		tracerProvider: cfg.TracerProvider,
		propagator:     cfg.Propagator,
		hotPathLevel:   cfg.HotPathLevel,
		refreshTTL:     cfg.RefreshTokenTTL,
		crossOrigin:    newCrossOrigin(cfg.Issuer),
		pages:          cfg.Pages,
		hsts:           strings.HasPrefix(cfg.Issuer, "https://"),
		trustedProxies: cfg.TrustedProxies,
		mux:            http.NewServeMux(),
	}
	if s.tracerProvider == nil {
		s.tracerProvider = nooptrace.NewTracerProvider()
	}
	if s.propagator == nil {
		s.propagator = propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{})
	}
	if s.redisState == nil {
		s.redisState = func() string { return "in-process" }
	}
	if cfg.Registerer != nil {
		s.httpMetrics = newHTTPMetrics(cfg.Registerer)
	}
	s.routes()
	s.openAPI = s.buildOpenAPI()
	return s
}

// dispatch serves matched routes through the mux and answers unmatched ones
// (404, 405) with the JSON error body instead of the mux's plain text.
func (s *server) dispatch(w http.ResponseWriter, r *http.Request) {
	h, pattern := s.mux.Handler(r)
	if pattern != "" {
		s.mux.ServeHTTP(w, r)
		return
	}
	// Let the mux decide between 404 and 405 (and compute Allow), then
	// replace its body.
	rec := &headerRecorder{header: http.Header{}}
	h.ServeHTTP(rec, r)
	if allow := rec.header.Get("Allow"); allow != "" {
		w.Header().Set("Allow", allow)
	}
	writeErr := s.writeError
	if strings.HasPrefix(r.URL.Path, "/api/v2/") {
		writeErr = s.writeProblem
	}
	if rec.status == http.StatusMethodNotAllowed {
		writeErr(w, r, auth.Errorf(codeMethodNotAllowed, "method %s is not allowed here", r.Method))
		return
	}
	writeErr(w, r, auth.Errorf(auth.ENotFound, "no such endpoint"))
}

// handlerFunc is the shape of every authd handler: it writes a success
// response itself and returns errors for writeError.
type handlerFunc func(w http.ResponseWriter, r *http.Request) error

// authedFunc is a handlerFunc that runs only for an authenticated caller.
type authedFunc func(w http.ResponseWriter, r *http.Request, p *auth.Principal) error

// handleRoute registers rt on the mux; its errors are written in its style.
func (s *server) handleRoute(rt *route) {
	writeErr := s.errorWriter(rt.style)
	s.mux.HandleFunc(rt.pattern(), func(w http.ResponseWriter, r *http.Request) {
		routed(r)
		if err := rt.serve(w, r); err != nil {
			writeErr(w, r, err)
		}
	})
}

// authed wraps fn behind bearer authentication.
func (s *server) authed(fn authedFunc) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		p, err := s.authenticate(r)
		if err != nil {
			return err
		}
		return fn(w, r, p)
	}
}

func (s *server) authenticate(r *http.Request) (*auth.Principal, error) {
	h := r.Header.Get("Authorization")
	scheme, token, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(token) == "" {
		return nil, auth.Errorf(auth.EUnauthorized, "A bearer access token is required.")
	}
	p, err := s.accounts.Authenticate(r.Context(), strings.TrimSpace(token))
	if err != nil {
		return nil, err
	}
	if i := logging.RequestFrom(r.Context()); i != nil {
		i.SetUserID(p.UserID)
	}
	p.Origin = s.origin(r)
	return p, nil
}

// headerRecorder captures the status and headers of the mux's own 404/405
// responses and discards their plain-text bodies.
type headerRecorder struct {
	header http.Header
	status int
}

func (r *headerRecorder) Header() http.Header         { return r.header }
func (r *headerRecorder) Write(b []byte) (int, error) { return len(b), nil }
func (r *headerRecorder) WriteHeader(status int)      { r.status = status }
