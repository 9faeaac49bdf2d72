package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/talentforge/authd/internal/config"
	"github.com/talentforge/authd/internal/postgres/pgtest"
	"github.com/talentforge/authd/internal/redisconn/redistest"
)

// replica is one authd instance wired exactly as `authd serve` wires it.
type replica struct {
	t    *testing.T
	app  *app
	srv  *httptest.Server
	vars map[string]string // the AUTH_* variables it was started with
}

// startReplicas starts n authd instances over one migrated PostgreSQL schema
// and the Redis at redisURL, as n replicas behind a load balancer would run.
func startReplicas(t *testing.T, n int, redisURL string, extra map[string]string) []*replica {
	t.Helper()
	vars := map[string]string{
		"AUTH_DATABASE_URL":      pgtest.URL(t),
		"AUTH_REDIS_URL":         redisURL,
		"AUTH_REDIS_KEY_PREFIX":  redistest.Prefix(t, redisURL),
		"AUTH_SECRET_KEY":        "0123456789abcdef0123456789abcdef-replicas",
		"AUTH_ARGON2_MEMORY_KIB": "64",
		"AUTH_ARGON2_ITERATIONS": "1",
	}
	for k, v := range extra {
		vars[k] = v
	}
	if out, err := cli(t, vars, "", "migrate", "up"); err != nil {
		t.Fatalf("migrate: %v\n%s", err, out)
	}
	cfg, err := config.Load(func(k string) string { return vars[k] }, "")
	if err != nil {
		t.Fatal(err)
	}
	var rs []*replica
	for range n {
		a, srv := serveApp(t, cfg)
		if a.redis != nil {
			// Probe often so recovery tests don't wait a second per step.
			a.redis.SetProbeInterval(50 * time.Millisecond)
		}
		rs = append(rs, &replica{t: t, app: a, srv: srv, vars: vars})
	}
	return rs
}

// serveApp opens the database and wires the app from cfg as serve does,
// behind an httptest server; all three close with the test.
func serveApp(t *testing.T, cfg *config.Config) (*app, *httptest.Server) {
	t.Helper()
	db, err := openReady(t.Context(), cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	a, err := newApp(t.Context(), cfg, db, slog.New(slog.DiscardHandler), nil)
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
	return a, srv
}

// call sends a JSON request and returns the status and decoded body.
func (r *replica) call(method, path, bearer string, body any) (int, map[string]any, http.Header) {
	r.t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			r.t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(r.t.Context(), method, r.srv.URL+path, rd)
	if err != nil {
		r.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	resp, err := r.srv.Client().Do(req)
	if err != nil {
		r.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		r.t.Fatalf("%s %s: %v", method, path, err)
	}
	var out map[string]any
	// A 204 has no body; any other must be the JSON object it claims.
	if len(b) > 0 {
		if err := json.Unmarshal(b, &out); err != nil {
			r.t.Fatalf("%s %s: %d with a body that is no JSON object: %v\n%s", method, path, resp.StatusCode, err, b)
		}
	}
	return resp.StatusCode, out, resp.Header
}

func (r *replica) register(email string) (access, refresh string) {
	r.t.Helper()
	status, body, _ := r.call("POST", "/api/v1/auth/register", "", map[string]string{"email": email, "password": "correct horse battery staple"})
	if status != http.StatusCreated {
		r.t.Fatalf("register: %d %v", status, body)
	}
	return body["access_token"].(string), body["refresh_token"].(string)
}

func (r *replica) login(email, password string) (int, string) {
	r.t.Helper()
	status, body, _ := r.call("POST", "/api/v1/auth/login", "", map[string]string{"email": email, "password": password})
	if status == http.StatusOK {
		return status, body["access_token"].(string)
	}
	return status, ""
}

func (r *replica) verify(access string) int {
	r.t.Helper()
	status, _, _ := r.call("GET", "/api/v1/auth/verify", access, nil)
	return status
}

// propagationBound is how long a change made through one replica may take
// to decide requests on another that holds the old state in memory: the
// Redis invalidation feed delivers it in well under a millisecond, and a
// feed that stops answering is dropped after three 1s health checks. A
// generous bound: only a broken feed reaches it.
const propagationBound = 5 * time.Second

// eventually calls status until it returns want, for at most
// propagationBound, and fails the test with what it last returned.
func eventually(t *testing.T, what string, want int, status func() int) {
	t.Helper()
	deadline := time.Now().Add(propagationBound)
	for {
		got := status()
		if got == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %d after %v, want %d", what, got, propagationBound, want)
		}
		time.Sleep(time.Millisecond)
	}
}

func (r *replica) redisCheck() (int, string) {
	r.t.Helper()
	status, body, _ := r.call("GET", "/readyz", "", nil)
	checks, _ := body["checks"].(map[string]any)
	s, _ := checks["redis"].(string)
	return status, s
}

func TestReplicasShareRevocationAndLockouts(t *testing.T) {
	for name, url := range map[string]func(testing.TB) string{"redis": redistest.URL, "redis-cluster": redistest.ClusterURL} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			rs := startReplicas(t, 2, url(t), nil)
			a, b := rs[0], rs[1]

			access, _ := a.register("ada@example.com")
			if a.verify(access) != 200 || b.verify(access) != 200 {
				t.Fatal("a fresh token must verify on both replicas")
			}
			// Both replicas have the session cached; a logout on one is
			// honoured at once by it and by the other as soon as Redis's
			// report reaches it (TestReplicaRevocationPropagation measures
			// how soon).
			if status, _, _ := a.call("POST", "/api/v1/auth/logout", access, map[string]string{}); status != http.StatusNoContent {
				t.Fatalf("logout: %d", status)
			}
			if got := a.verify(access); got != http.StatusUnauthorized {
				t.Fatalf("verify on the replica that logged out: %d, want 401", got)
			}
			eventually(t, "verify on the other replica after logout", http.StatusUnauthorized, func() int { return b.verify(access) })

			// Failed logins count across replicas: 5 in all, whichever
			// replica they hit, lock the account on both.
			for i := range 5 {
				r := rs[i%2]
				if status, _ := r.login("ada@example.com", "wrong password"); status != http.StatusUnauthorized {
					t.Fatalf("failed login %d: %d", i+1, status)
				}
			}
			for _, r := range rs {
				status, body, h := r.call("POST", "/api/v1/auth/login", "", map[string]string{"email": "ada@example.com", "password": "correct horse battery staple"})
				if status != http.StatusTooManyRequests || h.Get("Retry-After") == "" {
					t.Fatalf("login after 5 failures: %d %v (Retry-After %q)", status, body, h.Get("Retry-After"))
				}
			}
			if status, state := a.redisCheck(); status != 200 || state != "ok" {
				t.Fatalf("readyz: %d redis=%q", status, state)
			}
		})
	}
}

