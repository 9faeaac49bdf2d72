package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/talentforge/authd/internal/auth"
	"github.com/talentforge/authd/internal/postgres/pgtest"
)

// testBenchPassword is given to the runs of one test that share seeded
// users; a run without --password generates one.
const testBenchPassword = "bench test passphrase 4d9b"

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
	_, srv := serveApp(t, cfg)
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
	err := run(t.Context(), append([]string{"bench", "--json"}, args...), environment(vars), strings.NewReader(""), &out, &errOut)
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

	rep := benchJSON(t, vars, "--url", url, "--password", testBenchPassword, "--concurrency", "4", "--duration", "300ms", "--users", "50")
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
	err := run(t.Context(), []string{"bench", "--url", url, "--password", testBenchPassword, "--scenarios", "verify", "--concurrency", "2", "--duration", "100ms", "--users", "50", "--limits=false"},
		environment(vars), strings.NewReader(""), &out, &errOut)
	if err != nil {
		t.Fatalf("authd bench: %v\n%s", err, errOut.String())
	}
	for _, want := range []string{"seed: 50 users, all present", "verify", "p99"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("text report lacks %q:\n%s", want, out.String())
		}
	}

	// The flood: many logins at once next to verify; both halves reported.
	rep = benchJSON(t, vars, "--url", url, "--password", testBenchPassword, "--scenarios", "flood", "--flood-logins", "16", "--concurrency", "2",
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
	rep := benchJSON(t, vars, "--url", url, "--password", testBenchPassword, "--scenarios", "login,refresh", "--concurrency", "4", "--duration", "200ms", "--users", "20", "--limits=false")
	if rep.Seed == nil || rep.Seed.Inserted != 20 || rep.Limits != nil {
		t.Errorf("seed %+v, limits %+v", rep.Seed, rep.Limits)
	}
	checkScenarios(t, rep, "login", "refresh")

	rep = benchJSON(t, vars, "--url", url, "--password", testBenchPassword, "--seed-only", "--users", "25")
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

// benchPasswordLine finds the password a bench run generated in its stderr.
var benchPasswordLine = regexp.MustCompile(`the seeded users' password is (\S+) `)

// TestBenchGeneratesThePassword: each seeding run generates a random
// password, prints it to stderr and seeds with it: no published constant
// signs anyone in. A later run logs in as the same users by passing it with
// --password; without it, the error says so.
func TestBenchGeneratesThePassword(t *testing.T) {
	t.Parallel()
	vars := benchEnv(map[string]string{"AUTH_DATA_DIR": filepath.Join(t.TempDir(), "data")})
	url := startAuthd(t, vars)
	bench := func(args ...string) (stderr string, err error) {
		var out, errOut bytes.Buffer
		err = run(t.Context(), append([]string{"bench", "--url", url}, args...), environment(vars), strings.NewReader(""), &out, &errOut)
		return errOut.String(), err
	}
	login := func(i int, password string) int {
		t.Helper()
		body, err := json.Marshal(map[string]string{"email": fmt.Sprintf("bench-%d@bench.authd.test", i), "password": password})
		if err != nil {
			t.Fatal(err)
		}
		return call(t, "POST", url+"/api/v1/auth/login", "", string(body)).status
	}
	seed := func(users string) string {
		t.Helper()
		stderr, err := bench("--seed-only", "--users", users)
		if err != nil {
			t.Fatalf("seed %s users: %v\n%s", users, err, stderr)
		}
		m := benchPasswordLine.FindStringSubmatch(stderr)
		if m == nil {
			t.Fatalf("seeding printed no password:\n%s", stderr)
		}
		return m[1]
	}

	first := seed("1")
	if got := login(0, first); got != http.StatusOK {
		t.Errorf("login with the printed password: %d", got)
	}
	if got := login(0, "authd bench passphrase 7f3c9e2a"); got != http.StatusUnauthorized {
		t.Errorf("login with the password once published in the source: %d", got)
	}
	second := seed("2")
	if second == first || len(second) < 20 {
		t.Errorf("passwords of two runs: %q then %q; want a fresh random one each", first, second)
	}
	if login(1, second) != http.StatusOK || login(0, second) != http.StatusUnauthorized || login(0, first) != http.StatusOK {
		t.Error("the second run's password must sign in its new user only; the first user keeps the first")
	}

	args := []string{"--scenarios", "login", "--users", "1", "--concurrency", "1", "--duration", "100ms", "--limits=false"}
	if stderr, err := bench(append(args, "--password", first)...); err != nil {
		t.Errorf("a run given the seeding run's password: %v\n%s", err, stderr)
	}
	if stderr, err := bench(args...); err == nil || !strings.Contains(err.Error(), "--password") {
		t.Errorf("a run without the seeding run's password: %v, want an error pointing at --password\n%s", err, stderr)
	}
}

// TestBenchRefusesToSeedProduction: with AUTH_ENV=production, bench seeds
// no users, with one line saying why, even with a server to load.
func TestBenchRefusesToSeedProduction(t *testing.T) {
	t.Parallel()
	vars := benchEnv(map[string]string{
		"AUTH_ENV":        "production",
		"AUTH_ISSUER":     "https://auth.example.com",
		"AUTH_SECRET_KEY": "7f3e9a1c5b2d4e6f8a0c1e3f5a7b9d0e2f4a6c8e",
		"AUTH_SMTP_URL":   "smtp://127.0.0.1:1", // required in production; bench sends none
		"AUTH_DATA_DIR":   filepath.Join(t.TempDir(), "data"),
	})
	url := startAuthd(t, vars)
	for _, args := range [][]string{
		{"--seed-only"},
		{"--scenarios", "login", "--limits=false"},
		{}, // every scenario
	} {
		out, err := cli(t, vars, "", append([]string{"bench", "--url", url, "--users", "2", "--duration", "100ms"}, args...)...)
		if err == nil || !strings.Contains(err.Error(), "AUTH_ENV=production") || strings.Contains(err.Error(), "\n") {
			t.Errorf("bench %v: %v, want one line naming AUTH_ENV=production\n%s", args, err, out)
		}
	}
	cfg, err := loadConfig(func(k string) string { return vars[k] })
	if err != nil {
		t.Fatal(err)
	}
	db, err := openDatabase(t.Context(), cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.UserByEmail(t.Context(), "bench-0@bench.authd.test"); auth.ErrorCode(err) != auth.ENotFound {
		t.Errorf("bench-0 in the production database: %v", err)
	}
}

// TestBenchURLList: --url takes several replicas, in one flag separated by
// commas or in repeated flags, in the order given.
func TestBenchURLList(t *testing.T) {
	var l urlList
	for _, v := range []string{"http://127.0.0.1:1, http://127.0.0.1:2", "http://127.0.0.1:3", ","} {
		if err := l.Set(v); err != nil {
			t.Fatal(err)
		}
	}
	if got, want := l.String(), "http://127.0.0.1:1,http://127.0.0.1:2,http://127.0.0.1:3"; got != want {
		t.Errorf("--url values %q, want %q", got, want)
	}
}
