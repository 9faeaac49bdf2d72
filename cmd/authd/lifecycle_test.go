package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/talentforge/authd/internal/postgres/pgtest"
)

// getStatus GETs url and returns its status and body; 0 when it could not
// connect.
func getStatus(t *testing.T, url string) (int, string) {
	t.Helper()
	client := &http.Client{Timeout: 10 * time.Second}
	resp, err := client.Get(url)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

func embeddedVars(t *testing.T) map[string]string {
	return map[string]string{
		"AUTH_ADDR":              "127.0.0.1:0",
		"AUTH_DATA_DIR":          filepath.Join(t.TempDir(), "data"),
		"AUTH_ARGON2_MEMORY_KIB": "64",
		"AUTH_ARGON2_ITERATIONS": "1",
	}
}

// TestShutdownDelay: at SIGTERM /readyz turns 503 "shutting_down" at once,
// while /healthz and the API still answer for AUTH_SHUTDOWN_DELAY; then the
// listener closes. The test holds the delay open through waitShutdownDelay
// (not parallel: no other test runs meanwhile) instead of racing a timer.
func TestShutdownDelay(t *testing.T) {
	entered, release := make(chan time.Duration, 1), make(chan struct{})
	real := waitShutdownDelay
	t.Cleanup(func() { waitShutdownDelay = real })
	waitShutdownDelay = func(ctx context.Context, d time.Duration) {
		entered <- d
		<-release
		real(ctx, d)
	}

	vars := embeddedVars(t)
	vars["AUTH_SHUTDOWN_DELAY"] = "2s"
	s := serveInProcess(t, vars)
	base := "http://" + s.addr(t)
	if code, body := getStatus(t, base+"/readyz"); code != http.StatusOK || !strings.Contains(body, `"status":"ok"`) {
		t.Fatalf("readyz before shutdown: %d %s", code, body)
	}

	s.cancel() // SIGTERM
	select {
	case d := <-entered:
		if d != 2*time.Second {
			t.Fatalf("delay %v, want AUTH_SHUTDOWN_DELAY 2s", d)
		}
	case err := <-s.done:
		t.Fatalf("serve returned before the delay: %v", err)
	case <-time.After(30 * time.Second):
		t.Fatal("the shutdown delay did not begin within 30s")
	}
	code, body := getStatus(t, base+"/readyz")
	var ready struct{ Status string }
	json.Unmarshal([]byte(body), &ready)
	if code != http.StatusServiceUnavailable || ready.Status != "shutting_down" {
		t.Fatalf("readyz during the delay: %d %s, want 503 shutting_down", code, body)
	}
	if code, body := getStatus(t, base+"/healthz"); code != http.StatusOK {
		t.Fatalf("healthz during the delay: %d %s, want 200", code, body)
	}
	if code, body := getStatus(t, base+"/.well-known/jwks.json"); code != http.StatusOK {
		t.Fatalf("a request during the delay: %d %s, want 200", code, body)
	}

	released := time.Now()
	close(release)
	select {
	case err := <-s.done:
		if err != nil {
			t.Fatalf("serve: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("serve did not stop within 30s of the delay")
	}
	if waited := time.Since(released); waited < 2*time.Second {
		t.Errorf("serve stopped %v after the delay began, want at least AUTH_SHUTDOWN_DELAY 2s", waited)
	}
	if code, _ := getStatus(t, base+"/healthz"); code != 0 {
		t.Errorf("the listener still answers after shutdown: %d", code)
	}
	s.logs.waitFor(t, "authd stopped", time.Second)
}

// TestShutdownWithoutDelay: AUTH_SHUTDOWN_DELAY=0 stops accepting at once.
func TestShutdownWithoutDelay(t *testing.T) {
	vars := embeddedVars(t)
	vars["AUTH_SHUTDOWN_DELAY"] = "0"
	vars["AUTH_SHUTDOWN_TIMEOUT"] = "1m" // a delay, were it waited, would show
	s := serveInProcess(t, vars)
	start := time.Now()
	if err := s.stop(); err != nil {
		t.Fatal(err)
	}
	// A bound far below the 5s default delay: 0 waits nothing.
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("serve took %v to stop with AUTH_SHUTDOWN_DELAY=0", took)
	}
	for _, rec := range s.logs.all() {
		if rec["msg"] == "shutting down: /readyz answers 503, still serving" && rec["delay"] != "0s" {
			t.Errorf("delay logged %v, want 0s", rec["delay"])
		}
	}
}

// latestMigration is the highest version `authd migrate status` lists.
func latestMigration(t *testing.T, vars map[string]string) int64 {
	t.Helper()
	out, err := cli(t, vars, "", "migrate", "status")
	if err != nil {
		t.Fatalf("migrate status: %v\n%s", err, out)
	}
	var latest int64
	for _, line := range strings.Split(out, "\n")[1:] {
		var v int64
		if _, err := fmt.Sscan(line, &v); err == nil {
			latest = max(latest, v)
		}
	}
	if latest == 0 {
		t.Fatalf("no migration listed:\n%s", out)
	}
	return latest
}

// TestReadyzSchemaVersion: /readyz reports the applied migration version,
// the latest one once migrated, on both backends.
func TestReadyzSchemaVersion(t *testing.T) {
	for name, vars := range map[string]func(t *testing.T) map[string]string{
		"sqlite": embeddedVars,
		"postgres": func(t *testing.T) map[string]string {
			v := embeddedVars(t)
			v["AUTH_DATABASE_URL"] = pgtest.URL(t)
			v["AUTH_SECRET_KEY"] = "0123456789abcdef0123456789abcdef-lifecycle"
			if out, err := cli(t, v, "", "migrate", "up"); err != nil {
				t.Fatalf("migrate: %v\n%s", err, out)
			}
			return v
		},
	} {
		t.Run(name, func(t *testing.T) {
			v := vars(t)
			s := serveInProcess(t, v)
			code, body := getStatus(t, "http://"+s.addr(t)+"/readyz")
			var ready struct {
				Status        string `json:"status"`
				SchemaVersion int64  `json:"schema_version"`
				Checks        struct{ Database, Redis string }
			}
			if err := json.Unmarshal([]byte(body), &ready); err != nil || code != http.StatusOK {
				t.Fatalf("readyz: %d %s %v", code, body, err)
			}
			want := latestMigration(t, v)
			if ready.Status != "ok" || ready.SchemaVersion != want || ready.Checks.Database != "ok" {
				t.Errorf("readyz: %s, want status ok, schema_version %d", body, want)
			}
			if err := s.stop(); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestHealthcheck: authd healthcheck exits 0 against a running server
// (AUTH_ADDR with an unspecified host is checked on loopback) and 1 against a
// closed port, each with one line.
func TestHealthcheck(t *testing.T) {
	s := serveInProcess(t, embeddedVars(t))
	_, port, err := net.SplitHostPort(s.addr(t))
	if err != nil {
		t.Fatal(err)
	}
	stdout, stderr, code := runCLI(t, map[string]string{"AUTH_ADDR": "0.0.0.0:" + port}, "", "healthcheck")
	if code != exitOK || strings.Count(stdout, "\n") != 1 || !strings.Contains(stdout, "127.0.0.1:"+port+"/healthz") {
		t.Errorf("healthcheck of a running server: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	if err := s.stop(); err != nil {
		t.Fatal(err)
	}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := ln.Addr().String()
	ln.Close()
	stdout, stderr, code = runCLI(t, map[string]string{"AUTH_ADDR": closed}, "", "healthcheck")
	if code != exitFailure || stdout != "" {
		t.Errorf("healthcheck of a closed port: exit %d, stdout %q, stderr %q; want exit 1", code, stdout, stderr)
	}

	stdout, _, code = runCLI(t, nil, "", "healthcheck", "-h")
	if code != exitOK || !strings.HasPrefix(stdout, "usage: authd healthcheck") {
		t.Errorf("healthcheck -h: exit %d, stdout %q", code, stdout)
	}
}

func TestHealthzURL(t *testing.T) {
	for addr, want := range map[string]string{
		":8080":          "http://127.0.0.1:8080/healthz",
		"0.0.0.0:8080":   "http://127.0.0.1:8080/healthz",
		"[::]:8080":      "http://[::1]:8080/healthz",
		"10.0.0.5:9000":  "http://10.0.0.5:9000/healthz",
		"localhost:8080": "http://localhost:8080/healthz",
	} {
		if got, err := healthzURL(addr); err != nil || got != want {
			t.Errorf("healthzURL(%q) = %q, %v; want %q", addr, got, err, want)
		}
	}
}
