package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	collectortrace "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/protobuf/proto"

	"github.com/talentforge/authd/internal/config"
	"github.com/talentforge/authd/internal/postgres/pgtest"
	"github.com/talentforge/authd/internal/redisconn/redistest"
	"github.com/talentforge/authd/internal/telemetry"
)

const (
	traceEmail    = "Trace.Me@Example.com"
	tracePassword = "correct horse battery staple"
)

// tracedApp is the app wired as serve wires it, on a migrated PostgreSQL
// schema (and Redis when the tests have one), with spans going to an
// in-memory exporter and logs to records.
func tracedApp(t *testing.T) (*httptest.Server, *tracetest.InMemoryExporter, *logRecords) {
	t.Helper()
	vars := map[string]string{
		"AUTH_DATABASE_URL":      pgtest.URL(t),
		"AUTH_SECRET_KEY":        "0123456789abcdef0123456789abcdef-tracing",
		"AUTH_ARGON2_MEMORY_KIB": "64",
		"AUTH_ARGON2_ITERATIONS": "1",
		"AUTH_LOG_LEVEL":         "debug",
	}
	if url := redistest.URL(t); url != "" {
		vars["AUTH_REDIS_URL"] = url
		vars["AUTH_REDIS_KEY_PREFIX"] = redistest.Prefix(t, url)
	}
	if out, err := cli(t, vars, "", "migrate", "up"); err != nil {
		t.Fatalf("migrate: %v\n%s", err, out)
	}
	cfg, err := config.Load(func(k string) string { return vars[k] }, "")
	if err != nil {
		t.Fatal(err)
	}
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	tel := &telemetry.Tracing{Provider: tp, Propagator: telemetry.Propagator()}
	logs := newLogRecords()
	log := newLogger(cfg, logs)
	db, err := openReady(t.Context(), cfg, tel)
	if err != nil {
		t.Fatal(err)
	}
	a, err := newApp(t.Context(), cfg, db, log, tel)
	if err != nil {
		db.Close()
		t.Fatal(err)
	}
	srv := httptest.NewServer(a.handler)
	t.Cleanup(func() {
		srv.Close()
		a.Close()
		db.Close()
	})
	return srv, exp, logs
}

