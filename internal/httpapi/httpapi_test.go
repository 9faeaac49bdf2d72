package httpapi_test

import (
	"bytes"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/talentforge/authd/internal/auth"
	"github.com/talentforge/authd/internal/auth/authtest"
	"github.com/talentforge/authd/internal/httpapi"
	"github.com/talentforge/authd/internal/wiringtest"
)

type fixture struct {
	h     http.Handler
	store authtest.Backend
	svc   *auth.Service
	keys  httpapi.KeySet
	mail  []authtest.SentMail // claimed from the outbox so far (mailedToken)
}

// newFixture serves the API wired as the default deployment: SQLite, the
// cache and the limits in process.
func newFixture(tb testing.TB) *fixture {
	tb.Helper()
	return newFixtureOn(tb, wiringtest.Embedded, authtest.Options{})
}

// newFixtureOn serves the API wired as w on a fresh store.
func newFixtureOn(tb testing.TB, w wiringtest.Wiring, opts authtest.Options) *fixture {
	tb.Helper()
	db := w.Open(tb, opts.Clock)
	svc, tokens := authtest.NewService(tb, db, w.Options(tb, opts))
	h := httpapi.New(svc, tokens, db, httpapi.Config{Issuer: authtest.Issuer}, slog.New(slog.DiscardHandler))
	return &fixture{h: h, store: db, svc: svc, keys: tokens}
}

// forEachWiring runs f as a parallel subtest with a fixture per wiring.
func forEachWiring(t *testing.T, f func(t *testing.T, fx *fixture)) {
	t.Helper()
	wiringtest.Run(t, func(t *testing.T, w wiringtest.Wiring) {
		f(t, newFixtureOn(t, w, authtest.Options{}))
	})
}

type response struct {
	status int
	header http.Header
	body   []byte
}

func (r response) json(t testing.TB) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("response is not a JSON object: %v: %s", err, r.body)
	}
	return m
}

func (r response) errorCode(t testing.TB) string {
	t.Helper()
	e, _ := r.json(t)["error"].(map[string]any)
	code, _ := e["code"].(string)
	return code
}

// do sends one request through the handler. Every response is checked for
// the invariants of SPEC §6: never a 5xx for client input, always a request
// id, nosniff and no-store (or an explicit cache policy).
func (f *fixture) do(t testing.TB, method, path, token, contentType string, body io.Reader) response {
	t.Helper()
	authorization := ""
	if token != "" {
		authorization = "Bearer " + token
	}
	return f.doWith(t, method, path, authorization, contentType, body)
}

// doWith is do with a whole Authorization header value ("" for none).
func (f *fixture) doWith(t testing.TB, method, path, authorization, contentType string, body io.Reader) response {
	t.Helper()
	res := f.send(method, path, authorization, contentType, body)
	checkInvariants(t, method, path, res)
	return res
}

// send is doWith without the checks, for goroutines other than the test's
// (which may not call t.Fatal): check the response with checkInvariants on
// the test goroutine.
func (f *fixture) send(method, path, authorization, contentType string, body io.Reader) response {
	if body == nil {
		body = http.NoBody
	}
	req := httptest.NewRequest(method, path, body)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if authorization != "" {
		req.Header.Set("Authorization", authorization)
	}
	rec := httptest.NewRecorder()
	f.h.ServeHTTP(rec, req)
	return response{status: rec.Code, header: rec.Header(), body: rec.Body.Bytes()}
}

// checkInvariants fails the test if res breaks a rule every response keeps.
func checkInvariants(t testing.TB, method, path string, res response) {
	t.Helper()
	if res.status >= 500 {
		t.Fatalf("%s %s: status %d: %s", method, path, res.status, res.body)
	}
	if res.header.Get("X-Request-ID") == "" || res.header.Get("X-Content-Type-Options") != "nosniff" || res.header.Get("Cache-Control") == "" {
		t.Fatalf("%s %s: missing standard headers: %v", method, path, res.header)
	}
}

func (f *fixture) post(t testing.TB, path, token, body string) response {
	t.Helper()
	return f.do(t, http.MethodPost, path, token, "application/json", strings.NewReader(body))
}

type account struct {
	userID, access, refresh, session string
}

const pw = "correct horse battery staple"

func (f *fixture) register(t testing.TB, email string) account {
	t.Helper()
	res := f.post(t, "/api/v1/auth/register", "", `{"email":"`+email+`","password":"`+pw+`"}`)
	if res.status != http.StatusCreated {
		t.Fatalf("register: %d %s", res.status, res.body)
	}
	return accountFrom(t, res)
}

func (f *fixture) login(t testing.TB, email string) account {
	t.Helper()
	res := f.post(t, "/api/v1/auth/login", "", `{"email":"`+email+`","password":"`+pw+`"}`)
	if res.status != http.StatusOK {
		t.Fatalf("login: %d %s", res.status, res.body)
	}
	return accountFrom(t, res)
}

