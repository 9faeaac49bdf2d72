package httpapi_test

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/talentforge/authd/internal/auth"
	"github.com/talentforge/authd/internal/auth/authtest"
	"github.com/talentforge/authd/internal/httpapi"
	"github.com/talentforge/authd/internal/wiringtest"
)

// TestTooManyAttempts checks the HTTP shape of SPEC §9: 429,
// too_many_attempts and a Retry-After in whole seconds, identical for an
// existing and an unknown email, with per-IP limits keyed by the client IP
// a trusted proxy reports.
func TestTooManyAttempts(t *testing.T) {
	clock := authtest.NewClock()
	db := wiringtest.Embedded.Open(t, clock)
	svc, tokens := authtest.NewService(t, db, wiringtest.Embedded.Options(t, authtest.Options{
		Clock: clock,
		Limits: auth.Limits{
			LoginAccount: auth.Rule{Name: "login-account", Limit: 5, Period: 15 * time.Minute, MaxLockout: time.Hour},
			RegisterIP:   auth.Rule{Name: "register-ip", Limit: 2, Period: time.Hour},
		},
	}))
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

// limitsFixture serves authd with real in-process limits on a test clock.
type limitsFixture struct {
	h     http.Handler
	svc   *auth.Service
	clock *authtest.Clock
}

func newLimitsFixture(t *testing.T, issuer string, limits auth.Limits) *limitsFixture {
	t.Helper()
	clock := authtest.NewClock()
	db := wiringtest.Embedded.Open(t, clock)
	svc, tokens := authtest.NewService(t, db, wiringtest.Embedded.Options(t, authtest.Options{Clock: clock, Limits: limits}))
	h := httpapi.New(svc, tokens, db, httpapi.Config{Issuer: issuer}, slog.New(slog.DiscardHandler))
	return &limitsFixture{h: h, svc: svc, clock: clock}
}

// send posts body (JSON, or a form when it doesn't start with "{") from
// the client address remote, with the given cookies.
func (f *limitsFixture) send(path, body, remote string, cookies ...*http.Cookie) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodPost, path, strings.NewReader(body))
	if strings.HasPrefix(body, "{") {
		req.Header.Set("Content-Type", "application/json")
	} else {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	req.RemoteAddr = remote
	for _, c := range cookies {
		req.AddCookie(c)
	}
	rec := httptest.NewRecorder()
	f.h.ServeHTTP(rec, req)
	return rec
}

func deviceCookie(t *testing.T, rec *httptest.ResponseRecorder, name string) *http.Cookie {
	t.Helper()
	for _, c := range rec.Result().Cookies() {
		if c.Name == name {
			return c
		}
	}
	t.Fatalf("no %s cookie in %v", name, rec.Header().Values("Set-Cookie"))
	return nil
}

func bodyField(t *testing.T, rec *httptest.ResponseRecorder, name string) string {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &m); err != nil {
		t.Fatalf("%v: %s", err, rec.Body)
	}
	s, _ := m[name].(string)
	return s
}

var deviceLimits = auth.Limits{
	LoginAccount:       auth.Rule{Name: "login-account", Limit: 5, Period: 15 * time.Minute, MaxLockout: time.Hour},
	LoginAccountGlobal: auth.Rule{Name: "login-account-global", Limit: 100, Period: 15 * time.Minute},
	LoginIP:            auth.Rule{Name: "login-ip", Limit: 50, Period: 15 * time.Minute},
}

