package main

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/pb33f/libopenapi"
	validator "github.com/pb33f/libopenapi-validator"

	"github.com/talentforge/authd/internal/config"
	"github.com/talentforge/authd/internal/postgres/pgtest"
)

// TestDatabaseOutage stops the PostgreSQL server under a replica wired as
// `authd serve` wires it. While it is down, every request that needs it
// answers 503 with the code "unavailable" and a Retry-After, in the error
// shape of its API, and /readyz takes the replica out of the load balancer;
// once the server is back the same replica serves again by itself.
func TestDatabaseOutage(t *testing.T) {
	pg := pgtest.StartServer(t)
	vars := map[string]string{
		"AUTH_DATABASE_URL":      pg.URL(),
		"AUTH_SECRET_KEY":        "0123456789abcdef0123456789abcdef-outage",
		"AUTH_ARGON2_MEMORY_KIB": "64",
		"AUTH_ARGON2_ITERATIONS": "1",
	}
	if out, err := cli(t, vars, "", "migrate", "up"); err != nil {
		t.Fatalf("migrate: %v\n%s", err, out)
	}
	if out, err := cli(t, vars, "an admin passphrase\n", "users", "create", "--email", "root@example.com", "--role", "admin"); err != nil {
		t.Fatalf("users create: %v\n%s", err, out)
	}
	cfg, err := config.Load(func(k string) string { return vars[k] }, "")
	if err != nil {
		t.Fatal(err)
	}
	a, srv := serveApp(t, cfg)
	// A request that hangs instead of failing fails the test, not the run.
	srv.Client().Timeout = 30 * time.Second
	r := &replica{t: t, app: a, srv: srv, vars: vars}

	// Neither session has been looked up yet, so the replica's cache can't
	// answer for them: every request below needs the database.
	user, _ := r.register("ada@example.com")
	status, admin := r.login("root@example.com", "an admin passphrase")
	if status != http.StatusOK {
		t.Fatalf("admin login: %d", status)
	}

	type request struct {
		name, method, path, bearer, body string
	}
	login := request{"v1 login", "POST", "/api/v1/auth/login", "", `{"email":"ada@example.com","password":"correct horse battery staple"}`}
	me := request{"v1 profile", "GET", "/api/v1/users/me", user, ""}
	users := request{"v2 user listing", "GET", "/api/v2/users", admin, ""}
	tokenGrant := request{"v2 password grant", "POST", "/api/v2/oauth/token", "",
		`{"grant_type":"password","username":"ada@example.com","password":"correct horse battery staple"}`}
	newRequest := func(q request) *http.Request {
		t.Helper()
		req, err := http.NewRequestWithContext(t.Context(), q.method, srv.URL+q.path, strings.NewReader(q.body))
		if err != nil {
			t.Fatal(err)
		}
		if q.body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		if q.bearer != "" {
			req.Header.Set("Authorization", "Bearer "+q.bearer)
		}
		return req
	}
	send := func(q request) (*http.Response, string) {
		t.Helper()
		resp, err := srv.Client().Do(newRequest(q))
		if err != nil {
			t.Fatalf("%s: %v", q.name, err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatalf("%s: %v", q.name, err)
		}
		return resp, string(b)
	}

	// Every 503 below must be one the API document promises.
	resp, doc := send(request{"openapi", "GET", "/openapi.json", "", ""})
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("/openapi.json: %d", resp.StatusCode)
	}
	apiDoc, err := libopenapi.NewDocument([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	v, errs := validator.NewValidator(apiDoc)
	if len(errs) > 0 {
		t.Fatal(errs)
	}

	pg.Stop()

	tests := []struct {
		req         request
		contentType string
		want        map[string]any // fields of the body
	}{
		{login, "application/json", map[string]any{"error": map[string]any{
			"code": "unavailable", "message": "The service is temporarily unavailable."}}},
		{me, "application/json", map[string]any{"error": map[string]any{
			"code": "unavailable", "message": "The service is temporarily unavailable."}}},
		{users, "application/problem+json", map[string]any{
			"type": "urn:authd:error:unavailable", "status": float64(503), "code": "unavailable",
			"detail": "The service is temporarily unavailable."}},
		{tokenGrant, "application/json", map[string]any{
			"error": "temporarily_unavailable", "error_description": "The service is temporarily unavailable."}},
	}
	for _, tt := range tests {
		resp, body := send(tt.req)
		if resp.StatusCode != http.StatusServiceUnavailable {
			t.Errorf("%s with the database down: %d %s, want 503", tt.req.name, resp.StatusCode, body)
			continue
		}
		if ra := resp.Header.Get("Retry-After"); ra == "" || ra == "0" {
			t.Errorf("%s: Retry-After %q, want a few seconds", tt.req.name, ra)
		}
		if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, tt.contentType) {
			t.Errorf("%s: Content-Type %q, want %s", tt.req.name, ct, tt.contentType)
		}
		var got map[string]any
		if err := json.Unmarshal([]byte(body), &got); err != nil {
			t.Errorf("%s: body %s: %v", tt.req.name, body, err)
			continue
		}
		if !contains(got, tt.want) {
			t.Errorf("%s: body %s, want it to have %v", tt.req.name, body, tt.want)
		}
		// The validator reads the bodies again.
		resp.Body = io.NopCloser(strings.NewReader(body))
		resp.Request = newRequest(tt.req)
		if ok, verrs := v.ValidateHttpResponse(resp.Request, resp); !ok {
			for _, e := range verrs {
				t.Errorf("%s: the 503 is not as documented: %s: %s", tt.req.name, e.Message, e.Reason)
			}
		}
		// pgtest's server listens on a Unix socket (.s.PGSQL.<port>).
		for _, leak := range []string{"postgres", "dial", "connect", "SQLSTATE", "127.0.0.1", ".s.PGSQL", "EOF"} {
			if strings.Contains(body, leak) {
				t.Errorf("%s: the body shows the driver's error (%q): %s", tt.req.name, leak, body)
			}
		}
	}
	if resp, body := send(request{"readyz", "GET", "/readyz", "", ""}); resp.StatusCode != http.StatusServiceUnavailable ||
		!strings.Contains(body, `"database":"unreachable"`) {
		t.Errorf("/readyz with the database down: %d %s", resp.StatusCode, body)
	}

	pg.Start()

	if resp, body := send(request{"readyz", "GET", "/readyz", "", ""}); resp.StatusCode != http.StatusOK {
		t.Errorf("/readyz with the database back: %d %s", resp.StatusCode, body)
	}
	for _, q := range []request{me, users, login, tokenGrant} {
		if resp, body := send(q); resp.StatusCode != http.StatusOK {
			t.Errorf("%s with the database back: %d %s", q.name, resp.StatusCode, body)
		}
	}
}

// contains reports whether got has every field of want, recursively for
// objects.
func contains(got, want map[string]any) bool {
	for k, w := range want {
		switch w := w.(type) {
		case map[string]any:
			g, ok := got[k].(map[string]any)
			if !ok || !contains(g, w) {
				return false
			}
		default:
			if got[k] != w {
				return false
			}
		}
	}
	return true
}