func accountFrom(t testing.TB, res response) account {
	t.Helper()
	var body struct {
		User struct {
			ID string `json:"id"`
		} `json:"user"`
		AccessToken  string `json:"access_token"`
		RefreshToken string `json:"refresh_token"`
		SessionID    string `json:"session_id"`
	}
	if err := json.Unmarshal(res.body, &body); err != nil {
		t.Fatal(err)
	}
	return account{body.User.ID, body.AccessToken, body.RefreshToken, body.SessionID}
}

// scenario is one row of the table-driven HTTP tests.
type scenario struct {
	name        string
	method      string
	path        string
	token       string
	contentType string // "" means application/json when body is set
	body        string
	wantStatus  int
	wantCode    string   // error code, when the response is an error
	wantIn      []string // substrings of the body
}

func (f *fixture) run(t *testing.T, scenarios []scenario) {
	t.Helper()
	for _, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) {
			ct := sc.contentType
			if ct == "" && sc.body != "" {
				ct = "application/json"
			}
			if ct == "-" {
				ct = ""
			}
			res := f.do(t, sc.method, sc.path, sc.token, ct, strings.NewReader(sc.body))
			if res.status != sc.wantStatus {
				t.Fatalf("status %d, want %d: %s", res.status, sc.wantStatus, res.body)
			}
			if sc.wantCode != "" {
				if got := res.errorCode(t); got != sc.wantCode {
					t.Fatalf("error code %q, want %q: %s", got, sc.wantCode, res.body)
				}
			}
			for _, s := range sc.wantIn {
				if !bytes.Contains(res.body, []byte(s)) {
					t.Errorf("body lacks %q: %s", s, res.body)
				}
			}
		})
	}
}

const (
	post  = http.MethodPost
	get   = http.MethodGet
	patch = http.MethodPatch
	del   = http.MethodDelete
)

