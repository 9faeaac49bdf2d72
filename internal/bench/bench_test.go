package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/talentforge/authd/internal/password"
	"github.com/talentforge/authd/internal/sqlite"
	"github.com/talentforge/authd/internal/testclock"
	"github.com/talentforge/authd/internal/token"
)

// testPassword is the bench users' password in these tests.
const testPassword = "bench test passphrase 9c1e"

func TestOptionsValidate(t *testing.T) {
	good := Options{URLs: []string{"http://127.0.0.1:8080/", "http://127.0.0.1:8081"}, Scenarios: []string{Login, Verify, Login}, Concurrency: 4, Duration: time.Second, Users: 1,
		Password: testPassword}
	o, err := good.validate()
	if err != nil {
		t.Fatal(err)
	}
	if o.URLs[0] != "http://127.0.0.1:8080" || len(o.URLs) != 2 || len(o.Scenarios) != 2 || o.LimitDuration != time.Second {
		t.Errorf("normalised to %+v", o)
	}
	long := good
	long.Duration = MaxDuration
	if o, err := long.validate(); err != nil || o.LimitDuration != maxLimitDuration {
		t.Errorf("10m run: %v, limit duration %v", err, o.LimitDuration)
	}
	for name, change := range map[string]func(*Options){
		"no scheme":        func(o *Options) { o.URLs = []string{"http://127.0.0.1:8080", "127.0.0.1:8081"} },
		"no URL":           func(o *Options) { o.URLs = nil },
		"same URL twice":   func(o *Options) { o.URLs = []string{"http://127.0.0.1:8080/", "http://127.0.0.1:8080"} },
		"unknown scenario": func(o *Options) { o.Scenarios = []string{"logout"} },
		"no scenario":      func(o *Options) { o.Scenarios = nil },
		"no worker":        func(o *Options) { o.Concurrency = 0 },
		"zero duration":    func(o *Options) { o.Duration = 0 },
		"over 10m":         func(o *Options) { o.Duration = MaxDuration + time.Second },
		"no user to login": func(o *Options) { o.Users = 0 },
		"no password":      func(o *Options) { o.Password = "" },
		"short password":   func(o *Options) { o.Password = "ab€defg" },
	} {
		o := good
		change(&o)
		if _, err := o.validate(); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	registerOnly := good
	registerOnly.Scenarios, registerOnly.Users = []string{Register}, 0
	if _, err := registerOnly.validate(); err != nil {
		t.Errorf("register needs no seeded user: %v", err)
	}
}

// ticking is a clock that moves step forward each time it is read. A
// measurement of d on it takes a fixed number of readings, so it ends on a
// loaded machine exactly as on an idle one, and always measures something.
type ticking struct {
	mu   sync.Mutex
	now  time.Time
	step time.Duration
}

func newTicking(step time.Duration) *ticking {
	return &ticking{now: testclock.New().Now(), step: step}
}

func (c *ticking) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := c.now
	c.now = c.now.Add(c.step)
	return t
}

func TestLimits(t *testing.T) {
	ctx := t.Context()
	clk := newTicking(time.Millisecond)
	h := password.New(password.Config{Params: password.Params{Memory: 64, Time: 1}, MaxConcurrent: 2, QueueTimeout: time.Minute})
	hash, err := h.Hash(ctx, testPassword)
	if err != nil {
		t.Fatal(err)
	}
	if r, err := measureArgon2id(ctx, clk.Now, h, testPassword, hash, 2, 50*time.Millisecond); err != nil || r <= 0 {
		t.Errorf("argon2id: %v/s, %v", r, err)
	}
	other, err := h.Hash(ctx, "another passphrase entirely")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := measureArgon2id(ctx, clk.Now, h, testPassword, other, 2, time.Minute); err == nil {
		t.Error("a hash of another password measured without error")
	}

	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "keys.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.MigrateUp(ctx); err != nil {
		t.Fatal(err)
	}
	tm, err := token.New(ctx, db, token.Config{Issuer: "http://localhost", Algorithm: token.EdDSA, Secret: bytes.Repeat([]byte("k"), 32)})
	if err != nil {
		t.Fatal(err)
	}
	tok, err := issueToken(ctx, tm)
	if err != nil {
		t.Fatal(err)
	}
	if r, err := measureTokens(ctx, clk.Now, tm, tok, 2, 50*time.Millisecond); err != nil || r <= 0 {
		t.Errorf("tokens: %v/s, %v", r, err)
	}
	if _, err := measureTokens(ctx, clk.Now, tm, tok+"x", 2, time.Minute); err == nil {
		t.Error("a broken token measured without error")
	}

	bare, err := measureBare(ctx, clk.Now, NewClient(2), 2, 50*time.Millisecond, tok)
	if err != nil || bare.Requests == 0 || bare.ErrorCount() != 0 {
		t.Errorf("bare handler: %+v, %v", bare, err)
	}
}

