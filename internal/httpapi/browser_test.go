package httpapi_test

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/talentforge/authd/internal/auth"
	"github.com/talentforge/authd/internal/auth/authtest"
	"github.com/talentforge/authd/internal/httpapi"
	"github.com/talentforge/authd/internal/testclock"
	"github.com/talentforge/authd/internal/wiringtest"
)

// browser sends requests as a page of issuer would: cookie mode, Origin,
// and the cookies the previous answers set, as a browser keeps them.
type browser struct {
	h       http.Handler
	origin  string
	cookies map[string]*http.Cookie
	clock   *testclock.Clock
}

// newBrowserFixture serves the API with issuer (http or https), in the
// embedded wiring, with a month of refresh-token lifetime.
func newBrowserFixture(t *testing.T, issuer string) (*fixture, *browser) {
	t.Helper()
	w := wiringtest.Embedded
	clock := testclock.New()
	db := w.Open(t, clock)
	svc, tokens := authtest.NewService(t, db, w.Options(t, authtest.Options{Clock: clock}))
	h := httpapi.New(svc, tokens, db, httpapi.Config{Issuer: issuer, RefreshTokenTTL: 720 * time.Hour}, slog.New(slog.DiscardHandler))
	f := &fixture{h: h, store: db, svc: svc, keys: tokens}
	return f, &browser{h: h, origin: issuer, cookies: map[string]*http.Cookie{}, clock: clock}
}

// call sends a cookie-mode request; header adds to or overrides (""
// removes) the defaults.
func (b *browser) call(t *testing.T, method, path, access, body string, header map[string]string) response {
	t.Helper()
	req := httptest.NewRequest(method, b.origin+path, strings.NewReader(body))
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("X-Authd-Refresh", "cookie")
	req.Header.Set("Origin", b.origin)
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	if access != "" {
		req.Header.Set("Authorization", "Bearer "+access)
	}
	for k, v := range header {
		if v == "" {
			req.Header.Del(k)
		} else {
			req.Header.Set(k, v)
		}
	}
	for _, c := range b.cookies {
		if strings.HasPrefix(path, c.Path) {
			req.AddCookie(&http.Cookie{Name: c.Name, Value: c.Value})
		}
	}
	rec := httptest.NewRecorder()
	b.h.ServeHTTP(rec, req)
	for _, c := range rec.Result().Cookies() {
		if c.MaxAge < 0 {
			delete(b.cookies, c.Name)
		} else {
			b.cookies[c.Name] = c
		}
	}
	res := response{status: rec.Code, header: rec.Header(), body: rec.Body.Bytes()}
	checkInvariants(t, method, path, res)
	return res
}

func (b *browser) refreshCookie() *http.Cookie {
	for name, c := range b.cookies {
		if strings.HasSuffix(name, "authd_refresh") {
			return c
		}
	}
	return nil
}

func wantError(t *testing.T, res response, status int, code string) {
	t.Helper()
	if res.status != status || res.errorCode(t) != code {
		t.Fatalf("got %d %s, want %d %s", res.status, res.body, status, code)
	}
}