func TestRegisterScenarios(t *testing.T) {
	forEachWiring(t, func(t *testing.T, f *fixture) {
		f.register(t, "taken@example.com")
		big := `{"email":"a@example.com","password":"` + strings.Repeat("x", 1<<20) + `"}`
		f.run(t, []scenario{
			{name: "ok", method: post, path: "/api/v1/auth/register", body: `{"email":"new@example.com","password":"` + pw + `","name":"New"}`, wantStatus: 201, wantIn: []string{`"access_token"`, `"refresh_token"`, `"token_type":"Bearer"`, `"expires_in":900`, `"email":"new@example.com"`}},
			{name: "unknown fields ignored", method: post, path: "/api/v1/auth/register", body: `{"email":"other@example.com","password":"` + pw + `","admin":true,"roles":["admin"]}`, wantStatus: 201, wantIn: []string{`"roles":["user"]`}},
			{name: "taken", method: post, path: "/api/v1/auth/register", body: `{"email":"TAKEN@example.com","password":"` + pw + `"}`, wantStatus: 409, wantCode: "email_taken"},
			{name: "malformed json", method: post, path: "/api/v1/auth/register", body: `{"email":`, wantStatus: 400, wantCode: "invalid_request"},
			{name: "not json", method: post, path: "/api/v1/auth/register", body: `email=a@b.c`, wantStatus: 400, wantCode: "invalid_request"},
			{name: "array", method: post, path: "/api/v1/auth/register", body: `[{"email":"a@example.com"}]`, wantStatus: 400, wantCode: "invalid_request"},
			{name: "string body", method: post, path: "/api/v1/auth/register", body: `"hello"`, wantStatus: 400, wantCode: "invalid_request"},
			{name: "null body", method: post, path: "/api/v1/auth/register", body: `null`, wantStatus: 400, wantCode: "invalid_request"},
			{name: "wrong type", method: post, path: "/api/v1/auth/register", body: `{"email":42,"password":"` + pw + `"}`, wantStatus: 400, wantCode: "invalid_request", wantIn: []string{"email"}},
			{name: "wrong type password", method: post, path: "/api/v1/auth/register", body: `{"email":"a@example.com","password":["x"]}`, wantStatus: 400, wantCode: "invalid_request"},
			{name: "trailing data", method: post, path: "/api/v1/auth/register", body: `{"email":"a@example.com","password":"` + pw + `"} {}`, wantStatus: 400, wantCode: "invalid_request"},
			{name: "missing password", method: post, path: "/api/v1/auth/register", body: `{"email":"a@example.com"}`, wantStatus: 400, wantCode: "invalid_request"},
			{name: "missing email", method: post, path: "/api/v1/auth/register", body: `{"password":"` + pw + `"}`, wantStatus: 400, wantCode: "invalid_request"},
			{name: "empty strings", method: post, path: "/api/v1/auth/register", body: `{"email":"","password":""}`, wantStatus: 400, wantCode: "invalid_request"},
			{name: "empty body", method: post, path: "/api/v1/auth/register", body: ``, contentType: "application/json", wantStatus: 400, wantCode: "invalid_request"},
			{name: "weak password", method: post, path: "/api/v1/auth/register", body: `{"email":"a@example.com","password":"password123"}`, wantStatus: 400, wantCode: "weak_password"},
			{name: "short password", method: post, path: "/api/v1/auth/register", body: `{"email":"a@example.com","password":"abc"}`, wantStatus: 400, wantCode: "weak_password"},
			{name: "overlong password", method: post, path: "/api/v1/auth/register", body: `{"email":"a@example.com","password":"` + strings.Repeat("ab", 600) + `"}`, wantStatus: 400, wantCode: "invalid_request"},
			{name: "overlong email", method: post, path: "/api/v1/auth/register", body: `{"email":"` + strings.Repeat("a", 300) + `@example.com","password":"` + pw + `"}`, wantStatus: 400, wantCode: "invalid_request"},
			{name: "overlong name", method: post, path: "/api/v1/auth/register", body: `{"email":"n@example.com","password":"` + pw + `","name":"` + strings.Repeat("n", 300) + `"}`, wantStatus: 400, wantCode: "invalid_request"},
			{name: "email with CRLF", method: post, path: "/api/v1/auth/register", body: `{"email":"a@example.com\r\nBcc: x@example.com","password":"` + pw + `"}`, wantStatus: 400, wantCode: "invalid_request"},
			{name: "email with NUL", method: post, path: "/api/v1/auth/register", body: `{"email":"a\u0000@example.com","password":"` + pw + `"}`, wantStatus: 400, wantCode: "invalid_request"},
			{name: "email with bidi override", method: post, path: "/api/v1/auth/register", body: `{"email":"a\u202e@example.com","password":"` + pw + `"}`, wantStatus: 400, wantCode: "invalid_request"},
			{name: "invalid utf-8", method: post, path: "/api/v1/auth/register", body: "{\"email\":\"a\xff@example.com\",\"password\":\"" + pw + "\"}", wantStatus: 400, wantCode: "invalid_request"},
			{name: "1 MB body", method: post, path: "/api/v1/auth/register", body: big, wantStatus: 413, wantCode: "payload_too_large"},
			{name: "wrong content type", method: post, path: "/api/v1/auth/register", contentType: "text/plain", body: `{"email":"a@example.com","password":"` + pw + `"}`, wantStatus: 415, wantCode: "unsupported_media_type"},
			{name: "form content type", method: post, path: "/api/v1/auth/register", contentType: "application/x-www-form-urlencoded", body: `email=a@example.com`, wantStatus: 415, wantCode: "unsupported_media_type"},
			{name: "no content type", method: post, path: "/api/v1/auth/register", contentType: "-", body: `{"email":"a@example.com","password":"` + pw + `"}`, wantStatus: 415, wantCode: "unsupported_media_type"},
			{name: "charset param accepted", method: post, path: "/api/v1/auth/register", contentType: "application/json; charset=utf-8", body: `{"email":"charset@example.com","password":"` + pw + `"}`, wantStatus: 201},
			{name: "GET not allowed", method: get, path: "/api/v1/auth/register", wantStatus: 405, wantCode: "method_not_allowed"},
		})
	})
}

func TestLoginScenarios(t *testing.T) {
	forEachWiring(t, func(t *testing.T, f *fixture) {
		f.register(t, "ada@example.com")
		f.run(t, []scenario{
			{name: "ok", method: post, path: "/api/v1/auth/login", body: `{"email":"Ada@Example.com","password":"` + pw + `"}`, wantStatus: 200, wantIn: []string{`"access_token"`, `"user"`}},
			{name: "wrong password", method: post, path: "/api/v1/auth/login", body: `{"email":"ada@example.com","password":"nope nope nope"}`, wantStatus: 401, wantCode: "invalid_credentials"},
			{name: "unknown email", method: post, path: "/api/v1/auth/login", body: `{"email":"who@example.com","password":"nope nope nope"}`, wantStatus: 401, wantCode: "invalid_credentials"},
			{name: "missing password", method: post, path: "/api/v1/auth/login", body: `{"email":"ada@example.com"}`, wantStatus: 400, wantCode: "invalid_request"},
			{name: "wrong type", method: post, path: "/api/v1/auth/login", body: `{"email":"ada@example.com","password":12345678}`, wantStatus: 400, wantCode: "invalid_request"},
			{name: "malformed", method: post, path: "/api/v1/auth/login", body: `{"email":"ada@example.com",}`, wantStatus: 400, wantCode: "invalid_request"},
			{name: "array", method: post, path: "/api/v1/auth/login", body: `[]`, wantStatus: 400, wantCode: "invalid_request"},
			{name: "overlong password", method: post, path: "/api/v1/auth/login", body: `{"email":"ada@example.com","password":"` + strings.Repeat("p", 5000) + `"}`, wantStatus: 400, wantCode: "invalid_request"},
			{name: "email with CRLF", method: post, path: "/api/v1/auth/login", body: `{"email":"ada@example.com\r\n","password":"nope nope nope"}`, wantStatus: 401, wantCode: "invalid_credentials"},
		})
	})
}

