package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/talentforge/authd/internal/postgres/pgtest"
)

// logRecords collects the JSON log records of an in-process `authd serve`
// and closes listening when the server has logged that it listens.
type logRecords struct {
	mu        sync.Mutex
	partial   []byte
	records   []map[string]any
	listening chan struct{}
}

func (l *logRecords) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
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
	}
	return len(p), nil
}

// all returns the records logged so far.
func (l *logRecords) all() []map[string]any {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]map[string]any(nil), l.records...)
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
	ctx, cancel := context.WithCancel(t.Context())
	s := &inProcess{logs: &logRecords{listening: make(chan struct{})}, cancel: cancel, done: make(chan error, 1)}
	go func() {
		s.done <- run(ctx, []string{"serve"}, func(k string) string { return vars[k] }, strings.NewReader(""), io.Discard, s.logs)
	}()
	select {
	case <-s.logs.listening:
	case err := <-s.done:
		t.Fatalf("serve ended before listening: %v", err)
	case <-time.After(30 * time.Second):
		cancel()
		t.Fatal("serve did not listen within 30s")
	}
	t.Cleanup(cancel)
	return s
}

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
		"AUTH_ADDR":              freeAddr(t),
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
	vars["AUTH_ADDR"] = freeAddr(t)
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
	addr, debug := freeAddr(t), freeAddr(t)
	vars := map[string]string{
		"AUTH_ADDR":              addr,
		"AUTH_DEBUG_ADDR":        debug,
		"AUTH_DATA_DIR":          filepath.Join(t.TempDir(), "data"),
		"AUTH_ARGON2_MEMORY_KIB": "64",
		"AUTH_ARGON2_ITERATIONS": "1",
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"serve"}, func(k string) string { return vars[k] }, strings.NewReader(""), io.Discard, io.Discard)
	}()
	get := func(url string) int {
		resp, err := http.Get(url)
		if err != nil {
			return 0
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	deadline := time.Now().Add(20 * time.Second)
	for get("http://"+debug+"/debug/pprof/cmdline") != http.StatusOK {
		if time.Now().After(deadline) {
			t.Fatal("the debug listener did not answer")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if got := get("http://" + addr + "/debug/pprof/cmdline"); got != http.StatusNotFound {
		t.Fatalf("pprof on the public listener: %d, want 404", got)
	}
	cancel()
	if err := <-done; err != nil {
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
	addr, metrics := freeAddr(t), freeAddr(t)
	vars := map[string]string{
		"AUTH_ADDR":              addr,
		"AUTH_METRICS_ADDR":      metrics,
		"AUTH_DATA_DIR":          filepath.Join(t.TempDir(), "data"),
		"AUTH_ARGON2_MEMORY_KIB": "64",
		"AUTH_ARGON2_ITERATIONS": "1",
	}
	s := serveInProcess(t, vars)
	get := func(url string) (int, string) {
		resp, err := http.Get(url)
		if err != nil {
			return 0, err.Error()
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
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