func TestCookieModeKeepsTheRefreshTokenFromScripts(t *testing.T) {
	for _, tc := range []struct {
		issuer, name, path string
		secure             bool
	}{
		{"http://authd.test", "authd_refresh", "/api/v1/auth/", false},
		// Over https the __Host- prefix: Secure, host-only, Path=/.
		{"https://authd.test", "__Host-authd_refresh", "/", true},
	} {
		t.Run(tc.issuer, func(t *testing.T) {
			f, b := newBrowserFixture(t, tc.issuer)
			res := b.call(t, "POST", "/api/v1/auth/register", "", `{"email":"ada@example.com","password":"`+pw+`"}`, nil)
			if res.status != http.StatusCreated {
				t.Fatalf("register: %d %s", res.status, res.body)
			}
			if strings.Contains(string(res.body), "refresh_token") {
				t.Errorf("the body carries the refresh token in cookie mode: %s", res.body)
			}
			c := b.refreshCookie()
			if c == nil {
				t.Fatalf("no refresh cookie set: %v", res.header.Values("Set-Cookie"))
			}
			if c.Name != tc.name || c.Path != tc.path || !c.HttpOnly || c.Secure != tc.secure ||
				c.SameSite != http.SameSiteStrictMode || c.Domain != "" || c.MaxAge != int((720*time.Hour).Seconds()) {
				t.Errorf("refresh cookie %+v", c)
			}
			if res.header.Get("Cache-Control") != "no-store" {
				t.Errorf("Cache-Control %q", res.header.Get("Cache-Control"))
			}

			// The cookie is a real refresh token: it rotates, and the old
			// one presented again ends the session (reuse detection).
			first := c.Value
			res = b.call(t, "POST", "/api/v1/auth/refresh", "", "", nil)
			if res.status != http.StatusOK || strings.Contains(string(res.body), "refresh_token") {
				t.Fatalf("cookie refresh: %d %s", res.status, res.body)
			}
			second := b.refreshCookie().Value
			if second == first {
				t.Fatal("the refresh cookie did not rotate")
			}
			access := res.json(t)["access_token"].(string)
			if got := f.get(t, "/api/v1/users/me", access); got.status != http.StatusOK {
				t.Fatalf("me with the refreshed access token: %d", got.status)
			}
			thief := &browser{h: b.h, origin: b.origin, cookies: map[string]*http.Cookie{tc.name: {Name: tc.name, Value: first, Path: c.Path}}}
			// Past the grace interval of concurrent refreshes, so that the
			// old token counts as reuse.
			b.clock.Advance(time.Minute)
			wantError(t, thief.call(t, "POST", "/api/v1/auth/refresh", "", "", nil), 401, "invalid_refresh_token")
			wantError(t, b.call(t, "POST", "/api/v1/auth/refresh", "", "", nil), 401, "invalid_refresh_token")
			if b.refreshCookie() != nil {
				t.Error("an ended session's refresh cookie was not cleared")
			}
		})
	}
}

func (f *fixture) get(t testing.TB, path, token string) response {
	t.Helper()
	return f.do(t, http.MethodGet, path, token, "", nil)
}

