package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"maps"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/talentforge/authd/internal/postgres/pgtest"
)

// logRecords collects the JSON log records of `authd serve` (in process or
// a child's output) and closes listening when the server has logged that it
// listens.
type logRecords struct {
	mu        sync.Mutex
	raw       bytes.Buffer
	partial   []byte
	records   []map[string]any
	listening chan struct{}
	changed   chan struct{} // closed and replaced at each record
}

func newLogRecords() *logRecords {
	return &logRecords{listening: make(chan struct{}), changed: make(chan struct{})}
}

func (l *logRecords) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.raw.Write(p)
	l.partial = append(l.partial, p...)
	for {
		line, rest, ok := bytes.Cut(l.partial, []byte("\n"))
		if !ok {
			break
		}
		l.partial = rest
		var rec map[string]any
		if err := json.Unmarshal(line, &rec); err != nil {
			rec = map[string]any{"msg": string(line)}
		}
		l.records = append(l.records, rec)
		if rec["msg"] == "authd listening" {
			close(l.listening)
		}
		close(l.changed)
		l.changed = make(chan struct{})
	}
	return len(p), nil
}

// waitFor returns the first record whose message is msg, waiting for it
// to be logged for up to timeout.
func (l *logRecords) waitFor(t *testing.T, msg string, timeout time.Duration) map[string]any {
	t.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		l.mu.Lock()
		for _, rec := range l.records {
			if rec["msg"] == msg {
				l.mu.Unlock()
				return rec
			}
		}
		changed := l.changed
		l.mu.Unlock()
		select {
		case <-changed:
		case <-deadline.C:
			t.Fatalf("no %q logged within %v:\n%s", msg, timeout, l.String())
			return nil
		}
	}
}

// all returns the records logged so far.
func (l *logRecords) all() []map[string]any {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]map[string]any(nil), l.records...)
}

// String returns everything written so far, as written.
func (l *logRecords) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.raw.String()
}

// addr returns the "addr" of the first record whose message is msg. The
// servers log the address each listener got, so that a test can configure
// port 0, let the system pick a free port and read it here: a port found
// free by the test and then configured could be taken by another process in
// between.
func (l *logRecords) addr(t *testing.T, msg string) string {
	t.Helper()
	for _, rec := range l.all() {
		if rec["msg"] == msg {
			if a, ok := rec["addr"].(string); ok && a != "" {
				return a
			}
		}
	}
	t.Fatalf("no address logged with %q:\n%s", msg, l.String())
	return ""
}

// inProcess is `authd serve` running in the test's process.
type inProcess struct {
	logs   *logRecords
	cancel context.CancelFunc
	done   chan error
}

// serveInProcess runs `authd serve` with vars and returns once it has logged
// that it listens: every listener is open by then.
func serveInProcess(t *testing.T, vars map[string]string) *inProcess {
	t.Helper()
	if _, ok := vars["AUTH_SHUTDOWN_DELAY"]; !ok {
		// Tests stop at once unless they test the delay.
		vars = maps.Clone(vars)
		vars["AUTH_SHUTDOWN_DELAY"] = "0"
	}
	ctx, cancel := context.WithCancel(t.Context())
	s := &inProcess{logs: newLogRecords(), cancel: cancel, done: make(chan error, 1)}
	go func() {
		s.done <- run(ctx, []string{"serve"}, environment(vars), strings.NewReader(""), io.Discard, s.logs)
	}()
	select {
	case <-s.logs.listening:
	case err := <-s.done:
		t.Fatalf("serve ended before listening: %v", err)
	case <-time.After(30 * time.Second):
		// A bound on a hang, not a measure: serve opens a database first.
		cancel()
		t.Fatal("serve did not listen within 30s")
	}
	t.Cleanup(cancel)
	return s
}

// addr returns the public listener's address.
func (s *inProcess) addr(t *testing.T) string { return s.logs.addr(t, "authd listening") }

