package httpapi_test

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/talentforge/authd/internal/auth/authtest"
	"github.com/talentforge/authd/internal/httpapi"
	"github.com/talentforge/authd/internal/wiringtest"
)

// logLines is a JSON log destination safe for concurrent writes.
type logLines struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logLines) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logLines) records(t *testing.T) []map[string]any {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []map[string]any
	for _, line := range bytes.Split(bytes.TrimSpace(l.buf.Bytes()), []byte("\n")) {
		var rec map[string]any
		if err := json.Unmarshal(line, &rec); err != nil {
			t.Fatalf("a log line is not JSON: %q", line)
		}
		out = append(out, rec)
	}
	return out
}

// access returns the access-log line of the request with id.
func (l *logLines) access(t *testing.T, id string) map[string]any {
	t.Helper()
	for _, rec := range l.records(t) {
		if rec["msg"] == "request" && rec["request_id"] == id {
			return rec
		}
	}
	t.Fatalf("no access-log line for %s", id)
	return nil
}

// observed serves the API on SQLite with a debug logger into lines and
// spans into exp.
func observed(t *testing.T, hot slog.Level) (http.Handler, *logLines, *tracetest.InMemoryExporter) {
	t.Helper()
	db := wiringtest.Embedded.Open(t, nil)
	lines := &logLines{}
	log := slog.New(slog.NewJSONHandler(lines, &slog.HandlerOptions{Level: slog.LevelDebug}))
	svc, tokens := authtest.NewService(t, db, wiringtest.Embedded.Options(t, authtest.Options{}))
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	h := httpapi.New(svc, tokens, db, httpapi.Config{Issuer: authtest.Issuer, TracerProvider: tp, HotPathLevel: hot}, log)
	return h, lines, exp
}