func TestCookieModeRefusesOtherOrigins(t *testing.T) {
	f, b := newBrowserFixture(t, "http://authd.test")
	if res := b.call(t, "POST", "/api/v1/auth/register", "", `{"email":"ada@example.com","password":"`+pw+`"}`, nil); res.status != 201 {
		t.Fatalf("register: %d %s", res.status, res.body)
	}
	signIn := `{"email":"ada@example.com","password":"` + pw + `"}`
	for _, tc := range []struct {
		name   string
		header map[string]string
	}{
		{"another origin", map[string]string{"Origin": "http://evil.test", "Sec-Fetch-Site": "cross-site"}},
		{"same site, another port", map[string]string{"Origin": "http://authd.test:8443", "Sec-Fetch-Site": "same-site"}},
		{"another origin, old browser", map[string]string{"Origin": "http://evil.test", "Sec-Fetch-Site": ""}},
		{"neither header", map[string]string{"Origin": "", "Sec-Fetch-Site": ""}},
		{"null origin (sandboxed frame)", map[string]string{"Origin": "null", "Sec-Fetch-Site": ""}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := b.refreshCookie().Value
			wantError(t, b.call(t, "POST", "/api/v1/auth/login", "", signIn, tc.header), 403, "csrf_failed")
			wantError(t, b.call(t, "POST", "/api/v1/auth/refresh", "", "", tc.header), 403, "csrf_failed")
			if got := b.refreshCookie().Value; got != before {
				t.Error("a refused request changed the refresh cookie")
			}
		})
	}
	t.Run("a form post carrying the cookie without the header", func(t *testing.T) {
		// What a cross-site form sends: the browser adds the cookie, the
		// form can't add the header, and its body isn't JSON.
		for _, ct := range []string{"application/x-www-form-urlencoded", "text/plain", "multipart/form-data; boundary=x"} {
			res := b.call(t, "POST", "/api/v1/auth/refresh", "", "", map[string]string{
				"X-Authd-Refresh": "", "Content-Type": ct, "Origin": "http://authd.test:8443", "Sec-Fetch-Site": "same-site",
			})
			wantError(t, res, 403, "csrf_failed")
		}
	})
	t.Run("the header with an unknown value", func(t *testing.T) {
		wantError(t, b.call(t, "POST", "/api/v1/auth/login", "", signIn, map[string]string{"X-Authd-Refresh": "body"}), 400, "invalid_request")
	})
	t.Run("the cookie and a body token at once", func(t *testing.T) {
		wantError(t, b.call(t, "POST", "/api/v1/auth/refresh", "", `{"refresh_token":"x"}`, nil), 400, "invalid_request")
	})
	t.Run("no cookie", func(t *testing.T) {
		empty := &browser{h: b.h, origin: b.origin, cookies: map[string]*http.Cookie{}}
		wantError(t, empty.call(t, "POST", "/api/v1/auth/refresh", "", "", nil), 401, "invalid_refresh_token")
	})
	t.Run("API clients are unaffected", func(t *testing.T) {
		a := f.login(t, "ada@example.com")
		if a.refresh == "" {
			t.Fatal("a login without the header has no refresh_token in its body")
		}
		res := f.post(t, "/api/v1/auth/refresh", "", `{"refresh_token":"`+a.refresh+`"}`)
		if res.status != 200 || res.header.Get("Set-Cookie") != "" {
			t.Fatalf("body refresh: %d, Set-Cookie %q", res.status, res.header.Get("Set-Cookie"))
		}
	})
	if res := b.call(t, "POST", "/api/v1/auth/refresh", "", "", nil); res.status != 200 {
		t.Fatalf("the session did not survive the refused requests: %d %s", res.status, res.body)
	}
}

func TestCookieModeSignOutClearsTheCookie(t *testing.T) {
	for _, path := range []string{"/api/v1/auth/logout", "/api/v1/auth/logout-all"} {
		t.Run(path, func(t *testing.T) {
			f, b := newBrowserFixture(t, "http://authd.test")
			res := b.call(t, "POST", "/api/v1/auth/register", "", `{"email":"ada@example.com","password":"`+pw+`"}`, nil)
			access := res.json(t)["access_token"].(string)
			stolen := b.refreshCookie().Value
			if res := b.call(t, "POST", path, access, "", nil); res.status != http.StatusNoContent {
				t.Fatalf("%s: %d %s", path, res.status, res.body)
			}
			if b.refreshCookie() != nil {
				t.Fatal("the refresh cookie outlived sign-out")
			}
			// The session is over, not just forgotten by the browser.
			res = f.post(t, "/api/v1/auth/refresh", "", `{"refresh_token":"`+stolen+`"}`)
			wantError(t, res, 401, "invalid_refresh_token")
		})
	}
}