// TestReplicasSharePrivilegeChanges: a role granted, edited or revoked
// through one replica decides the next request on the other, whose role
// catalog and session entries were warm.
func TestReplicasSharePrivilegeChanges(t *testing.T) {
	for name, url := range map[string]func(testing.TB) string{"redis": redistest.URL, "redis-cluster": redistest.ClusterURL} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			rs := startReplicas(t, 2, url(t), nil)
			a, b := rs[0], rs[1]
			if out, err := cli(t, a.vars, "an admin passphrase\n", "users", "create", "--email", "root@example.com", "--role", "admin"); err != nil {
				t.Fatalf("users create: %v\n%s", err, out)
			}
			status, admin := a.login("root@example.com", "an admin passphrase")
			if status != http.StatusOK {
				t.Fatalf("admin login: %d", status)
			}
			access, _ := b.register("ada@example.com")
			status, me, _ := b.call("GET", "/api/v1/users/me", access, nil)
			id, _ := me["id"].(string)
			if status != http.StatusOK || id == "" {
				t.Fatalf("GET /users/me: %d %v", status, me)
			}

			audit := func(r *replica) int {
				status, _, _ := r.call("GET", "/api/v1/audit?limit=1", access, nil)
				return status
			}
			step := func(what string, r *replica, method, path string, body any, want int) {
				t.Helper()
				if status, out, _ := r.call(method, path, admin, body); status != want {
					t.Fatalf("%s: %d %v", what, status, out)
				}
			}
			if audit(b) != http.StatusForbidden { // warms b's cache
				t.Fatal("a plain user read the audit log")
			}
			step("create role", a, "POST", "/api/v1/roles", map[string]any{"name": "auditor", "permissions": []string{"audit:read"}}, 201)
			// Each change decides the next request on the replica that
			// made it, and the other's once Redis's report reaches it.
			both := func(what string, want int, status func(*replica) int) {
				t.Helper()
				if got := status(a); got != want {
					t.Fatalf("%s, on the replica that made it: %d, want %d", what, got, want)
				}
				eventually(t, what+", on the other replica", want, func() int { return status(b) })
			}
			step("grant", a, "PUT", "/api/v1/users/"+id+"/roles/auditor", nil, 204)
			both("after a grant", http.StatusOK, audit)
			step("edit role", a, "PATCH", "/api/v1/roles/auditor", map[string]any{"permissions": []string{}}, 200)
			both("after the role lost audit:read", http.StatusForbidden, audit)
			step("restore role", a, "PATCH", "/api/v1/roles/auditor", map[string]any{"permissions": []string{"audit:read"}}, 200)
			both("after the role regained audit:read", http.StatusOK, audit)
			step("revoke", a, "DELETE", "/api/v1/users/"+id+"/roles/auditor", nil, 204)
			both("after a revoke", http.StatusForbidden, audit)
			step("disable", a, "PATCH", "/api/v1/users/"+id, map[string]any{"status": "disabled"}, 200)
			both("after disabling", http.StatusUnauthorized, func(r *replica) int { return r.verify(access) })
		})
	}
}

