package bench

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
)

// Scenario names, in the order a run executes them.
const (
	Register = "register"
	Login    = "login"
	Refresh  = "refresh"
	Verify   = "verify"
	Me       = "me"
)

// Flood is the overload scenario, run only when asked for: FloodLogins
// workers log in without pause while Concurrency workers call verify. It
// shows that hashing is bounded (excess logins get 503 + Retry-After, memory
// stays flat) and that verify keeps answering meanwhile. Its two halves are
// reported as FloodLogin and FloodVerify.
const (
	Flood       = "flood"
	FloodLogin  = "flood-login"
	FloodVerify = "flood-verify"
)

// AllScenarios returns the scenarios a run executes by default, in order.
func AllScenarios() []string { return []string{Register, Login, Refresh, Verify, Me} }

// validScenario reports whether name can be asked for.
func validScenario(name string) bool { return name == Flood || slices.Contains(AllScenarios(), name) }

// NeedsUsers reports whether scenario logs in as seeded users.
func NeedsUsers(scenario string) bool { return scenario != Register }

// UserEmail returns the email of seeded user i.
func UserEmail(i int) string { return fmt.Sprintf("bench-%d@bench.authd.test", i) }

// API paths the scenarios call.
const (
	pathRegister = "/api/v1/auth/register"
	pathLogin    = "/api/v1/auth/login"
	pathRefresh  = "/api/v1/auth/refresh"
	pathVerify   = "/api/v1/auth/verify"
	pathMe       = "/api/v1/users/me"
)

// newWorkers returns the n workers of scenario, worker i against
// targets[i%len(targets)]: with several replicas each gets the same share of
// workers (±1), and a session stays on the replica it logged in to, as a
// sticky client would (it would work on any, since they share storage).
// runID makes the emails of registered users unique across runs; users is
// how many seeded users the login-based scenarios spread over.
func newWorkers(scenario string, targets []*target, n, users int, runID string) ([]Worker, error) {
	if !slices.Contains(AllScenarios(), scenario) {
		return nil, fmt.Errorf("unknown scenario %q", scenario)
	}
	if len(targets) == 0 {
		return nil, errors.New("no server to load")
	}
	ws := make([]Worker, n)
	for i := range ws {
		t := targets[i%len(targets)]
		// Register needs no seeded user, and users may be 0.
		var s *session
		if NeedsUsers(scenario) {
			s = &session{t: t, email: UserEmail(i % users)}
		}
		switch scenario {
		case Register:
			ws[i] = &registerWorker{t: t, prefix: fmt.Sprintf("bench-r-%s-%d-", runID, i)}
		case Login:
			// Worker i logs in users i, i+n, i+2n, … (modulo users): every
			// seeded user takes part, and with at least as many users as
			// workers no two workers log in the same user at once.
			ws[i] = &loginWorker{t: t, next: i, step: n, users: users}
		case Refresh:
			ws[i] = &refreshWorker{s: s}
		case Verify:
			ws[i] = &bearerWorker{t: t, path: pathVerify, s: s}
		case Me:
			ws[i] = &bearerWorker{t: t, path: pathMe, s: s}
		}
	}
	return ws, nil
}

// credentials is the body of register and login.
type credentials struct {
	Email    string `json:"email"`
	Password string `json:"password"`
}

// credentials returns the body that registers or logs in the bench user
// email.
func (t *target) credentials(email string) []byte {
	b, _ := json.Marshal(credentials{Email: email, Password: t.password})
	return b
}

// tokens is the part of a token response the workers use.
type tokens struct {
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
}

// parseTokens reads a token response; a body without both tokens is
// errInvalidBody.
func parseTokens(body []byte) (tokens, error) {
	var tk tokens
	if err := json.Unmarshal(body, &tk); err != nil || tk.AccessToken == "" || tk.RefreshToken == "" {
		return tokens{}, errInvalidBody
	}
	return tk, nil
}

// session is a virtual user's sign-in: the tokens of its last login or
// refresh.
type session struct {
	t     *target
	email string
	tokens
}

// login signs the user in and keeps the new tokens.
func (s *session) login(ctx context.Context) error {
	status, body, err := s.t.send(ctx, http.MethodPost, pathLogin, "", s.t.credentials(s.email), true)
	switch {
	case err != nil:
		return fmt.Errorf("log in %s: %w", s.email, err)
	case status != http.StatusOK:
		return fmt.Errorf("log in %s: status %d", s.email, status)
	}
	tk, err := parseTokens(body)
	if err != nil {
		return fmt.Errorf("log in %s: %w", s.email, err)
	}
	s.tokens = tk
	return nil
}

// registerWorker signs up a new user with every request.
type registerWorker struct {
	t      *target
	prefix string // of the emails, unique to the run and the worker
	n      int
}

func (w *registerWorker) Prepare(context.Context) error { return nil }

func (w *registerWorker) Do(ctx context.Context) Outcome {
	email := fmt.Sprintf("%s%d@bench.authd.test", w.prefix, w.n)
	w.n++
	status, _, err := w.t.send(ctx, http.MethodPost, pathRegister, "", w.t.credentials(email), false)
	return Outcome{Status: status, Err: err}
}

// loginWorker logs in seeded users in turn.
type loginWorker struct {
	t                 *target
	next, step, users int
}

func (w *loginWorker) Prepare(context.Context) error { return nil }

func (w *loginWorker) Do(ctx context.Context) Outcome {
	email := UserEmail(w.next % w.users)
	w.next = (w.next + w.step) % w.users
	status, _, err := w.t.send(ctx, http.MethodPost, pathLogin, "", w.t.credentials(email), false)
	return Outcome{Status: status, Err: err}
}

// refreshWorker logs in once, then chains refreshes: every request presents
// the refresh token of the previous response, as a client does, since each
// token is single use. A failed refresh breaks the chain; the runner then
// has the worker log in again.
type refreshWorker struct{ s *session }

func (w *refreshWorker) Prepare(ctx context.Context) error { return w.s.login(ctx) }

func (w *refreshWorker) Do(ctx context.Context) Outcome {
	body, _ := json.Marshal(map[string]string{"refresh_token": w.s.RefreshToken})
	status, resp, err := w.s.t.send(ctx, http.MethodPost, pathRefresh, "", body, true)
	if err == nil && status == http.StatusOK {
		var tk tokens
		if tk, err = parseTokens(resp); err == nil {
			w.s.tokens = tk
			return Outcome{Status: status}
		}
	}
	return Outcome{Status: status, Err: err, Reset: true}
}

// bearerWorker sends authenticated GETs to one path. With a session it logs
// in first, and again when the server stops accepting its access token;
// without one (the bare handler) it sends a fixed token, and prepares by
// sending one request untimed, so that it too starts the clock with an open
// connection, as the login of the others leaves one.
type bearerWorker struct {
	t     *target
	path  string
	s     *session // nil: send token
	token string
}

func (w *bearerWorker) Prepare(ctx context.Context) error {
	if w.s == nil {
		if o := w.Do(ctx); !o.ok() {
			return fmt.Errorf("GET %s: status %d: %v", w.path, o.Status, o.Err)
		}
		return nil
	}
	if err := w.s.login(ctx); err != nil {
		return err
	}
	w.token = w.s.AccessToken
	return nil
}

func (w *bearerWorker) Do(ctx context.Context) Outcome {
	status, _, err := w.t.send(ctx, http.MethodGet, w.path, w.token, nil, false)
	return Outcome{Status: status, Err: err, Reset: w.s != nil && status == http.StatusUnauthorized}
}
