package bench

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/talentforge/authd/internal/testclock"
)

// chainServer imitates authd's login and refresh: every refresh token is
// single use, and only the latest token of a session's chain is accepted.
// Every failEvery-th refresh is refused with 401 even though its token is
// good, as a server that ended the session would, to exercise re-login.
type chainServer struct {
	failEvery int

	mu        sync.Mutex
	sessions  int
	latest    map[int]string // session → its one valid refresh token
	sessionOf map[string]int // every token ever issued → its session
	refreshes int            // refresh requests seen
	ok        int            // refreshes answered 200
	forced    int            // refreshes refused on purpose
	logins    int
	misuse    []string // tokens presented that were not the latest of their chain
}

func newChainServer(failEvery int) *chainServer {
	return &chainServer{failEvery: failEvery, latest: map[int]string{}, sessionOf: map[string]int{}}
}

// issue returns a new token for session s; callers hold mu.
func (c *chainServer) issue(s int) string {
	tok := fmt.Sprintf("rt-%d-%d", s, len(c.sessionOf))
	c.latest[s] = tok
	c.sessionOf[tok] = s
	return tok
}

func (c *chainServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Password     string `json:"password"`
		RefreshToken string `json:"refresh_token"`
	}
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		http.Error(w, "bad json", http.StatusBadRequest)
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	var s int
	switch r.URL.Path {
	case pathLogin:
		if in.Password != testPassword {
			http.Error(w, "bad password", http.StatusUnauthorized)
			return
		}
		c.logins++
		c.sessions++
		s = c.sessions
	case pathRefresh:
		c.refreshes++
		var known bool
		s, known = c.sessionOf[in.RefreshToken]
		if !known || c.latest[s] != in.RefreshToken {
			c.misuse = append(c.misuse, in.RefreshToken)
			http.Error(w, "invalid refresh token", http.StatusUnauthorized)
			return
		}
		if c.refreshes%c.failEvery == 0 {
			c.forced++
			delete(c.latest, s) // the session is over
			http.Error(w, "session revoked", http.StatusUnauthorized)
			return
		}
		c.ok++
	default:
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]any{
		"access_token": fmt.Sprintf("at-%d", s), "refresh_token": c.issue(s), "token_type": "Bearer",
	})
}

func TestRefreshChainsSingleUseTokens(t *testing.T) {
	cs := newChainServer(7)
	srv := httptest.NewServer(cs)
	defer srv.Close()
	const workers = 4
	ws, err := newWorkers(Refresh, []*target{{client: NewClient(workers), base: srv.URL, password: testPassword}}, workers, 10, "test")
	if err != nil {
		t.Fatal(err)
	}
	// Each request (and re-login) takes 1ms of the test clock: about 200.
	clk := testclock.New()
	s, err := run(t.Context(), clk.Now, pace(clk, time.Millisecond, ws), 200*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	cs.mu.Lock()
	defer cs.mu.Unlock()
	if len(cs.misuse) > 0 {
		t.Errorf("%d refreshes presented a token that was not the previous response's, e.g. %q", len(cs.misuse), cs.misuse[0])
	}
	if cs.ok < 10 {
		t.Fatalf("only %d refreshes succeeded", cs.ok)
	}
	if s.Requests != cs.ok {
		t.Errorf("counted %d successful refreshes, the server answered %d", s.Requests, cs.ok)
	}
	if s.Errors["401"] != cs.forced || len(s.Errors) != 1 {
		t.Errorf("errors %v, want the %d refused refreshes as 401", s.Errors, cs.forced)
	}
	// One login per worker before the clock, one more after each refused
	// refresh, except after a refusal at the deadline (at most one per
	// worker), when no request follows.
	if cs.logins > workers+cs.forced || cs.logins < cs.forced {
		t.Errorf("%d logins for %d workers and %d broken chains", cs.logins, workers, cs.forced)
	}
	if cs.refreshes != cs.ok+cs.forced {
		t.Errorf("the server saw %d refreshes, %d ok and %d refused", cs.refreshes, cs.ok, cs.forced)
	}
}

func TestWorkersSpreadOverUsers(t *testing.T) {
	// Login workers visit every seeded user, even when the number of
	// workers and of users share factors.
	seen := map[int]bool{}
	const users, n = 12, 8
	for i := range n {
		w := &loginWorker{next: i, step: n, users: users}
		for range users {
			seen[w.next%users] = true
			w.next = (w.next + w.step) % users
		}
	}
	if len(seen) != users {
		t.Errorf("login workers reached %d of %d users", len(seen), users)
	}
}

func TestRegisterNeedsNoUsers(t *testing.T) {
	var (
		mu     sync.Mutex
		emails []string
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var in credentials
		json.NewDecoder(r.Body).Decode(&in)
		mu.Lock()
		emails = append(emails, in.Email)
		mu.Unlock()
		w.WriteHeader(http.StatusCreated)
	}))
	defer srv.Close()
	ws, err := newWorkers(Register, []*target{{client: NewClient(1), base: srv.URL, password: testPassword}}, 1, 0, "run1")
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if o := ws[0].Do(t.Context()); !o.ok() {
			t.Fatalf("register: %+v", o)
		}
	}
	want := []string{"bench-r-run1-0-0@bench.authd.test", "bench-r-run1-0-1@bench.authd.test", "bench-r-run1-0-2@bench.authd.test"}
	mu.Lock()
	defer mu.Unlock()
	if !slices.Equal(emails, want) {
		t.Errorf("emails %q, want %q", emails, want)
	}
}