// TestRedisFaults stops, restarts and flushes a private Redis under two
// replicas: requests keep being answered correctly from the database,
// revoked tokens stay revoked, and the replicas recover by themselves.
func TestRedisFaults(t *testing.T) {
	t.Parallel()
	redis := redistest.StartServer(t)
	rs := startReplicas(t, 2, redis.URL(), nil)
	a, b := rs[0], rs[1]

	live, _ := a.register("ada@example.com")
	dead, _ := a.register("bob@example.com")
	for _, r := range rs {
		if r.verify(live) != 200 || r.verify(dead) != 200 {
			t.Fatal("warm-up verify failed")
		}
	}
	if status, _, _ := a.call("POST", "/api/v1/auth/logout", dead, map[string]string{}); status != http.StatusNoContent {
		t.Fatal("logout failed")
	}

	// Flush: the cache is gone, the database still says revoked.
	redis.Flush()
	for _, r := range rs {
		if r.verify(live) != 200 || r.verify(dead) != 401 {
			t.Fatal("after a flush: live must verify and revoked must not")
		}
	}

	// From here until the end, clients verify both tokens on both replicas
	// without pause: through the outage and the recovery, every answer must
	// be right and none may be a 5xx.
	load := startVerifyLoad(t, rs, map[string]int{live: 200, dead: 401})

	// Stop: every replica goes degraded, keeps answering from the database.
	redis.Stop()
	for _, r := range rs {
		if got := r.verify(live); got != 200 {
			t.Fatalf("verify with Redis down: %d", got)
		}
		if got := r.verify(dead); got != 401 {
			t.Fatalf("revoked token with Redis down: %d", got)
		}
		if status, state := r.redisCheck(); status != 200 || state != "degraded" {
			t.Fatalf("readyz with Redis down: %d redis=%q, want 200 degraded", status, state)
		}
	}
	metrics := scrape(t, a)
	if !strings.Contains(metrics, "authd_redis_up{mode=\"standalone\"} 0") {
		t.Fatalf("metrics do not report Redis down:\n%s", grepLines(metrics, "authd_redis"))
	}
	// A logout while Redis is down is honoured everywhere at once.
	second, _ := b.register("cy@example.com")
	if a.verify(second) != 200 {
		t.Fatal("verify of a new session with Redis down")
	}
	if status, _, _ := b.call("POST", "/api/v1/auth/logout", second, map[string]string{}); status != http.StatusNoContent {
		t.Fatal("logout with Redis down failed")
	}
	if a.verify(second) != 401 {
		t.Fatal("logout with Redis down not honoured by the other replica")
	}
	// Limits fall back to in-process counters: still enforced.
	for i := range 5 {
		if status, _ := a.login("ada@example.com", "wrong password"); status != http.StatusUnauthorized {
			t.Fatalf("failed login %d with Redis down: %d, want 401", i+1, status)
		}
	}
	if status, _ := a.login("ada@example.com", "correct horse battery staple"); status != http.StatusTooManyRequests {
		t.Fatalf("in-process lockout with Redis down: %d", status)
	}

	// Restart (empty): both replicas recover without a restart of their own.
	// Their probes reach Redis, another process: the wait is bounded, by
	// far more than a probe needs.
	redis.Start()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	for _, r := range rs {
		if err := r.app.redis.WaitUp(ctx); err != nil {
			t.Fatalf("replica did not leave degraded mode within 10s of Redis returning: %v", err)
		}
		if status, state := r.redisCheck(); status != 200 || state != "ok" {
			t.Fatalf("readyz after recovery: %d redis=%q, want 200 ok", status, state)
		}
	}
	for _, r := range rs {
		if r.verify(live) != 200 || r.verify(dead) != 401 || r.verify(second) != 401 {
			t.Fatal("after recovery: wrong verify answers")
		}
	}
	if !strings.Contains(scrape(t, a), "authd_redis_up{mode=\"standalone\"} 1") {
		t.Fatal("metrics do not report Redis back up")
	}
	n, wrong := load.stop()
	t.Logf("%d verifications during the faults", n)
	if wrong != 0 || n < 10 {
		t.Fatalf("verify under faults: %d wrong answers out of %d", wrong, n)
	}
}