// TestLoginDoesNotRevealAccounts: the body for an unknown email equals the
// body for a wrong password, request id aside.
func TestLoginDoesNotRevealAccounts(t *testing.T) {
	f := newFixture(t)
	f.register(t, "ada@example.com")
	strip := func(r response) map[string]any {
		m := r.json(t)
		delete(m["error"].(map[string]any), "request_id")
		return m
	}
	wrong := f.post(t, "/api/v1/auth/login", "", `{"email":"ada@example.com","password":"nope nope nope"}`)
	unknown := f.post(t, "/api/v1/auth/login", "", `{"email":"who@example.com","password":"nope nope nope"}`)
	a := mustJSON(t, strip(wrong))
	b := mustJSON(t, strip(unknown))
	if wrong.status != unknown.status || !bytes.Equal(a, b) {
		t.Fatalf("distinguishable: %d %s vs %d %s", wrong.status, a, unknown.status, b)
	}
	if wrong.header.Get("WWW-Authenticate") != unknown.header.Get("WWW-Authenticate") {
		t.Fatal("headers differ")
	}
}

func TestRefreshScenarios(t *testing.T) {
	forEachWiring(t, func(t *testing.T, f *fixture) {
		a := f.register(t, "ada@example.com")
		f.run(t, []scenario{
			{name: "garbage", method: post, path: "/api/v1/auth/refresh", body: `{"refresh_token":"garbage"}`, wantStatus: 401, wantCode: "invalid_refresh_token"},
			{name: "missing", method: post, path: "/api/v1/auth/refresh", body: `{}`, wantStatus: 400, wantCode: "invalid_request"},
			{name: "wrong type", method: post, path: "/api/v1/auth/refresh", body: `{"refresh_token":true}`, wantStatus: 400, wantCode: "invalid_request"},
			{name: "access token instead", method: post, path: "/api/v1/auth/refresh", body: `{"refresh_token":"` + a.access + `"}`, wantStatus: 401, wantCode: "invalid_refresh_token"},
			{name: "ok", method: post, path: "/api/v1/auth/refresh", body: `{"refresh_token":"` + a.refresh + `"}`, wantStatus: 200, wantIn: []string{`"refresh_token"`, `"access_token"`}},
		})
		res := f.post(t, "/api/v1/auth/refresh", "", `{"refresh_token":"`+a.refresh+`"}`)
		if res.header.Get("Cache-Control") != "no-store" {
			t.Errorf("token response Cache-Control %q", res.header.Get("Cache-Control"))
		}
	})
}