// TestRememberedDeviceOverHTTP: a sign-in hands out the remembered-device
// token as an HttpOnly, SameSite=Strict cookie and as device_token in the
// body (v1 and the v2 password grant); either one, sent back, exempts the
// device from the lockout a stranger on its IP caused.
func TestRememberedDeviceOverHTTP(t *testing.T) {
	f := newLimitsFixture(t, authtest.Issuer, deviceLimits)
	const owner = "192.0.2.50:1234"
	if rec := f.send("/api/v1/auth/register", `{"email":"ada@example.com","password":"`+pw+`"}`, owner); rec.Code != http.StatusCreated {
		t.Fatalf("register: %d %s", rec.Code, rec.Body)
	}
	rec := f.send("/api/v1/auth/login", `{"email":"ada@example.com","password":"`+pw+`"}`, owner)
	if rec.Code != http.StatusOK {
		t.Fatalf("login: %d %s", rec.Code, rec.Body)
	}
	c := deviceCookie(t, rec, "authd_device")
	if !c.HttpOnly || c.Secure || c.SameSite != http.SameSiteStrictMode || c.Path != "/api" || c.MaxAge != int(auth.DeviceTokenTTL/time.Second) {
		t.Errorf("cookie %+v: want HttpOnly, not Secure (http issuer), SameSite=Strict, Path=/api, Max-Age 90 days", c)
	}
	if token := bodyField(t, rec, "device_token"); token == "" || token != c.Value {
		t.Fatalf("device_token %q, want the cookie's value %q", token, c.Value)
	}

	for range 5 {
		if rec := f.send("/api/v1/auth/login", `{"email":"ada@example.com","password":"guess"}`, owner); rec.Code != http.StatusUnauthorized {
			t.Fatalf("stranger's guess: %d %s", rec.Code, rec.Body)
		}
	}
	right := `{"email":"ada@example.com","password":"` + pw + `"}`
	if rec := f.send("/api/v1/auth/login", right, owner); rec.Code != http.StatusTooManyRequests {
		t.Fatalf("without the device token: %d, want 429", rec.Code)
	}
	if rec := f.send("/api/v1/auth/login", right, owner, c); rec.Code != http.StatusOK {
		t.Fatalf("with the device cookie: %d %s", rec.Code, rec.Body)
	}
	withToken := `{"email":"ada@example.com","password":"` + pw + `","device_token":"` + c.Value + `"}`
	if rec := f.send("/api/v1/auth/login", withToken, owner); rec.Code != http.StatusOK {
		t.Fatalf("with device_token in the body: %d %s", rec.Code, rec.Body)
	}

	// The v2 password grant: the same token, as a parameter or the cookie.
	form := url.Values{"grant_type": {"password"}, "username": {"ada@example.com"}, "password": {pw}}
	if rec := f.send("/api/v2/oauth/token", form.Encode(), owner); rec.Code != http.StatusTooManyRequests {
		t.Fatalf("v2 without the device token: %d, want 429", rec.Code)
	}
	if rec := f.send("/api/v2/oauth/token", form.Encode(), owner, c); rec.Code != http.StatusOK {
		t.Fatalf("v2 with the device cookie: %d %s", rec.Code, rec.Body)
	}
	form.Set("device_token", c.Value)
	rec = f.send("/api/v2/oauth/token", form.Encode(), owner)
	if rec.Code != http.StatusOK {
		t.Fatalf("v2 with device_token: %d %s", rec.Code, rec.Body)
	}
	if bodyField(t, rec, "device_token") == "" {
		t.Errorf("the v2 password grant returned no device_token: %s", rec.Body)
	}
	deviceCookie(t, rec, "authd_device")
}

// TestDeviceCookieOverHTTPS: with an https issuer the cookie is Secure and
// __Host- prefixed (which browsers accept only with Path=/), and a cookie
// without the prefix, which anyone on plain http could have planted, is
// ignored.
func TestDeviceCookieOverHTTPS(t *testing.T) {
	f := newLimitsFixture(t, "https://authd.test", deviceLimits)
	const owner = "192.0.2.50:1234"
	f.send("/api/v1/auth/register", `{"email":"ada@example.com","password":"`+pw+`"}`, owner)
	rec := f.send("/api/v1/auth/login", `{"email":"ada@example.com","password":"`+pw+`"}`, owner)
	c := deviceCookie(t, rec, "__Host-authd_device")
	if !c.HttpOnly || !c.Secure || c.SameSite != http.SameSiteStrictMode || c.Path != "/" || c.Domain != "" {
		t.Errorf("cookie %+v: want HttpOnly, Secure, SameSite=Strict, Path=/, no Domain", c)
	}
	for range 5 {
		f.send("/api/v1/auth/login", `{"email":"ada@example.com","password":"guess"}`, owner)
	}
	right := `{"email":"ada@example.com","password":"` + pw + `"}`
	planted := &http.Cookie{Name: "authd_device", Value: c.Value}
	if rec := f.send("/api/v1/auth/login", right, owner, planted); rec.Code != http.StatusTooManyRequests {
		t.Fatalf("with an unprefixed cookie: %d, want 429", rec.Code)
	}
	if rec := f.send("/api/v1/auth/login", right, owner, c); rec.Code != http.StatusOK {
		t.Fatalf("with the __Host- cookie: %d %s", rec.Code, rec.Body)
	}
}