func serve(h http.Handler, method, path, id string, header http.Header, body string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	req.Header.Set("X-Request-ID", id)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range header {
		req.Header[k] = v
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

// TestAccessLogLevels: successful calls of the hot paths are logged at the
// configured level, their failures and other routes at info.
func TestAccessLogLevels(t *testing.T) {
	for _, hot := range []slog.Level{slog.LevelDebug, slog.LevelInfo} {
		t.Run(hot.String(), func(t *testing.T) {
			h, lines, _ := observed(t, hot)
			res := serve(h, "POST", "/api/v1/auth/register", "register", nil, `{"email":"hot@example.com","password":"`+pw+`"}`)
			if res.Code != 201 {
				t.Fatalf("register: %d %s", res.Code, res.Body)
			}
			var tokens struct {
				AccessToken string `json:"access_token"`
			}
			json.Unmarshal(res.Body.Bytes(), &tokens)
			bearer := http.Header{"Authorization": {"Bearer " + tokens.AccessToken}}
			for _, c := range []struct {
				id, method, path string
				header           http.Header
				status           int
				level            string
			}{
				{"verify-ok", "GET", "/api/v1/auth/verify", bearer, 200, hot.String()},
				{"me-ok", "GET", "/api/v1/users/me", bearer, 200, hot.String()},
				{"verify-401", "GET", "/api/v1/auth/verify", nil, 401, "INFO"},
				{"sessions-ok", "GET", "/api/v1/auth/sessions", bearer, 200, "INFO"},
			} {
				if res := serve(h, c.method, c.path, c.id, c.header, ""); res.Code != c.status {
					t.Fatalf("%s: %d %s", c.id, res.Code, res.Body)
				}
				rec := lines.access(t, c.id)
				if rec["level"] != c.level {
					t.Errorf("%s logged at %v, want %s", c.id, rec["level"], c.level)
				}
			}
			if rec := lines.access(t, "register"); rec["level"] != "INFO" {
				t.Errorf("register logged at %v", rec["level"])
			}
		})
	}
}

// TestRequestAttributesAndSpans: every line of a request carries its id,
// trace id, route and client IP, and the user once known; the server span
// is named after the route pattern, never the raw path; probes make no
// span.
func TestRequestAttributesAndSpans(t *testing.T) {
	h, lines, exp := observed(t, slog.LevelDebug)
	res := serve(h, "POST", "/api/v1/auth/register", "reg", nil, `{"email":"attrs@example.com","password":"`+pw+`"}`)
	var body struct {
		AccessToken string `json:"access_token"`
		User        struct {
			ID string `json:"id"`
		} `json:"user"`
	}
	json.Unmarshal(res.Body.Bytes(), &body)
	serve(h, "GET", "/api/v1/users/"+body.User.ID, "by-id", http.Header{"Authorization": {"Bearer " + body.AccessToken}}, "")
	serve(h, "GET", "/no/such/thing?email=attrs@example.com", "unmatched", nil, "")
	serve(h, "GET", "/healthz", "probe", nil, "")
	const caller = "5bf92f3577b34da6a3ce929d0e0e4736"
	res = serve(h, "GET", "/api/v2/users", "v2", http.Header{"Traceparent": {"00-" + caller + "-00f067aa0ba902b7-01"}}, "")
	if res.Code != 401 || !strings.Contains(res.Body.String(), `"trace_id":"`+caller+`"`) {
		t.Errorf("v2 problem without the caller's trace id: %d %s", res.Code, res.Body)
	}

	spans := exp.GetSpans()
	byID := map[string]string{} // request id → span name, through trace ids
	for _, rec := range lines.records(t) {
		id, _ := rec["request_id"].(string)
		if id == "" {
			continue
		}
		if rec["client_ip"] != "192.0.2.1" {
			t.Errorf("%s: %q has client_ip %v", id, rec["msg"], rec["client_ip"])
		}
		if id == "probe" {
			if rec["trace_id"] != nil {
				t.Errorf("the probe was traced: %v", rec)
			}
			continue
		}
		tid, _ := rec["trace_id"].(string)
		for _, s := range spans {
			if s.SpanContext.TraceID().String() == tid && !s.Parent.IsValid() || s.SpanContext.TraceID().String() == tid && s.Parent.IsRemote() {
				byID[id] = s.Name
			}
		}
		if rec["msg"] == "request" && id == "by-id" {
			if rec["route"] != "GET /api/v1/users/{id}" || rec["user_id"] != body.User.ID {
				t.Errorf("access line of by-id: %v", rec)
			}
		}
		if rec["msg"] == "request" && id == "unmatched" && rec["route"] != "unmatched" {
			t.Errorf("access line of unmatched: %v", rec)
		}
	}
	want := map[string]string{
		"reg":       "POST /api/v1/auth/register",
		"by-id":     "GET /api/v1/users/{id}",
		"unmatched": "GET",
		"v2":        "GET /api/v2/users",
	}
	for id, name := range want {
		if byID[id] != name {
			t.Errorf("span of %s = %q, want %q", id, byID[id], name)
		}
	}
	if len(spans) == 0 {
		t.Fatal("no spans")
	}
	for _, s := range spans {
		if strings.Contains(s.Name, "/healthz") || strings.Contains(s.Name, "/no/such") {
			t.Errorf("span %q", s.Name)
		}
		for _, kv := range s.Attributes {
			if strings.Contains(kv.Value.Emit(), "attrs@example.com") {
				t.Errorf("span %q attribute %s = %q", s.Name, kv.Key, kv.Value.Emit())
			}
		}
	}
}

// TestCallerTraceWithoutTracing: with no spans made here, a caller's
// traceparent still names the trace in the error body, and a request
// without one gets none.
func TestCallerTraceWithoutTracing(t *testing.T) {
	f := newFixture(t) // no TracerProvider
	const caller = "4bf92f3577b34da6a3ce929d0e0e4736"
	for _, tc := range []struct {
		header http.Header
		want   string
	}{
		{http.Header{"Traceparent": {"00-" + caller + "-00f067aa0ba902b7-01"}}, `"trace_id":"` + caller + `"`},
		{nil, ""},
	} {
		req := httptest.NewRequest("GET", "/api/v1/users/me", nil)
		for k, v := range tc.header {
			req.Header[k] = v
		}
		rec := httptest.NewRecorder()
		f.h.ServeHTTP(rec, req)
		body := rec.Body.String()
		if rec.Code != 401 || (tc.want != "" && !strings.Contains(body, tc.want)) || (tc.want == "" && strings.Contains(body, "trace_id")) {
			t.Errorf("headers %v: %d %s, want 401 with %q", tc.header, rec.Code, body, tc.want)
		}
	}
}
