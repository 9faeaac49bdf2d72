package httpapi_test

import (
	"crypto/sha256"
	"encoding/base64"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/talentforge/authd/internal/auth"
	"github.com/talentforge/authd/internal/auth/authtest"
	"github.com/talentforge/authd/internal/httpapi"
	"github.com/talentforge/authd/internal/wiringtest"
)

const socialApp = "https://app.example.com/auth/done"

type socialFixture struct {
	*fixture
	google, github *authtest.Provider
	cookie         string // the cookie's name
}

// newSocialFixture serves the API on w with Google and GitHub enabled and
// socialApp allowed; issuer sets the server's issuer (https switches the
// cookie to __Host-).
func newSocialFixture(t *testing.T, w wiringtest.Wiring, issuer string) *socialFixture {
	t.Helper()
	f := &socialFixture{google: authtest.NewProvider("google"), github: authtest.NewProvider("github"), cookie: "authd_oauth"}
	redirects, err := auth.NewRedirects([]string{socialApp})
	if err != nil {
		t.Fatal(err)
	}
	opts := authtest.Options{Social: auth.SocialConfig{
		Providers: []auth.SocialProvider{f.google, f.github}, Redirects: redirects,
	}}
	db := w.Open(t, nil)
	svc, tokens := authtest.NewService(t, db, w.Options(t, opts))
	h := httpapi.New(svc, tokens, db, httpapi.Config{Issuer: issuer}, slog.New(slog.DiscardHandler))
	f.fixture = &fixture{h: h, store: db, svc: svc}
	if strings.HasPrefix(issuer, "https://") {
		f.cookie = "__Host-authd_oauth"
	}
	return f
}

// browse sends a browser's GET with cookies (name=value pairs), checked
// like every other response.
func (f *socialFixture) browse(t *testing.T, path string, cookies ...*http.Cookie) response {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, path, nil)
	for _, c := range cookies {
		req.AddCookie(c)
	}
	rec := httptest.NewRecorder()
	f.h.ServeHTTP(rec, req)
	res := response{status: rec.Code, header: rec.Header(), body: rec.Body.Bytes()}
	checkInvariants(t, http.MethodGet, path, res)
	if res.header.Get("Referrer-Policy") != "no-referrer" || res.header.Get("Cache-Control") != "no-store" {
		t.Errorf("GET %s: Referrer-Policy %q, Cache-Control %q", path, res.header.Get("Referrer-Policy"), res.header.Get("Cache-Control"))
	}
	return res
}

// setCookie returns the one cookie res sets, by the fixture's name.
func (f *socialFixture) setCookie(t *testing.T, res response) *http.Cookie {
	t.Helper()
	var found *http.Cookie
	for _, c := range (&http.Response{Header: res.header}).Cookies() {
		if c.Name == f.cookie {
			if found != nil {
				t.Fatalf("two %s cookies: %v", f.cookie, res.header.Values("Set-Cookie"))
			}
			found = c
		}
	}
	if found == nil {
		t.Fatalf("no %s cookie set: %v", f.cookie, res.header.Values("Set-Cookie"))
	}
	return found
}