func TestAuthenticatedScenarios(t *testing.T) {
	forEachWiring(t, func(t *testing.T, f *fixture) {
		a := f.register(t, "ada@example.com")
		a2 := f.login(t, "ada@example.com")
		b := f.register(t, "bob@example.com")
		forged := forgeTokens(t, f, a.access)

		var bad []scenario
		for name, tok := range forged {
			for _, ep := range []struct{ method, path string }{
				{get, "/api/v1/users/me"}, {get, "/api/v1/auth/verify"}, {post, "/api/v1/auth/logout"}, {get, "/api/v1/auth/sessions"},
			} {
				bad = append(bad, scenario{name: name + " " + ep.method + " " + ep.path, method: ep.method, path: ep.path, token: tok, wantStatus: 401, wantCode: "unauthorized"})
			}
		}
		f.run(t, bad)

		f.run(t, []scenario{
			{name: "me", method: get, path: "/api/v1/users/me", token: a.access, wantStatus: 200, wantIn: []string{`"email":"ada@example.com"`, `"roles":["user"]`, `"has_password":true`}},
			{name: "me no token", method: get, path: "/api/v1/users/me", wantStatus: 401, wantCode: "unauthorized"},
			{name: "me basic auth", method: get, path: "/api/v1/users/me", token: "", wantStatus: 401, wantCode: "unauthorized"},
			{name: "verify", method: get, path: "/api/v1/auth/verify", token: a.access, wantStatus: 200, wantIn: []string{a.userID}},
			{name: "sessions", method: get, path: "/api/v1/auth/sessions", token: a.access, wantStatus: 200, wantIn: []string{a.session, a2.session, `"current":true`, `"current":false`}},
			{name: "revoke other user's session", method: del, path: "/api/v1/auth/sessions/" + b.session, token: a.access, wantStatus: 404, wantCode: "not_found"},
			{name: "revoke bogus session", method: del, path: "/api/v1/auth/sessions/not-a-uuid", token: a.access, wantStatus: 404, wantCode: "not_found"},
			{name: "patch name", method: patch, path: "/api/v1/users/me", token: a.access, body: `{"name":"Ada L."}`, wantStatus: 200, wantIn: []string{`"name":"Ada L."`}},
			{name: "patch wrong type", method: patch, path: "/api/v1/users/me", token: a.access, body: `{"name":7}`, wantStatus: 400, wantCode: "invalid_request"},
			{name: "patch control chars", method: patch, path: "/api/v1/users/me", token: a.access, body: `{"name":"a\u0007b"}`, wantStatus: 400, wantCode: "invalid_request"},
			{name: "change password wrong current", method: post, path: "/api/v1/auth/password/change", token: a.access, body: `{"current_password":"nope nope nope","new_password":"a new good passphrase"}`, wantStatus: 401, wantCode: "invalid_credentials"},
			{name: "change password weak", method: post, path: "/api/v1/auth/password/change", token: a.access, body: `{"current_password":"` + pw + `","new_password":"qwerty123"}`, wantStatus: 400, wantCode: "weak_password"},
			{name: "change password missing", method: post, path: "/api/v1/auth/password/change", token: a.access, body: `{"current_password":"` + pw + `"}`, wantStatus: 400, wantCode: "invalid_request"},
			{name: "delete me wrong password", method: del, path: "/api/v1/users/me", token: b.access, body: `{"password":"nope nope nope"}`, wantStatus: 401, wantCode: "invalid_credentials"},
			{name: "delete me no password", method: del, path: "/api/v1/users/me", token: b.access, wantStatus: 400, wantCode: "invalid_request"},
			{name: "logout malformed body", method: post, path: "/api/v1/auth/logout", token: b.access, body: `{"refresh_token":`, wantStatus: 400, wantCode: "invalid_request"},
			{name: "revoke own other session", method: del, path: "/api/v1/auth/sessions/" + a2.session, token: a.access, wantStatus: 204},
			{name: "revoked session's token is dead", method: get, path: "/api/v1/auth/verify", token: a2.access, wantStatus: 401, wantCode: "unauthorized"},
			{name: "change password ok", method: post, path: "/api/v1/auth/password/change", token: a.access, body: `{"current_password":"` + pw + `","new_password":"a new good passphrase"}`, wantStatus: 204},
			{name: "still signed in after own change", method: get, path: "/api/v1/users/me", token: a.access, wantStatus: 200},
			{name: "logout with body", method: post, path: "/api/v1/auth/logout", token: a.access, body: `{"refresh_token":"` + a.refresh + `"}`, wantStatus: 204},
			{name: "verify after logout", method: get, path: "/api/v1/auth/verify", token: a.access, wantStatus: 401, wantCode: "unauthorized"},
			{name: "me after logout", method: get, path: "/api/v1/users/me", token: a.access, wantStatus: 401, wantCode: "unauthorized"},
			{name: "bob unaffected", method: get, path: "/api/v1/auth/verify", token: b.access, wantStatus: 200},
			{name: "delete me", method: del, path: "/api/v1/users/me", token: b.access, body: `{"password":"` + pw + `"}`, wantStatus: 204},
			{name: "deleted user's token is dead", method: get, path: "/api/v1/users/me", token: b.access, wantStatus: 401, wantCode: "unauthorized"},
		})
	})
}

func TestVerifyHeaders(t *testing.T) {
	forEachWiring(t, func(t *testing.T, f *fixture) {
		a := f.register(t, "ada@example.com")
		res := f.do(t, get, "/api/v1/auth/verify", a.access, "", nil)
		if res.status != 200 {
			t.Fatalf("verify: %d %s", res.status, res.body)
		}
		for h, want := range map[string]string{"X-Auth-User-Id": a.userID, "X-Auth-Session-Id": a.session, "X-Auth-Roles": "user"} {
			if got := res.header.Get(h); got != want {
				t.Errorf("%s = %q, want %q", h, got, want)
			}
		}
		res = f.do(t, get, "/api/v1/auth/verify", "", "", nil)
		if res.status != 401 || res.header.Get("X-Auth-User-Id") != "" || !strings.HasPrefix(res.header.Get("WWW-Authenticate"), "Bearer") {
			t.Errorf("unauthenticated verify: %d %v", res.status, res.header)
		}
	})
}

func TestLogoutAll(t *testing.T) {
	forEachWiring(t, func(t *testing.T, f *fixture) {
		a := f.register(t, "ada@example.com")
		a2 := f.login(t, "ada@example.com")
		if res := f.do(t, post, "/api/v1/auth/logout-all", a.access, "", nil); res.status != 204 {
			t.Fatalf("logout-all: %d %s", res.status, res.body)
		}
		for _, tok := range []string{a.access, a2.access} {
			if res := f.do(t, get, "/api/v1/auth/verify", tok, "", nil); res.status != 401 {
				t.Errorf("token alive after logout-all: %d", res.status)
			}
		}
		res := f.post(t, "/api/v1/auth/refresh", "", `{"refresh_token":"`+a2.refresh+`"}`)
		if res.status != 401 {
			t.Errorf("refresh after logout-all: %d", res.status)
		}
	})
}