// TestIPv6PrefixOverHTTP: addresses of one /64 share the per-IP login
// allowance, whatever port or interface id they come from.
func TestIPv6PrefixOverHTTP(t *testing.T) {
	f := newLimitsFixture(t, authtest.Issuer, auth.Limits{
		LoginIP: auth.Rule{Name: "login-ip", Limit: 2, Period: 15 * time.Minute},
	})
	guess := func(email, remote string) int {
		return f.send("/api/v1/auth/login", `{"email":"`+email+`","password":"guess"}`, remote).Code
	}
	guess("a@example.com", "[2001:db8:1:2::1]:1000")
	guess("b@example.com", "[2001:db8:1:2::2]:1001")
	if got := guess("c@example.com", "[2001:db8:1:2:ffff::3]:1002"); got != http.StatusTooManyRequests {
		t.Fatalf("third address of the /64: %d, want 429", got)
	}
	if got := guess("c@example.com", "[2001:db8:1:3::1]:1003"); got != http.StatusUnauthorized {
		t.Fatalf("another /64: %d, want 401", got)
	}
}

// TestClientAuthenticationRateLimited: failed client authentications at the
// token and introspection endpoints are counted per IP; past the limit both
// answer 429 too_many_attempts with Retry-After, in the OAuth error shape.
func TestClientAuthenticationRateLimited(t *testing.T) {
	f := newLimitsFixture(t, authtest.Issuer, auth.Limits{
		ClientIP: auth.Rule{Name: "client-ip", Limit: 2, Period: time.Minute},
	})
	if _, err := f.svc.CreateUser(t.Context(), "root@example.com", pw, []string{auth.RoleAdmin}); err != nil {
		t.Fatal(err)
	}
	_, pair, err := f.svc.Login(t.Context(), auth.LoginInput{Email: "root@example.com", Password: pw})
	if err != nil {
		t.Fatal(err)
	}
	adm, err := f.svc.Authenticate(t.Context(), pair.AccessToken)
	if err != nil {
		t.Fatal(err)
	}
	c, secret, err := f.svc.CreateClient(t.Context(), adm, auth.ClientInput{Name: "reports"})
	if err != nil {
		t.Fatal(err)
	}
	const attacker = "203.0.113.9:4444"
	grant := func(id, secret string) string {
		return url.Values{"grant_type": {"client_credentials"}, "client_id": {id}, "client_secret": {secret}}.Encode()
	}
	introspect := url.Values{"token": {pair.AccessToken}, "client_id": {c.ID}, "client_secret": {secret}}.Encode()
	for _, id := range []string{c.ID, "0190c0de-0000-7000-8000-000000000000"} {
		if rec := f.send("/api/v2/oauth/token", grant(id, "wrong"), attacker); rec.Code != http.StatusUnauthorized {
			t.Fatalf("wrong secret: %d %s", rec.Code, rec.Body)
		}
	}
	for path, body := range map[string]string{"/api/v2/oauth/token": grant(c.ID, secret), "/api/v2/oauth/introspect": introspect} {
		rec := f.send(path, body, attacker)
		if rec.Code != http.StatusTooManyRequests || rec.Header().Get("Retry-After") != "30" || bodyField(t, rec, "error") != "too_many_attempts" {
			t.Errorf("%s past the limit: %d Retry-After %q %s", path, rec.Code, rec.Header().Get("Retry-After"), rec.Body)
		}
	}
	if rec := f.send("/api/v2/oauth/introspect", introspect, "198.51.100.1:1"); rec.Code != http.StatusOK {
		t.Fatalf("another IP: %d %s", rec.Code, rec.Body)
	}
}
