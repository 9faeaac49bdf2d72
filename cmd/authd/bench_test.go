package main

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http/httptest"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/talentforge/authd/internal/postgres/pgtest"
)

// benchEnv is the environment of a benchmarked authd: cheap hashing so the
// test is quick, and no rate limits, as a benchmark needs.
func benchEnv(extra map[string]string) map[string]string {
	vars := map[string]string{
		"AUTH_ARGON2_MEMORY_KIB":         "64",
		"AUTH_ARGON2_ITERATIONS":         "1",
		"AUTH_RATE_LOGIN_ACCOUNT":        "off",
		"AUTH_RATE_LOGIN_ACCOUNT_GLOBAL": "off",
		"AUTH_RATE_LOGIN_IP":             "off",
		"AUTH_RATE_REGISTER_IP":          "off",
		"AUTH_RATE_REFRESH_IP":           "off",
		"AUTH_RATE_CLIENT_IP":            "off",
	}
	for k, v := range extra {
		vars[k] = v
	}
	return vars
}

// startAuthd serves authd, wired as `authd serve` wires it, over the
// database of vars.
func startAuthd(t *testing.T, vars map[string]string) string {
	t.Helper()
	getenv := func(k string) string { return vars[k] }
	cfg, err := loadConfig(getenv)
	if err != nil {
		t.Fatal(err)
	}
	if !cfg.Embedded() {
		if out, err := cli(t, vars, "", "migrate", "up"); err != nil {
			t.Fatalf("migrate: %v\n%s", err, out)
		}
	}
	db, err := openReady(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	a, err := newApp(t.Context(), cfg, db, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(a.handler)
	t.Cleanup(func() {
		srv.Close()
		a.Close()
		db.Close()
	})
	return srv.URL
}

// benchReport is the part of `authd bench --json` the tests check.
type benchReport struct {
	Machine struct {
		GOMAXPROCS int `json:"gomaxprocs"`
	} `json:"machine"`
	Config struct {
		Concurrency int    `json:"concurrency"`
		Algorithm   string `json:"algorithm"`
		Argon2      struct {
			MemoryKiB int `json:"memory_kib"`
		} `json:"argon2"`
	} `json:"config"`
	Seed *struct {
		Users    int `json:"users"`
		Inserted int `json:"inserted"`
	} `json:"seed"`
	Limits *struct {
		Argon2id float64 `json:"argon2id_verifications_per_second"`
		Tokens   float64 `json:"token_verifications_per_second"`
		Bare     *struct {
			Requests int            `json:"requests"`
			Errors   map[string]int `json:"errors"`
		} `json:"bare_http"`
	} `json:"limits"`
	Scenarios []struct {
		Name     string         `json:"name"`
		Requests int            `json:"requests"`
		Rate     float64        `json:"requests_per_second"`
		Errors   map[string]int `json:"errors"`
		Error    string         `json:"error"`
		Limit    *struct {
			Name  string  `json:"name"`
			Ratio float64 `json:"ratio"`
		} `json:"limit"`
		Memory *struct {
			Max float64 `json:"max_bytes"`
		} `json:"memory"`
	} `json:"scenarios"`
	Warnings []string `json:"warnings"`
}

// benchJSON runs `authd bench --json args…` in process and decodes its report.
func benchJSON(t *testing.T, vars map[string]string, args ...string) benchReport {
	t.Helper()
	var out, errOut bytes.Buffer
	start := time.Now()
	err := run(t.Context(), append([]string{"bench", "--json"}, args...), func(k string) string { return vars[k] }, strings.NewReader(""), &out, &errOut)
	if err != nil {
		t.Fatalf("authd bench: %v\nstderr:\n%s\nstdout:\n%s", err, errOut.String(), out.String())
	}
	t.Logf("authd bench %s took %v", strings.Join(args, " "), time.Since(start).Round(time.Millisecond))
	var rep benchReport
	dec := json.NewDecoder(&out)
	if err := dec.Decode(&rep); err != nil {
		t.Fatalf("--json output does not parse: %v\n%s", err, out.String())
	}
	if dec.More() {
		t.Fatal("--json printed more than one JSON document")
	}
	return rep
}

func checkScenarios(t *testing.T, rep benchReport, want ...string) {
	t.Helper()
	if len(rep.Scenarios) != len(want) {
		t.Fatalf("%d scenarios reported, want %v", len(rep.Scenarios), want)
	}
	for i, s := range rep.Scenarios {
		if s.Name != want[i] {
			t.Errorf("scenario %d is %q, want %q", i, s.Name, want[i])
		}
		if s.Requests == 0 || s.Rate <= 0 || len(s.Errors) != 0 || s.Error != "" {
			t.Errorf("%s: %d requests (%v/s), errors %v %s", s.Name, s.Requests, s.Rate, s.Errors, s.Error)
		}
		// The process collector reads /proc.
		if runtime.GOOS == "linux" && (s.Memory == nil || s.Memory.Max <= 0) {
			t.Errorf("%s: no resident memory from /metrics", s.Name)
		}
	}
	for _, w := range rep.Warnings {
		// A ratio above 1 is load noise of a busy test machine; every
		// other warning is a failure.
		if !strings.Contains(w, "its limit") {
			t.Errorf("warning: %s", w)
		}
	}
}

// TestBenchAgainstAuthd runs every scenario and every limit against a real
// authd over embedded SQLite, then a second, text-mode run that finds the
// users already seeded.
func TestBenchAgainstAuthd(t *testing.T) {
	t.Parallel()
	vars := benchEnv(map[string]string{"AUTH_DATA_DIR": filepath.Join(t.TempDir(), "data")})
	url := startAuthd(t, vars)

	rep := benchJSON(t, vars, "--url", url, "--concurrency", "4", "--duration", "300ms", "--users", "50")
	if rep.Seed == nil || rep.Seed.Users != 50 || rep.Seed.Inserted != 50 {
		t.Errorf("seed: %+v", rep.Seed)
	}
	if rep.Machine.GOMAXPROCS == 0 || rep.Config.Concurrency != 4 || rep.Config.Argon2.MemoryKiB != 64 || rep.Config.Algorithm != "ES256" {
		t.Errorf("machine %+v, config %+v", rep.Machine, rep.Config)
	}
	l := rep.Limits
	if l == nil || l.Argon2id <= 0 || l.Tokens <= 0 || l.Bare == nil || l.Bare.Requests == 0 || len(l.Bare.Errors) != 0 {
		t.Fatalf("limits: %+v", l)
	}
	checkScenarios(t, rep, "register", "login", "refresh", "verify", "me")
	for _, s := range rep.Scenarios {
		wantLimit := map[string]string{"login": "argon2id", "verify": "bare net/http", "me": "bare net/http"}[s.Name]
		switch {
		case wantLimit == "" && s.Limit != nil:
			t.Errorf("%s compared with %+v; it has no natural limit", s.Name, s.Limit)
		case wantLimit != "" && (s.Limit == nil || s.Limit.Name != wantLimit || s.Limit.Ratio <= 0):
			t.Errorf("%s: limit %+v, want a ratio to %s", s.Name, s.Limit, wantLimit)
		}
	}

	var out, errOut bytes.Buffer
	err := run(t.Context(), []string{"bench", "--url", url, "--scenarios", "verify", "--concurrency", "2", "--duration", "100ms", "--users", "50", "--limits=false"},
		func(k string) string { return vars[k] }, strings.NewReader(""), &out, &errOut)
	if err != nil {
		t.Fatalf("authd bench: %v\n%s", err, errOut.String())
	}
	for _, want := range []string{"seed: 50 users, all present", "verify", "p99"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("text report lacks %q:\n%s", want, out.String())
		}
	}

	// The flood: many logins at once next to verify; both halves reported.
	rep = benchJSON(t, vars, "--url", url, "--scenarios", "flood", "--flood-logins", "16", "--concurrency", "2",
		"--duration", "300ms", "--users", "50", "--limits=false")
	checkScenarios(t, rep, "flood-login", "flood-verify")
}

// TestBenchSeedsPostgres seeds through the PostgreSQL backend and logs the
// seeded users in.
func TestBenchSeedsPostgres(t *testing.T) {
	t.Parallel()
	vars := benchEnv(map[string]string{
		"AUTH_DATABASE_URL": pgtest.URL(t),
		"AUTH_SECRET_KEY":   "0123456789abcdef0123456789abcdef-bench",
	})
	url := startAuthd(t, vars)
	rep := benchJSON(t, vars, "--url", url, "--scenarios", "login,refresh", "--concurrency", "4", "--duration", "200ms", "--users", "20", "--limits=false")
	if rep.Seed == nil || rep.Seed.Inserted != 20 || rep.Limits != nil {
		t.Errorf("seed %+v, limits %+v", rep.Seed, rep.Limits)
	}
	checkScenarios(t, rep, "login", "refresh")

	rep = benchJSON(t, vars, "--url", url, "--seed-only", "--users", "25")
	if rep.Seed == nil || rep.Seed.Inserted != 5 || len(rep.Scenarios) != 0 {
		t.Errorf("--seed-only: seed %+v, %d scenarios", rep.Seed, len(rep.Scenarios))
	}
}

func TestBenchFlags(t *testing.T) {
	vars := benchEnv(map[string]string{"AUTH_DATA_DIR": filepath.Join(t.TempDir(), "data")})
	for _, args := range [][]string{
		{"--duration", "11m"},
		{"--duration", "0s"},
		{"--scenarios", "login,logout"},
		{"--concurrency", "0"},
		{"--url", "127.0.0.1:8080"},
		{"extra"},
		{"--no-such-flag"},
	} {
		if out, err := cli(t, vars, "", append([]string{"bench"}, args...)...); err == nil {
			t.Errorf("bench %v: accepted\n%s", args, out)
		}
	}
	out, err := cli(t, vars, "", "bench", "-h")
	if err != nil || !strings.Contains(out, "-concurrency") {
		t.Errorf("bench -h: %v\n%s", err, out)
	}
}