func TestLogoutOthers(t *testing.T) {
	forEachWiring(t, func(t *testing.T, f *fixture) {
		a := f.register(t, "ada@example.com")
		others := []account{f.login(t, "ada@example.com"), f.login(t, "ada@example.com")}
		bob := f.register(t, "bob@example.com")
		if res := f.do(t, post, "/api/v1/auth/logout-others", a.access, "", nil); res.status != 204 {
			t.Fatalf("logout-others: %d %s", res.status, res.body)
		}
		for _, o := range others {
			if res := f.do(t, get, "/api/v1/auth/verify", o.access, "", nil); res.status != 401 {
				t.Errorf("another session's token alive after logout-others: %d", res.status)
			}
			if res := f.post(t, "/api/v1/auth/refresh", "", `{"refresh_token":"`+o.refresh+`"}`); res.status != 401 {
				t.Errorf("another session refreshed after logout-others: %d", res.status)
			}
		}
		// The caller's own session, and other users', go on.
		for _, tok := range []string{a.access, bob.access} {
			if res := f.do(t, get, "/api/v1/auth/verify", tok, "", nil); res.status != 200 {
				t.Errorf("a session that should live: %d", res.status)
			}
		}
		if res := f.post(t, "/api/v1/auth/refresh", "", `{"refresh_token":"`+a.refresh+`"}`); res.status != 200 {
			t.Errorf("the caller's refresh after logout-others: %d %s", res.status, res.body)
		}
		if res := f.do(t, post, "/api/v1/auth/logout-others", "", "", nil); res.status != 401 {
			t.Errorf("logout-others without a token: %d", res.status)
		}
	})
}

func TestWellKnownAndOps(t *testing.T) {
	f := newFixture(t)
	res := f.do(t, get, "/.well-known/jwks.json", "", "", nil)
	var jwks struct {
		Keys []map[string]any `json:"keys"`
	}
	if err := json.Unmarshal(res.body, &jwks); err != nil || res.status != 200 || len(jwks.Keys) == 0 {
		t.Fatalf("jwks: %d %s", res.status, res.body)
	}
	if _, ok := jwks.Keys[0]["d"]; ok {
		t.Fatal("JWKS publishes a private key")
	}
	if !strings.HasPrefix(res.header.Get("Cache-Control"), "public, max-age=") {
		t.Errorf("jwks Cache-Control %q", res.header.Get("Cache-Control"))
	}
	f.run(t, []scenario{
		{name: "openid configuration", method: get, path: "/.well-known/openid-configuration", wantStatus: 200, wantIn: []string{`"issuer":"` + authtest.Issuer + `"`, `"jwks_uri":"` + authtest.Issuer + `/.well-known/jwks.json"`, `ES256`}},
		{name: "healthz", method: get, path: "/healthz", wantStatus: 200, wantIn: []string{`"ok"`}},
		{name: "readyz", method: get, path: "/readyz", wantStatus: 200, wantIn: []string{`"database":"ok"`, `"redis":"in-process"`}},
		{name: "unknown path", method: get, path: "/nope", wantStatus: 404, wantCode: "not_found"},
		{name: "unknown api path", method: post, path: "/api/v1/auth/nope", body: `{}`, wantStatus: 404, wantCode: "not_found"},
		{name: "method not allowed", method: http.MethodPut, path: "/api/v1/auth/login", wantStatus: 405, wantCode: "method_not_allowed"},
	})
	res = f.do(t, http.MethodPut, "/api/v1/auth/login", "", "", nil)
	if allow := res.header.Get("Allow"); !strings.Contains(allow, "POST") {
		t.Errorf("405 Allow header %q", allow)
	}
}

func TestRequestID(t *testing.T) {
	f := newFixture(t)
	for _, tc := range []struct{ in, want string }{
		{"abc-123", "abc-123"},
		{"", ""},
		{"bad id with spaces", ""},
		{strings.Repeat("x", 200), ""},
		{"inject\r\nX-Evil: 1", ""},
	} {
		req := httptest.NewRequest(get, "/healthz", nil)
		if tc.in != "" {
			req.Header["X-Request-Id"] = []string{tc.in}
		}
		rec := httptest.NewRecorder()
		f.h.ServeHTTP(rec, req)
		got := rec.Header().Get("X-Request-ID")
		if tc.want != "" && got != tc.want {
			t.Errorf("request id %q: echoed %q", tc.in, got)
		}
		if tc.want == "" && (got == "" || got == tc.in) {
			t.Errorf("request id %q: got %q, want a fresh one", tc.in, got)
		}
	}
}