// location returns where res redirects, parsed; res must be a 302.
func location(t *testing.T, res response) *url.URL {
	t.Helper()
	if res.status != http.StatusFound {
		t.Fatalf("status %d, want 302: %s", res.status, res.body)
	}
	u, err := url.Parse(res.header.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// backAt checks that u is socialApp with a query and returns its code and
// error.
func backAt(t *testing.T, u *url.URL) (code, errCode string) {
	t.Helper()
	if !strings.HasPrefix(u.String(), socialApp+"?") {
		t.Fatalf("sent back to %q, want %s?…", u, socialApp)
	}
	for name := range u.Query() {
		if name != "code" && name != "error" {
			t.Errorf("redirect_to got an unexpected parameter %q: %s", name, u)
		}
	}
	return u.Query().Get("code"), u.Query().Get("error")
}

// start begins a sign-in at p and returns the state the provider got and
// the cookie set.
func (f *socialFixture) start(t *testing.T, p *authtest.Provider, query string) (state string, cookie *http.Cookie) {
	t.Helper()
	res := f.browse(t, "/api/v1/oauth/"+p.Name()+"/start?redirect_to="+url.QueryEscape(socialApp)+query)
	u := location(t, res)
	if u.Host != p.Name()+".test" {
		t.Fatalf("start sent the browser to %s", u)
	}
	return u.Query().Get("state"), f.setCookie(t, res)
}

// signIn runs start, the provider and the callback as profile, and returns
// the one-time code redirect_to got.
func (f *socialFixture) signIn(t *testing.T, p *authtest.Provider, profile auth.SocialProfile, query string) string {
	t.Helper()
	state, cookie := f.start(t, p, query)
	code := p.Approve(t, state, profile)
	res := f.browse(t, "/api/v1/oauth/"+p.Name()+"/callback?state="+url.QueryEscape(state)+"&code="+url.QueryEscape(code), cookie)
	got, failure := backAt(t, location(t, res))
	if failure != "" || got == "" {
		t.Fatalf("sign-in failed: %s", res.header.Get("Location"))
	}
	return got
}

func (f *socialFixture) exchange(t *testing.T, code, verifier string) response {
	t.Helper()
	return f.post(t, "/api/v1/oauth/exchange", "", string(mustJSON(t, map[string]string{"code": code, "code_verifier": verifier})))
}

var ada = auth.SocialProfile{Subject: "g-1", Email: "ada@example.com", EmailVerified: true, Name: "Ada"}

func TestSocialSignInOverHTTP(t *testing.T) {
	wiringtest.Run(t, func(t *testing.T, w wiringtest.Wiring) {
		f := newSocialFixture(t, w, authtest.Issuer)

		res := f.browse(t, "/api/v1/oauth/google/start?redirect_to="+url.QueryEscape(socialApp))
		u := location(t, res)
		state := u.Query().Get("state")
		if u.Scheme != "https" || u.Host != "google.test" || state == "" {
			t.Fatalf("start sent the browser to %s", u)
		}
		c := f.setCookie(t, res)
		if c.Value == "" || !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.MaxAge != 600 ||
			c.Path != "/api/v1/oauth/" || c.Secure || c.Domain != "" {
			t.Fatalf("cookie %+v (%q)", c, res.header.Get("Set-Cookie"))
		}

		code := f.google.Approve(t, state, ada)
		res = f.browse(t, "/api/v1/oauth/google/callback?state="+url.QueryEscape(state)+"&code="+url.QueryEscape(code), c)
		oneTime, failure := backAt(t, location(t, res))
		if failure != "" || oneTime == "" {
			t.Fatalf("callback: %s", res.header.Get("Location"))
		}
		if cleared := f.setCookie(t, res); cleared.MaxAge >= 0 || cleared.Value != "" {
			t.Fatalf("the callback did not clear the cookie: %q", res.header.Get("Set-Cookie"))
		}
		// No token in any URL authd made: only the one-time code.
		for _, loc := range []string{u.String(), res.header.Get("Location")} {
			if strings.Contains(loc, "access_token") || strings.Contains(loc, "refresh_token") || strings.Contains(loc, "eyJ") {
				t.Fatalf("a token in a URL: %s", loc)
			}
		}

		res = f.exchange(t, oneTime, "")
		if res.status != http.StatusOK || res.header.Get("Cache-Control") != "no-store" {
			t.Fatalf("exchange: %d %s", res.status, res.body)
		}
		acc := accountFrom(t, res)
		if acc.access == "" || acc.refresh == "" || acc.userID == "" {
			t.Fatalf("exchange body %s", res.body)
		}
		if user := res.json(t)["user"].(map[string]any); user["email"] != "ada@example.com" || user["has_password"] != false {
			t.Fatalf("user %v", user)
		}
		if again := f.exchange(t, oneTime, ""); again.status != 400 || again.errorCode(t) != "invalid_token" {
			t.Fatalf("the code again: %d %s", again.status, again.body)
		}
		me := f.do(t, get, "/api/v1/users/me", acc.access, "", nil)
		if me.status != 200 || !strings.Contains(string(me.body), acc.userID) {
			t.Fatalf("me with the exchanged token: %d %s", me.status, me.body)
		}

		// The identity is listed; it is the only way in, so it stays.
		res = f.do(t, get, "/api/v1/oauth/identities", acc.access, "", nil)
		ids, _ := res.json(t)["identities"].([]any)
		if res.status != 200 || len(ids) != 1 {
			t.Fatalf("identities: %d %s", res.status, res.body)
		}
		id := ids[0].(map[string]any)
		if id["provider"] != "google" || id["subject"] != "g-1" || id["email"] != "ada@example.com" || id["email_verified"] != true ||
			id["created_at"] == nil || id["last_used_at"] == nil {
			t.Fatalf("identity %v", id)
		}
		res = f.do(t, del, "/api/v1/oauth/identities/google", acc.access, "", nil)
		if res.status != http.StatusConflict || res.errorCode(t) != "last_sign_in_method" {
			t.Fatalf("unlinking the last way in: %d %s", res.status, res.body)
		}
		if res := f.do(t, del, "/api/v1/oauth/identities/github", acc.access, "", nil); res.status != 404 || res.errorCode(t) != "not_found" {
			t.Fatalf("unlinking what is not linked: %d %s", res.status, res.body)
		}
		// With a second identity, the first may go.
		_ = f.signIn(t, f.github, auth.SocialProfile{Subject: "gh-7", Email: "ada@example.com", EmailVerified: true}, "")
		if res := f.do(t, del, "/api/v1/oauth/identities/google", acc.access, "", nil); res.status != 204 {
			t.Fatalf("unlink: %d %s", res.status, res.body)
		}
		res = f.do(t, get, "/api/v1/oauth/identities", acc.access, "", nil)
		if ids, _ := res.json(t)["identities"].([]any); len(ids) != 1 || ids[0].(map[string]any)["provider"] != "github" {
			t.Fatalf("identities after unlinking google: %s", res.body)
		}
		for _, path := range []string{"/api/v1/oauth/identities", "/api/v1/oauth/identities/github"} {
			method := get
			if strings.HasSuffix(path, "github") {
				method = del
			}
			if res := f.do(t, method, path, "", "", nil); res.status != 401 {
				t.Fatalf("%s %s without a token: %d", method, path, res.status)
			}
		}
	})
}

func TestSocialCookieOverHTTPS(t *testing.T) {
	f := newSocialFixture(t, wiringtest.Embedded, "https://authd.test")
	state, c := f.start(t, f.google, "")
	if !c.Secure || !c.HttpOnly || c.Path != "/" || c.SameSite != http.SameSiteLaxMode || c.MaxAge != 600 || c.Domain != "" {
		t.Fatalf("__Host- cookie %+v", c)
	}
	code := f.google.Approve(t, state, ada)
	res := f.browse(t, "/api/v1/oauth/google/callback?state="+url.QueryEscape(state)+"&code="+url.QueryEscape(code), c)
	if got, failure := backAt(t, location(t, res)); got == "" || failure != "" {
		t.Fatalf("callback: %s", res.header.Get("Location"))
	}
	if cleared := f.setCookie(t, res); cleared.MaxAge >= 0 || cleared.Path != "/" || !cleared.Secure {
		t.Fatalf("cleared cookie %q", res.header.Get("Set-Cookie"))
	}
	// The plain name is not the binding over https.
	state, c = f.start(t, f.google, "")
	code = f.google.Approve(t, state, ada)
	res = f.browse(t, "/api/v1/oauth/google/callback?state="+url.QueryEscape(state)+"&code="+url.QueryEscape(code),
		&http.Cookie{Name: "authd_oauth", Value: c.Value})
	if _, failure := backAt(t, location(t, res)); failure != auth.SocialInvalidState {
		t.Fatalf("the unprefixed cookie was accepted: %s", res.header.Get("Location"))
	}
}

func TestSocialCallbackFailures(t *testing.T) {
	f := newSocialFixture(t, wiringtest.Embedded, authtest.Issuer)

	// Without the cookie: another browser. The state is spent.
	state, c := f.start(t, f.google, "")
	code := f.google.Approve(t, state, ada)
	cb := "/api/v1/oauth/google/callback?state=" + url.QueryEscape(state) + "&code=" + url.QueryEscape(code)
	res := f.browse(t, cb)
	if _, failure := backAt(t, location(t, res)); failure != auth.SocialInvalidState {
		t.Fatalf("without the cookie: %s", res.header.Get("Location"))
	}
	// With a wrong cookie value, the same.
	state, _ = f.start(t, f.google, "")
	res = f.browse(t, "/api/v1/oauth/google/callback?state="+url.QueryEscape(state)+"&code=x", &http.Cookie{Name: f.cookie, Value: "forged"})
	if _, failure := backAt(t, location(t, res)); failure != auth.SocialInvalidState {
		t.Fatalf("with a forged cookie: %s", res.header.Get("Location"))
	}

	// The person said no at the provider.
	state, c = f.start(t, f.google, "")
	res = f.browse(t, "/api/v1/oauth/google/callback?state="+url.QueryEscape(state)+"&error=access_denied&error_description=nope", c)
	if _, failure := backAt(t, location(t, res)); failure != auth.SocialAccessDenied {
		t.Fatalf("access_denied: %s", res.header.Get("Location"))
	}
	if cleared := f.setCookie(t, res); cleared.MaxAge >= 0 {
		t.Fatal("the cookie was not cleared after a refusal")
	}

	// A state that names nothing (or was already used): a fixed page,
	// nothing reflected, and the cookie left alone.
	evil := "<script>alert(1)</script>"
	for _, path := range []string{
		"/api/v1/oauth/google/callback?state=" + url.QueryEscape(evil) + "&error=" + url.QueryEscape(evil),
		"/api/v1/oauth/google/callback?state=" + url.QueryEscape(evil) + "&code=" + url.QueryEscape(evil),
		"/api/v1/oauth/google/callback",
		"/api/v1/oauth/google/callback?state=%zz",
		"/api/v1/oauth/google/callback?state=a&state=b",
		cb, // spent above
	} {
		res := f.browse(t, path, c)
		if res.status != http.StatusBadRequest || !strings.HasPrefix(res.header.Get("Content-Type"), "text/html") {
			t.Fatalf("%s: %d %q %s", path, res.status, res.header.Get("Content-Type"), res.body)
		}
		body := string(res.body)
		if strings.Contains(body, "<script") || strings.Contains(body, "alert") || !strings.Contains(body, "This sign-in link is invalid or has expired.") {
			t.Fatalf("%s: page %s", path, body)
		}
		if res.header.Get("Location") != "" || len(res.header.Values("Set-Cookie")) != 0 {
			t.Fatalf("%s: headers %v", path, res.header)
		}
	}
}

func TestSocialStartRefusals(t *testing.T) {
	f := newSocialFixture(t, wiringtest.Embedded, authtest.Issuer)
	challenge := strings.Repeat("a", 43)
	for _, sc := range []struct {
		name, path string
		status     int
		code       string
	}{
		{"unknown provider", "/api/v1/oauth/myspace/start?redirect_to=" + url.QueryEscape(socialApp), 404, "not_found"},
		{"no redirect_to", "/api/v1/oauth/google/start", 400, "invalid_request"},
		{"protocol-relative", "/api/v1/oauth/google/start?redirect_to=" + url.QueryEscape("//evil.com"), 400, "invalid_request"},
		{"userinfo", "/api/v1/oauth/google/start?redirect_to=" + url.QueryEscape("https://app.example.com@evil.com/auth/done"), 400, "invalid_request"},
		{"userinfo at the root", "/api/v1/oauth/google/start?redirect_to=" + url.QueryEscape("https://app.example.com@evil.com"), 400, "invalid_request"},
		{"javascript", "/api/v1/oauth/google/start?redirect_to=" + url.QueryEscape("javascript:alert(1)"), 400, "invalid_request"},
		{"another path", "/api/v1/oauth/google/start?redirect_to=" + url.QueryEscape("https://app.example.com/elsewhere"), 400, "invalid_request"},
		{"twice", "/api/v1/oauth/google/start?redirect_to=" + url.QueryEscape(socialApp) + "&redirect_to=" + url.QueryEscape("https://evil.com"), 400, "invalid_request"},
		{"plain challenge", "/api/v1/oauth/google/start?redirect_to=" + url.QueryEscape(socialApp) + "&code_challenge=" + challenge + "&code_challenge_method=plain", 400, "invalid_request"},
		{"short challenge", "/api/v1/oauth/google/start?redirect_to=" + url.QueryEscape(socialApp) + "&code_challenge=abc&code_challenge_method=S256", 400, "invalid_request"},
	} {
		t.Run(sc.name, func(t *testing.T) {
			res := f.browse(t, sc.path)
			if res.status != sc.status || res.errorCode(t) != sc.code {
				t.Fatalf("%d %s, want %d %s", res.status, res.body, sc.status, sc.code)
			}
			if res.header.Get("Location") != "" || len(res.header.Values("Set-Cookie")) != 0 {
				t.Fatalf("headers %v", res.header)
			}
		})
	}
}

// TestSocialRefusesHead: HEAD on start or callback (a link checker, a
// prefetcher) neither starts nor ends a sign-in.
func TestSocialRefusesHead(t *testing.T) {
	f := newSocialFixture(t, wiringtest.Embedded, authtest.Issuer)
	start := "/api/v1/oauth/google/start?redirect_to=" + url.QueryEscape(socialApp)
	for _, path := range []string{start, "/api/v1/oauth/google/callback?state=s&code=c"} {
		rec := httptest.NewRecorder()
		f.h.ServeHTTP(rec, httptest.NewRequest(http.MethodHead, path, nil))
		if rec.Code != http.StatusMethodNotAllowed || rec.Header().Get("Allow") != "GET" ||
			rec.Header().Get("Location") != "" || len(rec.Header().Values("Set-Cookie")) != 0 {
			t.Errorf("HEAD %s: %d %v, want 405 with Allow: GET and no cookie or redirect", path, rec.Code, rec.Header())
		}
	}
	if res := f.browse(t, start); res.status != http.StatusFound {
		t.Fatalf("GET start after the HEADs: %d %s", res.status, res.body)
	}
}

func pkce(verifier string) string {
	sum := sha256.Sum256([]byte(verifier))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

func TestSocialExchangeWithPKCE(t *testing.T) {
	f := newSocialFixture(t, wiringtest.Embedded, authtest.Issuer)
	verifier := strings.Repeat("v", 50)
	q := "&code_challenge=" + pkce(verifier) + "&code_challenge_method=S256"

	for _, bad := range []string{"", strings.Repeat("w", 50)} {
		code := f.signIn(t, f.google, ada, q)
		if res := f.exchange(t, code, bad); res.status != 400 || res.errorCode(t) != "invalid_token" {
			t.Fatalf("verifier %q: %d %s", bad, res.status, res.body)
		}
		// Spent by the wrong attempt.
		if res := f.exchange(t, code, verifier); res.status != 400 || res.errorCode(t) != "invalid_token" {
			t.Fatalf("after a wrong verifier: %d %s", res.status, res.body)
		}
	}
	code := f.signIn(t, f.google, ada, q)
	if res := f.exchange(t, code, verifier); res.status != 200 {
		t.Fatalf("with the verifier: %d %s", res.status, res.body)
	}
	// A verifier for a code started without a challenge.
	code = f.signIn(t, f.google, ada, "")
	if res := f.exchange(t, code, verifier); res.status != 400 || res.errorCode(t) != "invalid_token" {
		t.Fatalf("an unexpected verifier: %d %s", res.status, res.body)
	}
	for _, body := range []string{`{}`, `{"code":""}`, `{"code":42}`} {
		if res := f.post(t, "/api/v1/oauth/exchange", "", body); res.status != 400 || res.errorCode(t) != "invalid_request" {
			t.Fatalf("%s: %d %s", body, res.status, res.body)
		}
	}
	if res := f.post(t, "/api/v1/oauth/exchange", "", `{"code":"garbage"}`); res.status != 400 || res.errorCode(t) != "invalid_token" {
		t.Fatalf("garbage: %d %s", res.status, res.body)
	}
}

func TestSocialTokenEndpointGrant(t *testing.T) {
	f := newSocialFixture(t, wiringtest.Embedded, authtest.Issuer)
	v2 := &v2fixture{fixture: f.fixture}
	verifier := strings.Repeat("v", 50)
	q := "&code_challenge=" + pkce(verifier) + "&code_challenge_method=S256"
	grant := func(code, verifier string, asJSON bool) response {
		form := url.Values{"grant_type": {"authorization_code"}, "code": {code}}
		if verifier != "" {
			form.Set("code_verifier", verifier)
		}
		return v2.oauth(t, "/api/v2/oauth/token", "", form, asJSON)
	}

	for _, asJSON := range []bool{false, true} {
		res := grant(f.signIn(t, f.google, ada, q), verifier, asJSON)
		body := res.json(t)
		if res.status != 200 || body["access_token"] == nil || body["refresh_token"] == nil || body["token_type"] != "Bearer" ||
			res.header.Get("Cache-Control") != "no-store" {
			t.Fatalf("authorization_code with the verifier: %d %s", res.status, res.body)
		}
		oauthError(t, grant(f.signIn(t, f.google, ada, q), "", asJSON), 400, "invalid_grant")
		oauthError(t, grant(f.signIn(t, f.google, ada, q), strings.Repeat("w", 50), asJSON), 400, "invalid_grant")
		code := f.signIn(t, f.google, ada, "")
		if res := grant(code, "", asJSON); res.status != 200 {
			t.Fatalf("without PKCE: %d %s", res.status, res.body)
		}
		oauthError(t, grant(code, "", asJSON), 400, "invalid_grant")
	}

	res := f.do(t, get, "/.well-known/openid-configuration", "", "", nil)
	got, _ := res.json(t)["grant_types_supported"].([]any)
	want := []string{"authorization_code", "password", "refresh_token", "client_credentials"}
	if len(got) != len(want) {
		t.Fatalf("grant_types_supported %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("grant_types_supported %v, want %v", got, want)
		}
	}
}

func TestSocialParallelExchange(t *testing.T) {
	wiringtest.Run(t, func(t *testing.T, w wiringtest.Wiring) {
		f := newSocialFixture(t, w, authtest.Issuer)
		code := f.signIn(t, f.google, ada, "")
		body := string(mustJSON(t, map[string]string{"code": code}))
		const n = 8
		results := make([]response, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				results[i] = f.send(http.MethodPost, "/api/v1/oauth/exchange", "", "application/json", strings.NewReader(body))
			})
		}
		wg.Wait()
		ok := 0
		for _, res := range results {
			checkInvariants(t, post, "/api/v1/oauth/exchange", res)
			switch {
			case res.status == 200:
				ok++
			case res.status != 400 || res.errorCode(t) != "invalid_token":
				t.Fatalf("a parallel exchange: %d %s", res.status, res.body)
			}
		}
		if ok != 1 {
			t.Fatalf("%d of %d parallel exchanges got tokens, want exactly 1", ok, n)
		}
	})
}

func TestSocialProvidersList(t *testing.T) {
	f := newSocialFixture(t, wiringtest.Embedded, authtest.Issuer)
	res := f.do(t, get, "/api/v1/oauth/providers", "", "", nil)
	if res.status != 200 || string(res.body) != `{"providers":[{"name":"google","display_name":"Google"},{"name":"github","display_name":"Github"}]}`+"\n" {
		t.Fatalf("providers: %d %s", res.status, res.body)
	}
	// None configured: an empty list, not null.
	plain := newFixture(t)
	if res := plain.do(t, get, "/api/v1/oauth/providers", "", "", nil); res.status != 200 || string(res.body) != `{"providers":[]}`+"\n" {
		t.Fatalf("no providers: %d %s", res.status, res.body)
	}
	if res := plain.do(t, get, "/api/v1/oauth/google/start?redirect_to="+url.QueryEscape(socialApp), "", "", nil); res.status != 404 {
		t.Fatalf("start with no providers: %d %s", res.status, res.body)
	}
}

// startLink posts the caller's link at provider, checks the 200 and
// returns the state the provider got and the cookie set.
func (f *socialFixture) startLink(t *testing.T, token, provider string) (state string, cookie *http.Cookie) {
	t.Helper()
	res := f.post(t, "/api/v1/oauth/"+provider+"/link", token, `{"redirect_to":"`+socialApp+`"}`)
	if res.status != http.StatusOK || res.header.Get("Cache-Control") != "no-store" {
		t.Fatalf("link: %d %s (Cache-Control %q)", res.status, res.body, res.header.Get("Cache-Control"))
	}
	loc, _ := res.json(t)["location"].(string)
	u, err := url.Parse(loc)
	if err != nil || u.Scheme != "https" || u.Host != provider+".test" || u.Query().Get("state") == "" {
		t.Fatalf("link location %q", loc)
	}
	return u.Query().Get("state"), f.setCookie(t, res)
}

// linkedBack checks that u is socialApp?linked=P or ?error=E, nothing
// else (a link hands out no code), and returns P and E.
func linkedBack(t *testing.T, u *url.URL) (linked, errCode string) {
	t.Helper()
	q := u.Query()
	if !strings.HasPrefix(u.String(), socialApp+"?") || len(q) != 1 || (!q.Has("linked") && !q.Has("error")) {
		t.Fatalf("a link sent the browser back to %s, want %s?linked= or ?error=", u, socialApp)
	}
	return q.Get("linked"), q.Get("error")
}

// TestSocialLinkOverHTTP: a signed-in user posts link, follows location to
// the provider with the cookie the answer set, and comes back linked; the
// provider's account then signs in to that same user.
func TestSocialLinkOverHTTP(t *testing.T) {
	wiringtest.Run(t, func(t *testing.T, w wiringtest.Wiring) {
		f := newSocialFixture(t, w, authtest.Issuer)
		acc := f.register(t, "ada@example.com")

		state, c := f.startLink(t, acc.access, "google")
		if c.Value == "" || !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.MaxAge != 600 ||
			c.Path != "/api/v1/oauth/" || c.Secure || c.Domain != "" {
			t.Fatalf("cookie %+v", c)
		}
		// Another address, unverified: the link is by subject.
		profile := auth.SocialProfile{Subject: "g-ada", Email: "someone@gmail.example"}
		code := f.google.Approve(t, state, profile)
		res := f.browse(t, "/api/v1/oauth/google/callback?state="+url.QueryEscape(state)+"&code="+url.QueryEscape(code), c)
		if linked, failure := linkedBack(t, location(t, res)); linked != "google" || failure != "" {
			t.Fatalf("link callback: %s", res.header.Get("Location"))
		}
		if cleared := f.setCookie(t, res); cleared.MaxAge >= 0 || cleared.Value != "" {
			t.Fatalf("the callback did not clear the cookie: %q", res.header.Get("Set-Cookie"))
		}
		res = f.do(t, get, "/api/v1/oauth/identities", acc.access, "", nil)
		ids, _ := res.json(t)["identities"].([]any)
		if len(ids) != 1 || ids[0].(map[string]any)["subject"] != "g-ada" || ids[0].(map[string]any)["email_verified"] != false {
			t.Fatalf("identities after the link: %s", res.body)
		}
		me := f.do(t, get, "/api/v1/users/me", acc.access, "", nil).json(t)
		if me["email"] != "ada@example.com" || me["email_verified"] != false {
			t.Fatalf("the link changed the account: %v", me)
		}

		// Signing in at Google now signs Ada in.
		res = f.exchange(t, f.signIn(t, f.google, profile, ""), "")
		if got := accountFrom(t, res); res.status != 200 || got.userID != acc.userID {
			t.Fatalf("sign-in with the linked identity: %d %s, want user %s", res.status, res.body, acc.userID)
		}

		// Bob's attempt at the same Google account comes back refused.
		bob := f.register(t, "bob@example.com")
		state, c = f.startLink(t, bob.access, "google")
		code = f.google.Approve(t, state, profile)
		res = f.browse(t, "/api/v1/oauth/google/callback?state="+url.QueryEscape(state)+"&code="+url.QueryEscape(code), c)
		if linked, failure := linkedBack(t, location(t, res)); failure != auth.SocialIdentityInUse || linked != "" {
			t.Fatalf("linking another user's identity: %s", res.header.Get("Location"))
		}
	})
}

func TestSocialLinkRefusals(t *testing.T) {
	f := newSocialFixture(t, wiringtest.Embedded, authtest.Issuer)
	acc := f.register(t, "ada@example.com")
	good := `{"redirect_to":"` + socialApp + `"}`
	for _, tc := range []struct {
		name, path, token, contentType, body string
		status                               int
		code                                 string
	}{
		{"no bearer", "/api/v1/oauth/google/link", "", "application/json", good, 401, "unauthorized"},
		{"a bad bearer", "/api/v1/oauth/google/link", "not-a-token", "application/json", good, 401, "unauthorized"},
		{"redirect_to off the list", "/api/v1/oauth/google/link", acc.access, "application/json", `{"redirect_to":"https://evil.example.com/auth/done"}`, 400, "invalid_request"},
		{"no redirect_to", "/api/v1/oauth/google/link", acc.access, "application/json", `{}`, 400, "invalid_request"},
		{"no body", "/api/v1/oauth/google/link", acc.access, "application/json", ``, 400, "invalid_request"},
		{"not JSON", "/api/v1/oauth/google/link", acc.access, "text/plain", good, 415, "unsupported_media_type"},
		{"unknown provider", "/api/v1/oauth/myspace/link", acc.access, "application/json", good, 404, "not_found"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := f.do(t, http.MethodPost, tc.path, tc.token, tc.contentType, strings.NewReader(tc.body))
			if res.status != tc.status || res.errorCode(t) != tc.code {
				t.Fatalf("%d %s, want %d %s", res.status, res.body, tc.status, tc.code)
			}
			if sc := res.header.Values("Set-Cookie"); len(sc) != 0 {
				t.Fatalf("a refused link set a cookie: %v", sc)
			}
		})
	}
	// GET is not the way to start a link (a prefetch must not start one).
	if res := f.do(t, get, "/api/v1/oauth/google/link", acc.access, "", nil); res.status != http.StatusMethodNotAllowed {
		t.Fatalf("GET link: %d %s", res.status, res.body)
	}
}

func TestSocialLinkCookieOverHTTPS(t *testing.T) {
	f := newSocialFixture(t, wiringtest.Embedded, "https://authd.test")
	acc := f.register(t, "ada@example.com")
	state, c := f.startLink(t, acc.access, "github")
	if !c.Secure || !c.HttpOnly || c.Path != "/" || c.SameSite != http.SameSiteLaxMode || c.MaxAge != 600 || c.Domain != "" {
		t.Fatalf("__Host- cookie %+v", c)
	}
	code := f.github.Approve(t, state, auth.SocialProfile{Subject: "42", Email: "ada@example.com"})
	res := f.browse(t, "/api/v1/oauth/github/callback?state="+url.QueryEscape(state)+"&code="+url.QueryEscape(code), c)
	if linked, failure := linkedBack(t, location(t, res)); linked != "github" || failure != "" {
		t.Fatalf("link callback over https: %s", res.header.Get("Location"))
	}
}