// TestParallelRate measures an operation that takes 10ms of a test clock,
// after a first call per goroutine that takes an hour of it: the rate counts
// the timed calls over the time they took, and nothing of the warm-up.
func TestParallelRate(t *testing.T) {
	const (
		workers = 2
		d       = 200 * time.Millisecond
		took    = 10 * time.Millisecond
	)
	clk := testclock.New()
	var calls atomic.Int64
	r, err := parallelRate(t.Context(), clk.Now, workers, d, func(context.Context) error {
		// Every goroutine's warm-up call returns before any timed call
		// starts, so the first calls are the warm-ups.
		if calls.Add(1) <= workers {
			clk.Advance(time.Hour)
		} else {
			clk.Advance(took)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// The clock moves only by the calls, each of 10ms: whatever their
	// number, the rate is 100/s. They stop once 200ms have passed, with at
	// most one call in flight per other goroutine.
	timed := int(calls.Load()) - workers
	if timed < int(d/took) || timed > int(d/took)+workers-1 {
		t.Errorf("%d timed calls, want %d to %d", timed, d/took, int(d/took)+workers-1)
	}
	if math.Abs(r-100) > 1e-9 {
		t.Errorf("rate %v/s, want 100/s", r)
	}
}

// TestParallelRateStopsOnError measures on a clock that never moves: only
// the error can end the measurement.
func TestParallelRateStopsOnError(t *testing.T) {
	boom := errors.New("boom")
	calls := 0
	_, err := parallelRate(t.Context(), testclock.New().Now, 1, time.Minute, func(context.Context) error {
		calls++
		if calls == 3 {
			return boom
		}
		return nil
	})
	if !errors.Is(err, boom) || calls != 3 {
		t.Errorf("err %v after %d calls, want boom after 3", err, calls)
	}
}

func TestWriteReport(t *testing.T) {
	rep := &Report{
		Machine: thisMachine(),
		Options: Options{URLs: []string{"http://127.0.0.1:8080", "http://127.0.0.1:8081"}, Scenarios: []string{Login, Verify}, Concurrency: 8, Duration: time.Second, Users: 10,
			Server: Server{Argon2MemoryKiB: 19456, Argon2Iterations: 2, Argon2Parallelism: 1, Algorithm: "ES256"}},
		Seed:   &SeedResult{Users: 10, Inserted: 10, Elapsed: 10 * time.Millisecond},
		Limits: &Limits{Workers: 2, Argon2id: 40, Tokens: 9000, Bare: &Summary{Requests: 20000, Elapsed: time.Second, P50: 300 * time.Microsecond, Errors: map[string]int{}}},
		Scenarios: []Result{
			{Name: Login, Summary: Summary{Requests: 30, Elapsed: time.Second, P50: 50 * time.Millisecond, P95: 70 * time.Millisecond, P99: 80 * time.Millisecond, Max: 1200 * time.Millisecond,
				Errors: map[string]int{"429": 2}}, LimitName: "argon2id", Limit: 40, Memory: &Memory{Before: 1 << 20, After: 2 << 20, Max: 48 << 20}},
			{Name: Verify, Err: "prepare worker 0: log in bench-0@bench.authd.test: status 401", Summary: Summary{Errors: map[string]int{}}},
		},
	}
	rep.Warnings = warnings(rep)
	if len(rep.Warnings) != 1 || !strings.Contains(rep.Warnings[0], "AUTH_RATE_LOGIN_IP=1000000/1h") {
		t.Errorf("warnings %q", rep.Warnings)
	}
	var text bytes.Buffer
	if err := rep.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"seed: 10 users, 10 inserted", "argon2id 40.0/s", "0.75", "1.20s", "429×2", "48.0 MiB", "(bare net/http)", "20000", "verify could not start", "warning: login: 2 responses were 429"} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("text report lacks %q:\n%s", want, text.String())
		}
	}
	var js bytes.Buffer
	if err := rep.WriteJSON(&js); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Machine struct {
			GOMAXPROCS int `json:"gomaxprocs"`
		} `json:"machine"`
		Config struct {
			Argon2 struct {
				MemoryKiB int `json:"memory_kib"`
			} `json:"argon2"`
		} `json:"config"`
		Scenarios []struct {
			Name              string         `json:"name"`
			RequestsPerSecond float64        `json:"requests_per_second"`
			Errors            map[string]int `json:"errors"`
			Limit             *struct {
				Ratio float64 `json:"ratio"`
			} `json:"limit"`
			LatencyMS struct {
				Max float64 `json:"max"`
			} `json:"latency_ms"`
		} `json:"scenarios"`
	}
	if err := json.Unmarshal(js.Bytes(), &doc); err != nil {
		t.Fatalf("%v\n%s", err, js.String())
	}
	s := doc.Scenarios[0]
	if doc.Machine.GOMAXPROCS == 0 || doc.Config.Argon2.MemoryKiB != 19456 || s.RequestsPerSecond != 30 ||
		s.Limit == nil || s.Limit.Ratio != 0.75 || s.LatencyMS.Max != 1200 || s.Errors["429"] != 2 {
		t.Errorf("JSON report:\n%s", js.String())
	}
}

