package httpapi_test

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/talentforge/authd/internal/auth"
	"github.com/talentforge/authd/internal/auth/authtest"
	"github.com/talentforge/authd/internal/httpapi"
	"github.com/talentforge/authd/internal/ratelimit"
	"github.com/talentforge/authd/internal/sqlite"
)

// TestTooManyAttempts checks the HTTP shape of SPEC §9: 429,
// too_many_attempts and a Retry-After in whole seconds, identical for an
// existing and an unknown email, with per-IP limits keyed by the client IP
// a trusted proxy reports.
func TestTooManyAttempts(t *testing.T) {
	db, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "authd.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.MigrateUp(t.Context()); err != nil {
		t.Fatal(err)
	}
	clock := authtest.NewClock()
	svc, tokens := authtest.NewService(t, db, authtest.Options{
		Clock:   clock,
		Limiter: ratelimit.NewMemory(ratelimit.MemoryOptions{Now: clock.Now}),
		Limits: auth.Limits{
			LoginAccount: ratelimit.Rule{Name: "login-account", Limit: 5, Period: 15 * time.Minute, MaxLockout: time.Hour},
			RegisterIP:   ratelimit.Rule{Name: "register-ip", Limit: 2, Period: time.Hour},
		},
	})
	cfg := httpapi.Config{Issuer: authtest.Issuer}
	cfg.TrustedProxies = append(cfg.TrustedProxies, mustPrefix(t, "10.0.0.0/8"))
	h := httpapi.New(svc, tokens, db, cfg, slog.New(slog.DiscardHandler))
	send := func(path, body, remote, xff string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(http.MethodPost, path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.RemoteAddr = remote
		if xff != "" {
			req.Header.Set("X-Forwarded-For", xff)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec
	}

	if rec := send("/api/v1/auth/register", `{"email":"ada@example.com","password":"`+pw+`"}`, "10.0.0.1:1", "198.51.100.1"); rec.Code != http.StatusCreated {
		t.Fatalf("register: %d %s", rec.Code, rec.Body)
	}
	var bodies []string
	for _, email := range []string{"ada@example.com", "nobody@example.com"} {
		login := `{"email":"` + email + `","password":"wrong password"}`
		for range 5 {
			if rec := send("/api/v1/auth/login", login, "192.0.2.1:1", ""); rec.Code != http.StatusUnauthorized {
				t.Fatalf("failed login: %d %s", rec.Code, rec.Body)
			}
		}
		rec := send("/api/v1/auth/login", login, "192.0.2.1:1", "")
		if rec.Code != http.StatusTooManyRequests || rec.Header().Get("Retry-After") != "180" {
			t.Fatalf("locked login: %d Retry-After %q %s", rec.Code, rec.Header().Get("Retry-After"), rec.Body)
		}
		body := rec.Body.String()
		if !strings.Contains(body, `"code":"too_many_attempts"`) {
			t.Fatalf("locked login body: %s", body)
		}
		// Compare without the request id.
		bodies = append(bodies, body[:strings.Index(body, `"request_id"`)])
	}
	if bodies[0] != bodies[1] {
		t.Fatalf("lockout of an existing and an unknown email differ:\n%s\n%s", bodies[0], bodies[1])
	}

	// register-ip counts the client behind the trusted proxy, not the proxy.
	reg := func(email, xff string) int {
		return send("/api/v1/auth/register", `{"email":"`+email+`","password":"`+pw+`"}`, "10.0.0.1:1", xff).Code
	}
	if reg("b@example.com", "198.51.100.1") != http.StatusCreated {
		t.Fatal("second registration from one client refused")
	}
	if got := reg("c@example.com", "198.51.100.1"); got != http.StatusTooManyRequests {
		t.Fatalf("third registration from one client: %d, want 429", got)
	}
	if got := reg("c@example.com", "198.51.100.2"); got != http.StatusCreated {
		t.Fatalf("registration from another client behind the same proxy: %d", got)
	}
}