func TestPasswordCheck(t *testing.T) {
	f := newFixture(t)
	check := func(t *testing.T, body string) passwordCheck {
		t.Helper()
		res := f.post(t, "/api/v1/auth/password/check", "", body)
		if res.status != http.StatusOK {
			t.Fatalf("%s: %d %s", body, res.status, res.body)
		}
		var out passwordCheck
		if err := json.Unmarshal(res.body, &out); err != nil {
			t.Fatal(err)
		}
		return out
	}
	for _, tc := range []struct {
		password string
		want     passwordCheck
	}{
		{pw, passwordCheck{Acceptable: true}},
		{"short", passwordCheck{Code: "weak_password", Message: "Password must be at least 8 characters long."}},
		{"Password1", passwordCheck{Code: "weak_password", Message: "This password is too common; choose a different one."}},
		{strings.Repeat("x", 1025), passwordCheck{Code: "invalid_request", Message: "Password must be at most 1024 characters long."}},
	} {
		if got := check(t, mustJSONString(t, map[string]string{"password": tc.password})); got != tc.want {
			t.Errorf("%.20q: got %+v, want %+v", tc.password, got, tc.want)
		}
	}
	f.run(t, []scenario{
		{name: "malformed", method: post, path: "/api/v1/auth/password/check", body: `{"password":`, wantStatus: 400, wantCode: "invalid_request"},
		{name: "wrong type", method: post, path: "/api/v1/auth/password/check", body: `{"password":1}`, wantStatus: 400, wantCode: "invalid_request"},
		{name: "not json", method: post, path: "/api/v1/auth/password/check", contentType: "text/plain", body: `x`, wantStatus: 415, wantCode: "unsupported_media_type"},
	})
}

type passwordCheck struct {
	Acceptable bool   `json:"acceptable"`
	Code       string `json:"code"`
	Message    string `json:"message"`
}

func mustJSONString(t testing.TB, v any) string { return string(mustJSON(t, v)) }

func TestMyPermissions(t *testing.T) {
	forEachWiring(t, func(t *testing.T, f *fixture) {
		if _, err := f.svc.CreateUser(t.Context(), "root@example.com", pw, []string{auth.RoleAdmin}); err != nil {
			t.Fatal(err)
		}
		perms := func(token string) []string {
			t.Helper()
			res := f.get(t, "/api/v1/users/me/permissions", token)
			if res.status != http.StatusOK {
				t.Fatalf("permissions: %d %s", res.status, res.body)
			}
			var out struct{ Permissions []string }
			if err := json.Unmarshal(res.body, &out); err != nil || out.Permissions == nil {
				t.Fatalf("%s: %v", res.body, err)
			}
			return out.Permissions
		}
		if got := perms(f.register(t, "ada@example.com").access); len(got) != 0 {
			t.Errorf("a plain user has permissions %v", got)
		}
		if got, want := perms(f.login(t, "root@example.com").access), auth.Permissions(); strings.Join(got, ",") != strings.Join(want, ",") {
			t.Errorf("admin: %v, want %v", got, want)
		}
		wantError(t, f.get(t, "/api/v1/users/me/permissions", ""), 401, "unauthorized")
	})
}

func TestPagesAreServedUnderUI(t *testing.T) {
	w := wiringtest.Embedded
	db := w.Open(t, nil)
	svc, tokens := authtest.NewService(t, db, w.Options(t, authtest.Options{}))
	pages := http.FileServerFS(fstest.MapFS{"ui/index.html": {Data: []byte("sign in")}})
	on := httpapi.New(svc, tokens, db, httpapi.Config{Issuer: authtest.Issuer, Pages: pages}, slog.New(slog.DiscardHandler))
	off := httpapi.New(svc, tokens, db, httpapi.Config{Issuer: authtest.Issuer}, slog.New(slog.DiscardHandler))
	get := func(h http.Handler, path string) *httptest.ResponseRecorder {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
		return rec
	}
	if rec := get(on, "/ui/"); rec.Code != 200 || rec.Body.String() != "sign in" {
		t.Errorf("/ui/ with pages: %d %q", rec.Code, rec.Body)
	}
	if rec := get(off, "/ui/"); rec.Code != 404 || !strings.Contains(rec.Body.String(), `"not_found"`) {
		t.Errorf("/ui/ without pages: %d %s", rec.Code, rec.Body)
	}
	if rec := get(on, "/ui"); rec.Code/100 != 3 || rec.Header().Get("Location") != "/ui/" {
		t.Errorf("/ui: %d Location %q", rec.Code, rec.Header().Get("Location"))
	}
}