// stop shuts the server down as SIGTERM does and returns serve's error.
func (s *inProcess) stop() error {
	s.cancel()
	return <-s.done
}

// TestPostgresWithoutRedis: replicas on one PostgreSQL without Redis don't
// share cache and counters. In development serve logs a warning naming the
// consequence; production refuses (see
// TestProductionRefusesToStartWithOneClearLine) unless AUTH_SINGLE_REPLICA=true,
// which starts without the warning.
func TestPostgresWithoutRedis(t *testing.T) {
	vars := map[string]string{
		"AUTH_ADDR":              "127.0.0.1:0",
		"AUTH_DATABASE_URL":      pgtest.URL(t),
		"AUTH_SECRET_KEY":        "0123456789abcdef0123456789abcdef-replicas",
		"AUTH_ARGON2_MEMORY_KIB": "64",
		"AUTH_ARGON2_ITERATIONS": "1",
	}
	if out, err := cli(t, vars, "", "migrate", "up"); err != nil {
		t.Fatalf("migrate: %v\n%s", err, out)
	}
	warnings := func(s *inProcess) []string {
		var out []string
		for _, rec := range s.logs.all() {
			if rec["level"] == "WARN" {
				out = append(out, rec["msg"].(string))
			}
		}
		return out
	}

	s := serveInProcess(t, vars)
	got := strings.Join(warnings(s), "\n")
	for _, want := range []string{"revocation may lag by up to AUTH_CACHE_TTL (5m0s)", "rate limits multiply by the replica count"} {
		if !strings.Contains(got, want) {
			t.Errorf("warnings lack %q:\n%s", want, got)
		}
	}
	if err := s.stop(); err != nil {
		t.Fatal(err)
	}

	vars["AUTH_ENV"], vars["AUTH_ISSUER"], vars["AUTH_SINGLE_REPLICA"] = "production", "https://auth.example.com", "true"
	vars["AUTH_SMTP_URL"] = "smtp://127.0.0.1:1" // required in production; no mail is sent here
	s = serveInProcess(t, vars)
	if w := warnings(s); len(w) != 0 {
		t.Errorf("one declared replica still warned: %q", w)
	}
	if err := s.stop(); err != nil {
		t.Fatal(err)
	}
}