func postJSON(t *testing.T, url string, body any, header http.Header) (int, map[string]any) {
	t.Helper()
	b, _ := json.Marshal(body)
	req, err := http.NewRequestWithContext(t.Context(), "POST", url, bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for k, v := range header {
		req.Header[k] = v
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var out map[string]any
	data, _ := io.ReadAll(res.Body)
	if len(data) > 0 {
		if err := json.Unmarshal(data, &out); err != nil {
			t.Fatalf("%s: %v", data, err)
		}
	}
	return res.StatusCode, out
}

// spansOf returns the spans of the trace id.
func spansOf(spans tracetest.SpanStubs, id trace.TraceID) tracetest.SpanStubs {
	var out tracetest.SpanStubs
	for _, s := range spans {
		if s.SpanContext.TraceID() == id {
			out = append(out, s)
		}
	}
	return out
}

func findSpan(spans tracetest.SpanStubs, name string) *tracetest.SpanStub {
	for i := range spans {
		if spans[i].Name == name {
			return &spans[i]
		}
	}
	return nil
}

// descends reports whether s is below ancestor, following parent links
// through spans.
func descends(spans tracetest.SpanStubs, s tracetest.SpanStub, ancestor trace.SpanID) bool {
	byID := map[trace.SpanID]tracetest.SpanStub{}
	for _, x := range spans {
		byID[x.SpanContext.SpanID()] = x
	}
	for p := s.Parent.SpanID(); p.IsValid(); {
		if p == ancestor {
			return true
		}
		parent, ok := byID[p]
		if !ok {
			return false
		}
		p = parent.Parent.SpanID()
	}
	return false
}

func attr(attrs []attribute.KeyValue, key string) string {
	for _, kv := range attrs {
		if string(kv.Key) == key {
			return kv.Value.Emit()
		}
	}
	return ""
}

// TestLoginIsOneTrace: a login's server span is the root of one trace that
// holds its PostgreSQL queries and the password verification (after the
// hashing slot was acquired), each a descendant of the server span; an
// incoming traceparent makes the request part of the caller's trace, and
// its trace id shows in the error body and in every log line of the
// request, the domain's included, which carry an email_hash and never the
// address.
func TestLoginIsOneTrace(t *testing.T) {
	srv, exp, logs := tracedApp(t)

	if status, body := postJSON(t, srv.URL+"/api/v1/auth/register", map[string]string{"email": traceEmail, "password": tracePassword}, nil); status != 201 {
		t.Fatalf("register: %d %v", status, body)
	}

	// A failed login, in the caller's trace.
	const callerTrace = "4bf92f3577b34da6a3ce929d0e0e4736"
	status, body := postJSON(t, srv.URL+"/api/v1/auth/login", map[string]string{"email": traceEmail, "password": "wrong password, sorry"},
		http.Header{"Traceparent": {"00-" + callerTrace + "-00f067aa0ba902b7-01"}, "X-Request-Id": {"req-failed-login"}})
	if status != 401 {
		t.Fatalf("failed login: %d %v", status, body)
	}
	if got := body["error"].(map[string]any)["trace_id"]; got != callerTrace {
		t.Errorf("error body trace_id = %v, want %s (body %v)", got, callerTrace, body)
	}

	status, body = postJSON(t, srv.URL+"/api/v1/auth/login", map[string]string{"email": traceEmail, "password": tracePassword}, nil)
	if status != 200 {
		t.Fatalf("login: %d %v", status, body)
	}
	// Close waits for the handlers to return, and so for the server spans
	// to end and be exported.
	srv.Close()

	spans := exp.GetSpans()
	var logins tracetest.SpanStubs
	for _, s := range spans {
		if s.Name == "POST /api/v1/auth/login" {
			logins = append(logins, s)
		}
	}
	if len(logins) != 2 {
		t.Fatalf("%d login server spans, want 2; spans: %v", len(logins), names(spans))
	}
	failed, ok := logins[0], logins[1]
	if failed.SpanContext.TraceID().String() != callerTrace {
		failed, ok = ok, failed
	}
	if failed.SpanContext.TraceID().String() != callerTrace {
		t.Errorf("no login span in the caller's trace %s", callerTrace)
	}
	if failed.Parent.SpanID().String() != "00f067aa0ba902b7" || !failed.Parent.IsRemote() {
		t.Errorf("failed login's parent = %v, want the caller's span", failed.Parent)
	}

	tr := spansOf(spans, ok.SpanContext.TraceID())
	if ok.Parent.IsValid() {
		t.Errorf("login server span has a parent: %v", ok.Parent)
	}
	if ok.SpanKind != trace.SpanKindServer {
		t.Errorf("login span kind = %v", ok.SpanKind)
	}
	if got := attr(ok.Attributes, "http.route"); got != "/api/v1/auth/login" {
		t.Errorf("http.route = %q", got)
	}
	verify := findSpan(tr, "password.verify")
	if verify == nil {
		t.Fatalf("no password.verify span in the login's trace: %v", names(tr))
	}
	if !descends(tr, *verify, ok.SpanContext.SpanID()) {
		t.Errorf("password.verify is not below the server span")
	}
	if attr(verify.Attributes, "password.queue_wait_ms") == "" || len(verify.Events) == 0 || verify.Events[0].Name != "hashing slot acquired" {
		t.Errorf("password.verify carries no queue wait: %v %v", verify.Attributes, verify.Events)
	}
	var queries int
	for _, s := range tr {
		if attr(s.Attributes, "db.system.name") != "postgresql" {
			continue
		}
		queries++
		if !descends(tr, s, ok.SpanContext.SpanID()) {
			t.Errorf("query span %q is not below the server span", s.Name)
		}
	}
	if queries == 0 {
		t.Errorf("no PostgreSQL span in the login's trace: %v", names(tr))
	}

	// Nothing a span carries holds the address, the password or a token.
	for _, s := range spans {
		for _, kv := range s.Attributes {
			v := strings.ToLower(kv.Value.Emit())
			if strings.Contains(v, "trace.me@example.com") || strings.Contains(v, "horse") || strings.Contains(v, "wrong password") {
				t.Errorf("span %q attribute %s = %q", s.Name, kv.Key, v)
			}
		}
	}

	// The failed login's log lines.
	var lines []map[string]any
	for _, rec := range logs.all() {
		if rec["request_id"] == "req-failed-login" {
			lines = append(lines, rec)
		}
	}
	var sawFailure, sawAccess bool
	for _, rec := range lines {
		for _, k := range []string{"trace_id", "route", "client_ip"} {
			if rec[k] == nil || rec[k] == "" {
				t.Errorf("log line %q has no %s: %v", rec["msg"], k, rec)
			}
		}
		if rec["trace_id"] != callerTrace || rec["route"] != "POST /api/v1/auth/login" {
			t.Errorf("log line %q: trace_id %v, route %v", rec["msg"], rec["trace_id"], rec["route"])
		}
		switch rec["msg"] {
		case "login failed":
			sawFailure = true
			if h, _ := rec["email_hash"].(string); len(h) != 16 {
				t.Errorf("login failure logs email_hash %v", rec["email_hash"])
			}
		case "request":
			sawAccess = true
		}
	}
	if !sawFailure || !sawAccess {
		t.Errorf("failed login logged failure %v, access %v:\n%s", sawFailure, sawAccess, logs.String())
	}
	if out := strings.ToLower(logs.String()); strings.Contains(out, "trace.me@example.com") {
		t.Errorf("the logs hold the address:\n%s", logs.String())
	}
}

func names(spans tracetest.SpanStubs) []string {
	var out []string
	for _, s := range spans {
		out = append(out, s.Name)
	}
	return out
}

// otlpReceiver is an OTLP/HTTP trace receiver: it decodes each export
// request as the collector does.
type otlpReceiver struct {
	mu       sync.Mutex
	requests []*collectortrace.ExportTraceServiceRequest
	paths    []string
}

func (o *otlpReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil || r.Header.Get("Content-Type") != "application/x-protobuf" {
		http.Error(w, "bad request", http.StatusBadRequest)
		return
	}
	req := &collectortrace.ExportTraceServiceRequest{}
	if err := proto.Unmarshal(body, req); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	o.mu.Lock()
	o.requests = append(o.requests, req)
	o.paths = append(o.paths, r.URL.Path)
	o.mu.Unlock()
	resp, _ := proto.Marshal(&collectortrace.ExportTraceServiceResponse{})
	w.Header().Set("Content-Type", "application/x-protobuf")
	w.Write(resp)
}

// TestOTLPExport: `authd serve`, configured only through the standard
// OTEL_* variables, exports the spans of a request over OTLP/HTTP to the
// endpoint's /v1/traces, with the service name and resource attributes of
// those variables; serve flushes them at shutdown, after the drain.
func TestOTLPExport(t *testing.T) {
	recv := &otlpReceiver{}
	collector := httptest.NewServer(recv)
	defer collector.Close()

	vars := embeddedVars(t)
	vars["OTEL_EXPORTER_OTLP_ENDPOINT"] = collector.URL
	vars["OTEL_SERVICE_NAME"] = "authd-under-test"
	vars["OTEL_RESOURCE_ATTRIBUTES"] = "deployment.environment.name=test"
	s := serveInProcess(t, vars)
	if got := s.logs.waitFor(t, "tracing: exporting spans over OTLP", 5*time.Second); got["protocol"] != "http/protobuf" {
		t.Errorf("tracing log line: %v", got)
	}
	base := "http://" + s.addr(t)
	const traceID = "0af7651916cd43dd8448eb211c80319c"
	status, _ := postJSON(t, base+"/api/v1/auth/login", map[string]string{"email": "nobody@example.com", "password": "not a password at all"},
		http.Header{"Traceparent": {"00-" + traceID + "-b7ad6b7169203331-01"}})
	if status != 401 {
		t.Fatalf("login: %d", status)
	}
	if err := s.stop(); err != nil {
		t.Fatal(err)
	}

	recv.mu.Lock()
	defer recv.mu.Unlock()
	var found bool
	for i, req := range recv.requests {
		if recv.paths[i] != "/v1/traces" {
			t.Errorf("export to %s", recv.paths[i])
		}
		for _, rs := range req.ResourceSpans {
			res := map[string]string{}
			for _, kv := range rs.GetResource().GetAttributes() {
				res[kv.Key] = kv.GetValue().GetStringValue()
			}
			for _, ss := range rs.ScopeSpans {
				for _, sp := range ss.Spans {
					if sp.Name != "POST /api/v1/auth/login" {
						continue
					}
					found = true
					if got := trace.TraceID(sp.TraceId).String(); got != traceID {
						t.Errorf("exported trace id %s, want %s", got, traceID)
					}
					if res["service.name"] != "authd-under-test" || res["deployment.environment.name"] != "test" || res["service.version"] == "" {
						t.Errorf("resource = %v", res)
					}
				}
			}
		}
	}
	if !found {
		t.Errorf("the login span was not exported (%d export requests)", len(recv.requests))
	}
}

// TestRateLimitLogsEmailHash: a sign-in refused by the account's limit is
// logged with the request's attributes and the email_hash of the failures
// before it, never the address.
func TestRateLimitLogsEmailHash(t *testing.T) {
	srv, _, logs := tracedApp(t)
	if status, body := postJSON(t, srv.URL+"/api/v1/auth/register", map[string]string{"email": traceEmail, "password": tracePassword}, nil); status != 201 {
		t.Fatalf("register: %d %v", status, body)
	}
	// Bounded: the default limits refuse after a handful of failures.
	refused := false
	for i := 0; i < 100 && !refused; i++ {
		status, _ := postJSON(t, srv.URL+"/api/v1/auth/login", map[string]string{"email": traceEmail, "password": "not the password at all"},
			http.Header{"X-Request-Id": {"attempt-" + strconv.Itoa(i)}})
		refused = status == http.StatusTooManyRequests
	}
	if !refused {
		t.Fatal("never rate limited")
	}
	srv.Close()
	var hashes []string
	var limited map[string]any
	for _, rec := range logs.all() {
		switch rec["msg"] {
		case "login failed":
			hashes = append(hashes, rec["email_hash"].(string))
		case "rate limited":
			limited = rec
		}
	}
	if limited == nil {
		t.Fatalf("no rate-limited line:\n%s", logs.String())
	}
	if len(hashes) == 0 || limited["email_hash"] != hashes[0] {
		t.Errorf("rate-limited email_hash %v, failures' %v", limited["email_hash"], hashes)
	}
	for _, k := range []string{"request_id", "route", "client_ip", "rule"} {
		if limited[k] == nil {
			t.Errorf("rate-limited line has no %s: %v", k, limited)
		}
	}
	if strings.Contains(strings.ToLower(logs.String()), "trace.me@example.com") {
		t.Errorf("the logs hold the address:\n%s", logs.String())
	}
}