func TestClientIPFromTrustedProxyOnly(t *testing.T) {
	db := wiringtest.Embedded.Open(t, nil)
	svc, tokens := authtest.NewService(t, db, wiringtest.Embedded.Options(t, authtest.Options{}))
	cfg := httpapi.Config{Issuer: authtest.Issuer}
	cfg.TrustedProxies = append(cfg.TrustedProxies, mustPrefix(t, "10.0.0.0/8"))
	h := httpapi.New(svc, tokens, db, cfg, slog.New(slog.DiscardHandler))

	n := 0
	sessionIP := func(remote, xff string) string {
		n++
		body := `{"email":"ip` + strconv.Itoa(n) + `@example.com","password":"` + pw + `"}`
		req := httptest.NewRequest(post, "/api/v1/auth/register", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.RemoteAddr = remote
		if xff != "" {
			req.Header.Set("X-Forwarded-For", xff)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != 201 {
			t.Fatalf("register: %d %s", rec.Code, rec.Body)
		}
		acc := accountFrom(t, response{body: rec.Body.Bytes()})
		s, err := db.Session(t.Context(), acc.userID, acc.session)
		if err != nil {
			t.Fatal(err)
		}
		return s.IP
	}
	if got := sessionIP("203.0.113.9:5555", "1.2.3.4"); got != "203.0.113.9" {
		t.Errorf("untrusted peer's X-Forwarded-For honoured: %s", got)
	}
	if got := sessionIP("10.1.1.1:5555", "198.51.100.7, 10.2.2.2"); got != "198.51.100.7" {
		t.Errorf("trusted proxy chain: %s", got)
	}
	if got := sessionIP("10.1.1.1:5555", "spoofed, 198.51.100.8"); got != "198.51.100.8" {
		t.Errorf("right-most untrusted hop: %s", got)
	}
	// An unparsable hop ends the walk: what lies left of it was written by
	// someone no trusted proxy vouches for, so a forged left-hand entry
	// can't get through by putting junk between itself and the proxies.
	if got := sessionIP("10.1.1.1:5555", "198.51.100.66, junk, 10.2.2.2"); got != "10.2.2.2" {
		t.Errorf("walk past an unparsable hop: %s, want the last trusted hop 10.2.2.2", got)
	}
}

// TestNoInputProducesServerError throws junk at every endpoint.
func TestNoInputProducesServerError(t *testing.T) {
	f := newFixture(t)
	a := f.register(t, "ada@example.com")
	junk := []string{``, `{`, `}`, `[]`, `null`, `0`, `"x"`, `{"email":null,"password":null}`, `{"email":{},"password":[]}`,
		`{"refresh_token":` + strings.Repeat("[", 10000) + `}`, `{"name":"` + strings.Repeat("\u00e9", 5000) + `"}`,
		"{\"email\":\"\xc3\x28@x.y\"}", `{"current_password":1,"new_password":2}`, `{"a":1}{"b":2}`, strings.Repeat(" ", 70000)}
	paths := []struct{ method, path string }{
		{post, "/api/v1/auth/register"}, {post, "/api/v1/auth/login"}, {post, "/api/v1/auth/refresh"},
		{post, "/api/v1/auth/logout"}, {post, "/api/v1/auth/password/change"}, {patch, "/api/v1/users/me"},
		{del, "/api/v1/auth/sessions/%00"}, {get, "/api/v1/auth/verify"},
	}
	for _, p := range paths {
		for _, body := range junk {
			for _, tok := range []string{"", a.access, "garbage"} {
				f.do(t, p.method, p.path, tok, "application/json", strings.NewReader(body))
			}
		}
	}
	// The account survives the barrage (its session may not: logout was in it).
	f.login(t, "ada@example.com")
}

// forgeTokens returns tokens that must all be rejected: tampered payload and
// signature, alg none, and HS256 signed with the server's public key (the
// classic algorithm-confusion attack), plus plain garbage.
func forgeTokens(t *testing.T, f *fixture, valid string) map[string]string {
	t.Helper()
	parts := strings.Split(valid, ".")
	if len(parts) != 3 {
		t.Fatalf("token %q has %d parts", valid, len(parts))
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var hdr map[string]any
	if err := json.Unmarshal(mustBase64URL(t, parts[0]), &hdr); err != nil {
		t.Fatal(err)
	}
	if hdr["typ"] != "at+jwt" {
		t.Fatalf("a genuine token's typ is %v, want at+jwt", hdr["typ"])
	}

	tamperedPayload := bytes.Replace(payload, []byte(`"roles":["user"]`), []byte(`"roles":["admin"]`), 1)
	if bytes.Equal(tamperedPayload, payload) {
		t.Fatalf("roles claim not found in %s", payload)
	}
	enc := base64.RawURLEncoding.EncodeToString
	// Forged headers carry our typ, so that they are refused for their
	// algorithm, not stopped early by the typ check.
	noneHeader := mustJSON(t, map[string]any{"alg": "none", "typ": hdr["typ"], "kid": hdr["kid"]})

	// The public key as published, re-encoded the ways an attacker would try.
	res := f.do(t, get, "/.well-known/jwks.json", "", "", nil)
	var jwks struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(res.body, &jwks); err != nil {
		t.Fatal(err)
	}
	var claims jwt.MapClaims
	if err := json.Unmarshal(payload, &claims); err != nil {
		t.Fatal(err)
	}
	hs := func(secret []byte) string {
		tok := jwt.NewWithClaims(jwt.SigningMethodHS256, claims)
		tok.Header["kid"], tok.Header["typ"] = hdr["kid"], hdr["typ"]
		s, err := tok.SignedString(secret)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	sig := []byte(parts[2])
	// Another base64url letter: other signature bytes, still well formed.
	if sig[5] == 'A' {
		sig[5] = 'B'
	} else {
		sig[5] = 'A'
	}
	out := map[string]string{
		"tampered payload":   parts[0] + "." + enc(tamperedPayload) + "." + parts[2],
		"tampered signature": parts[0] + "." + parts[1] + "." + string(sig),
		"alg none":           enc(noneHeader) + "." + parts[1] + ".",
		"alg none with sig":  enc(noneHeader) + "." + parts[1] + "." + parts[2],
		"hs256 with jwk":     hs(jwks.Keys[0]),
		"garbage":            "not.a.jwt",
		"empty parts":        "..",
	}
	if pub := publicKeyDER(t, jwks.Keys[0]); pub != nil {
		out["hs256 with public key DER"] = hs(pub)
		out["hs256 with public key PEM"] = hs(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pub}))
	}
	return out
}

// publicKeyDER turns a published EC JWK into PKIX DER.
func publicKeyDER(t *testing.T, raw json.RawMessage) []byte {
	t.Helper()
	var k struct {
		Kty, Crv, X, Y string
	}
	if err := json.Unmarshal(raw, &k); err != nil {
		t.Fatal(err)
	}
	if k.Kty != "EC" {
		return nil
	}
	x, y := mustBase64URL(t, k.X), mustBase64URL(t, k.Y)
	uncompressed := append(append([]byte{4}, x...), y...)
	pk, err := ecdhPublicP256(uncompressed)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKIXPublicKey(pk)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

// TestLoginFloodGets503WithRetryAfter: while every hashing slot is taken,
// logins are turned away at once with 503 and a Retry-After instead of
// queueing without bound, requests that need no hashing still answer, and
// the refusals count against no one: more of them than the lockout allows
// leave the account open.
func TestLoginFloodGets503WithRetryAfter(t *testing.T) {
	var (
		hold    atomic.Bool
		held    = make(chan struct{})
		release = make(chan struct{})
	)
	f := newFixtureOn(t, wiringtest.Embedded, authtest.Options{
		HashConcurrency:  1,
		HashQueueTimeout: time.Millisecond,
		HashAcquired: func() {
			if hold.CompareAndSwap(true, false) {
				close(held)
				<-release
			}
		},
	})
	var once sync.Once
	free := func() { once.Do(func() { close(release) }) }
	t.Cleanup(free) // a failure below must not leave the holder blocked
	a := f.register(t, "ada@example.com")
	login := func() *httptest.ResponseRecorder {
		req := httptest.NewRequest(post, "/api/v1/auth/login", strings.NewReader(`{"email":"ada@example.com","password":"`+pw+`"}`))
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		f.h.ServeHTTP(rec, req)
		return rec
	}

	// One login takes the only slot and keeps it until released.
	hold.Store(true)
	first := make(chan int, 1)
	go func() { first <- login().Code }()
	<-held
	for i := range 8 {
		rec := login()
		if rec.Code != http.StatusServiceUnavailable || rec.Header().Get("Retry-After") == "" {
			t.Fatalf("login %d with the hasher busy: %d, Retry-After %q", i, rec.Code, rec.Header().Get("Retry-After"))
		}
	}
	if res := f.do(t, get, "/api/v1/auth/verify", a.access, "", nil); res.status != http.StatusOK {
		t.Errorf("verify with the hasher busy: %d", res.status)
	}
	free()
	if code := <-first; code != http.StatusOK {
		t.Errorf("the login holding the slot: %d", code)
	}
	if rec := login(); rec.Code != http.StatusOK {
		t.Errorf("login once the hasher is free: %d %s", rec.Code, rec.Body)
	}
}

func mustJSON(t testing.TB, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func mustBase64URL(t testing.TB, s string) []byte {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		t.Fatalf("base64url %q: %v", s, err)
	}
	return b
}