// TestDebugListener: AUTH_DEBUG_ADDR serves pprof on its own loopback
// listener, never on the public one, and stops with the server.
func TestDebugListener(t *testing.T) {
	s := serveInProcess(t, map[string]string{
		"AUTH_ADDR":              "127.0.0.1:0",
		"AUTH_DEBUG_ADDR":        "127.0.0.1:0",
		"AUTH_DATA_DIR":          filepath.Join(t.TempDir(), "data"),
		"AUTH_ARGON2_MEMORY_KIB": "64",
		"AUTH_ARGON2_ITERATIONS": "1",
	})
	addr, debug := s.addr(t), s.logs.addr(t, "pprof profiles served")
	get := func(url string) int {
		resp, err := http.Get(url)
		if err != nil {
			return 0
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	// serve logs that it listens once every listener is open.
	if got := get("http://" + debug + "/debug/pprof/cmdline"); got != http.StatusOK {
		t.Fatalf("pprof on the debug listener: %d, want 200", got)
	}
	if got := get("http://" + addr + "/debug/pprof/cmdline"); got != http.StatusNotFound {
		t.Fatalf("pprof on the public listener: %d, want 404", got)
	}
	if err := s.stop(); err != nil {
		t.Fatalf("serve: %v", err)
	}
	if got := get("http://" + debug + "/debug/pprof/cmdline"); got != 0 {
		t.Fatalf("debug listener still answers after shutdown: %d", got)
	}
}

// TestMetricsListener: with AUTH_METRICS_ADDR, /metrics leaves the public
// listener (404) for a listener of its own, which serves the same registry
// the public traffic updates, and shutdown closes both.
func TestMetricsListener(t *testing.T) {
	s := serveInProcess(t, map[string]string{
		"AUTH_ADDR":              "127.0.0.1:0",
		"AUTH_METRICS_ADDR":      "127.0.0.1:0",
		"AUTH_DATA_DIR":          filepath.Join(t.TempDir(), "data"),
		"AUTH_ARGON2_MEMORY_KIB": "64",
		"AUTH_ARGON2_ITERATIONS": "1",
	})
	addr, metrics := s.addr(t), s.logs.addr(t, "metrics served")
	get := func(url string) (int, string) {
		resp, err := http.Get(url)
		if err != nil {
			return 0, err.Error()
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatalf("GET %s: %v", url, err)
		}
		return resp.StatusCode, string(b)
	}

	// A signed-in request goes through the session cache, whose counter
	// is one of authd's metrics.
	res := call(t, "POST", "http://"+addr+"/api/v1/auth/register", "", `{"email":"m@example.com","password":"metrics passphrase"}`)
	res.want(t, 201)
	call(t, "GET", "http://"+addr+"/api/v1/users/me", res.tokens(t).Access, "").want(t, 200)

	cacheMisses := regexp.MustCompile(`(?m)^authd_cache_requests_total\{result="miss"\} [1-9]`)
	if status, body := get("http://" + addr + "/metrics"); status != http.StatusNotFound {
		t.Errorf("/metrics on the public listener: %d, want 404\n%.300s", status, body)
	}
	status, body := get("http://" + metrics + "/metrics")
	if status != http.StatusOK || !cacheMisses.MatchString(body) || !strings.Contains(body, "go_goroutines") {
		t.Errorf("/metrics on AUTH_METRICS_ADDR: %d, want 200 with Go's metrics and the cache misses of GET /me:\n%.2000s", status, body)
	}

	if err := s.stop(); err != nil {
		t.Fatalf("serve: %v", err)
	}
	for _, a := range []string{addr, metrics} {
		if status, _ := get("http://" + a + "/metrics"); status != 0 {
			t.Errorf("%s still answers after shutdown: %d", a, status)
		}
	}
}

// TestMailWithoutSMTPGoesToTheLog: with no configuration at all, the
// outbox runs with the server and writes the sign-up's verification mail
// to the log, its link under AUTH_ISSUER/ui, and its metrics are served.
func TestMailWithoutSMTPGoesToTheLog(t *testing.T) {
	s := serveInProcess(t, map[string]string{
		"AUTH_ADDR":              "127.0.0.1:0",
		"AUTH_DATA_DIR":          filepath.Join(t.TempDir(), "data"),
		"AUTH_ARGON2_MEMORY_KIB": "64",
		"AUTH_ARGON2_ITERATIONS": "1",
	})
	addr := s.addr(t)
	call(t, "POST", "http://"+addr+"/api/v1/auth/register", "", `{"email":"log@example.com","password":"log mail passphrase"}`).want(t, 201)
	rec := s.logs.waitFor(t, "mail not sent, written to the log (no SMTP server configured)", 30*time.Second)
	links, _ := rec["links"].([]any)
	if rec["to"] != "log@example.com" || len(links) != 1 ||
		!strings.HasPrefix(links[0].(string), "http://localhost:8080/ui/verify-email#token=") {
		t.Errorf("logged mail %v, want to log@example.com with one link under http://localhost:8080/ui/verify-email#token=", rec)
	}
	res := call(t, "GET", "http://"+addr+"/metrics", "", "")
	res.want(t, 200)
	for _, want := range []string{"authd_outbox_queued ", "authd_outbox_oldest_age_seconds ", `authd_mail_sent_total{kind="verify_email"}`,
		`authd_mail_failed_total{kind="reset_password",reason="gave_up"}`} {
		if !strings.Contains(string(res.body), want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	if err := s.stop(); err != nil {
		t.Fatalf("serve: %v", err)
	}
}