func TestWarnings(t *testing.T) {
	ok := Summary{Requests: 100, Elapsed: time.Second, Errors: map[string]int{}}
	rep := &Report{Scenarios: []Result{
		{Name: Login, Summary: ok, LimitName: "argon2id", Limit: 95},                  // 1.05: noise
		{Name: Verify, Summary: ok, LimitName: "bare net/http", Limit: 50},            // 2.00: the load changed
		{Name: Refresh, Summary: Summary{Errors: map[string]int{"503": 3, "401": 1}}}, // nothing succeeded
	}}
	got := strings.Join(warnings(rep), "\n")
	for _, want := range []string{"verify ran at 2.00× its limit", "refresh: 3 responses were 503", "refresh: no request succeeded"} {
		if !strings.Contains(got, want) {
			t.Errorf("warnings lack %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "login") {
		t.Errorf("a ratio of 1.05 is within noise:\n%s", got)
	}
}

// replica is a fake authd replica: it answers health checks, registrations
// (recording which worker sent each, by its email) and /metrics with a fixed
// resident memory.
type replica struct {
	mu      sync.Mutex
	workers map[string]int // email prefix → registrations
	rss     int
}

func (rp *replica) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case "/healthz":
	case "/metrics":
		fmt.Fprintf(w, "# TYPE process_resident_memory_bytes gauge\nprocess_resident_memory_bytes %d\n", rp.rss)
	case pathRegister:
		var c credentials
		if err := json.NewDecoder(r.Body).Decode(&c); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		// bench-r-<run>-<worker>-<n>@…: the worker is all but the count.
		prefix := c.Email[:strings.LastIndexByte(c.Email, '-')]
		rp.mu.Lock()
		rp.workers[prefix]++
		rp.mu.Unlock()
		w.WriteHeader(http.StatusCreated)
	default:
		http.NotFound(w, r)
	}
}

// TestRunSpreadsOverReplicas runs register against two real HTTP servers:
// worker i sends every request to replica i mod 2, both replicas answer, and
// the memory reported is the larger replica's.
func TestRunSpreadsOverReplicas(t *testing.T) {
	replicas := []*replica{{workers: map[string]int{}, rss: 10 << 20}, {workers: map[string]int{}, rss: 30 << 20}}
	var urls []string
	for _, rp := range replicas {
		srv := httptest.NewServer(rp)
		t.Cleanup(srv.Close)
		urls = append(urls, srv.URL)
	}
	o := Options{URLs: urls, Scenarios: []string{Register}, Concurrency: 4, Duration: 100 * time.Millisecond, Password: testPassword}
	rep, err := Run(t.Context(), o, Deps{})
	if err != nil {
		t.Fatal(err)
	}
	for i, rp := range replicas {
		rp.mu.Lock()
		var got []int
		for prefix, n := range rp.workers {
			if n == 0 {
				continue
			}
			var w int
			if _, err := fmt.Sscanf(prefix[strings.LastIndexByte(prefix, '-')+1:], "%d", &w); err != nil {
				t.Fatalf("prefix %q: %v", prefix, err)
			}
			got = append(got, w)
		}
		rp.mu.Unlock()
		slices.Sort(got)
		if want := []int{i, i + 2}; !slices.Equal(got, want) {
			t.Errorf("replica %d got requests from workers %v, want %v", i, got, want)
		}
	}
	res := rep.Scenarios[0]
	if res.Requests == 0 || res.Memory == nil || res.Memory.Max != 30<<20 || res.Memory.Before != 30<<20 {
		t.Errorf("register: %d requests, memory %+v; want the larger replica's 30 MiB", res.Requests, res.Memory)
	}
	if rep.Sizes != nil || !strings.Contains(rep.SizesNote, "only PostgreSQL") {
		t.Errorf("sizes %+v, note %q", rep.Sizes, rep.SizesNote)
	}
	var text bytes.Buffer
	if err := rep.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"(2 replicas)", urls[0] + ", " + urls[1], "rss max: the largest of the 2 replicas", "30.0 MiB", "database sizes: not measured"} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("text report lacks %q:\n%s", want, text.String())
		}
	}
	var js bytes.Buffer
	if err := rep.WriteJSON(&js); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Config struct {
			URLs     []string `json:"urls"`
			Replicas int      `json:"replicas"`
		} `json:"config"`
	}
	if err := json.Unmarshal(js.Bytes(), &doc); err != nil || doc.Config.Replicas != 2 || !slices.Equal(doc.Config.URLs, urls) {
		t.Errorf("JSON config: %v\n%s", err, js.String())
	}

	// A replica that does not answer fails the run before any load.
	o.URLs = append(o.URLs, "http://127.0.0.1:1")
	if _, err := Run(t.Context(), o, Deps{}); err == nil || !strings.Contains(err.Error(), "127.0.0.1:1") {
		t.Errorf("a dead replica: %v", err)
	}
}