// verifyLoad verifies tokens in a loop until stopped, counting answers that
// differ from the expected status.
type verifyLoad struct {
	done        chan struct{}
	wg          sync.WaitGroup
	total, errs atomic.Int64
}

func startVerifyLoad(t *testing.T, rs []*replica, want map[string]int) *verifyLoad {
	l := &verifyLoad{done: make(chan struct{})}
	for _, r := range rs {
		for token, status := range want {
			l.wg.Add(1)
			go func() {
				defer l.wg.Done()
				for {
					select {
					case <-l.done:
						return
					default:
					}
					req, err := http.NewRequest("GET", r.srv.URL+"/api/v1/auth/verify", nil)
					if err != nil {
						t.Error(err) // not Fatal: this is not the test's goroutine
						return
					}
					req.Header.Set("Authorization", "Bearer "+token)
					resp, err := r.srv.Client().Do(req)
					l.total.Add(1)
					if err != nil || resp.StatusCode != status {
						l.errs.Add(1)
						if err == nil {
							t.Errorf("verify under faults: %d, want %d", resp.StatusCode, status)
						}
					}
					if resp != nil {
						resp.Body.Close()
					}
				}
			}()
		}
	}
	t.Cleanup(func() { l.stop() })
	return l
}

// stop ends the load (once) and returns the answers counted and the wrong ones.
func (l *verifyLoad) stop() (total, wrong int64) {
	select {
	case <-l.done:
	default:
		close(l.done)
	}
	l.wg.Wait()
	return l.total.Load(), l.errs.Load()
}

func scrape(t *testing.T, r *replica) string {
	t.Helper()
	resp, err := r.srv.Client().Get(r.srv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// TestReplicaRevocationPropagation is the two-replica revocation test over
// HTTP: B has verified a session's token (its state is in B's memory), the
// session is ended through A, and the time until B refuses the token is
// measured over 1,000 trials (200 under the race detector, which slows
// each about tenfold; internal/cache's TestFeedPropagation always runs
// 1,000). A refuses it on its next request, every time. The figures are
// logged (go test -v -run ReplicaRevocationPropagation); the test fails
// only past propagationBound.
func TestReplicaRevocationPropagation(t *testing.T) {
	rs := startReplicas(t, 2, redistest.URL(t), nil)
	a, b := rs[0], rs[1]
	a.register("ada@example.com")
	trials := 1000
	if raceEnabled {
		trials = 200
	}
	lags := make([]time.Duration, 0, trials)
	for i := range trials {
		status, access := a.login("ada@example.com", "correct horse battery staple")
		if status != http.StatusOK {
			t.Fatalf("trial %d: login: %d", i, status)
		}
		if b.verify(access) != http.StatusOK || b.verify(access) != http.StatusOK {
			t.Fatalf("trial %d: a fresh token does not verify on B", i)
		}
		if status, _, _ := a.call("POST", "/api/v1/auth/logout", access, map[string]string{}); status != http.StatusNoContent {
			t.Fatalf("trial %d: logout: %d", i, status)
		}
		start := time.Now()
		if got := a.verify(access); got != http.StatusUnauthorized {
			t.Fatalf("trial %d: verify on A right after its logout: %d, want 401", i, got)
		}
		for b.verify(access) != http.StatusUnauthorized {
			if time.Since(start) > propagationBound {
				t.Fatalf("trial %d: B still accepts the token %v after the logout on A", i, propagationBound)
			}
		}
		lags = append(lags, time.Since(start))
	}
	slices.Sort(lags)
	t.Logf("logout on A refused on B after (including one verify round trip to each): p50 %v, p99 %v, max %v (%d trials)",
		lags[trials/2], lags[trials*99/100], lags[trials-1], trials)
}
