package httpapi_test

import (
	"encoding/base64"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/talentforge/authd/internal/auth"
)

// v2 conformance: RFC 6749 (token endpoint, §5.1 and §5.2 shapes), RFC 7662
// (introspection), RFC 7009 (revocation) and RFC 9457 problem details.

type v2fixture struct {
	*fixture
	admin        account
	clientID     string
	clientSecret string
}

func newV2Fixture(t *testing.T, base *fixture) *v2fixture {
	t.Helper()
	f := &v2fixture{fixture: base}
	if _, err := f.svc.CreateUser(t.Context(), "root@example.com", pw, []string{auth.RoleAdmin}); err != nil {
		t.Fatal(err)
	}
	f.admin = f.login(t, "root@example.com")
	res := f.post(t, "/api/v2/clients", f.admin.access, `{"name":"reports","scopes":["reports:read","reports:write"]}`)
	if res.status != http.StatusCreated {
		t.Fatalf("create client: %d %s", res.status, res.body)
	}
	body := res.json(t)
	f.clientID, _ = body["client_id"].(string)
	f.clientSecret, _ = body["client_secret"].(string)
	if f.clientID == "" || !strings.HasPrefix(f.clientSecret, "cs_") || res.header.Get("Cache-Control") != "no-store" {
		t.Fatalf("created client: %s %v", res.body, res.header)
	}
	return f
}

func basic(id, secret string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(url.QueryEscape(id)+":"+url.QueryEscape(secret)))
}

// oauth posts to an OAuth endpoint with a form (or JSON when json is set)
// and an optional Authorization header.
func (f *v2fixture) oauth(t *testing.T, path, authorization string, form url.Values, asJSON bool) response {
	t.Helper()
	body, ct := form.Encode(), "application/x-www-form-urlencoded"
	if asJSON {
		m := map[string]string{}
		for k, v := range form {
			m[k] = v[0]
		}
		body, ct = string(mustJSON(t, m)), "application/json"
	}
	req := strings.NewReader(body)
	res := f.doWith(t, http.MethodPost, path, authorization, ct, req)
	if res.header.Get("Cache-Control") != "no-store" || res.header.Get("Pragma") != "no-cache" {
		t.Errorf("%s: Cache-Control %q Pragma %q, want no-store, no-cache", path, res.header.Get("Cache-Control"), res.header.Get("Pragma"))
	}
	return res
}

func oauthError(t *testing.T, res response, status int, code string) {
	t.Helper()
	if res.status != status {
		t.Fatalf("status %d, want %d: %s", res.status, status, res.body)
	}
	body := res.json(t)
	if body["error"] != code {
		t.Fatalf("error %v, want %q: %s", body["error"], code, res.body)
	}
	if _, ok := body["error_description"].(string); !ok {
		t.Errorf("no error_description: %s", res.body)
	}
	if ct := res.header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q", ct)
	}
}

func TestTokenEndpoint(t *testing.T) {
	forEachWiring(t, func(t *testing.T, base *fixture) {
		f := newV2Fixture(t, base)
		f.register(t, "ada@example.com")
		for _, asJSON := range []bool{false, true} {
			name := "form"
			if asJSON {
				name = "json"
			}
			t.Run(name, func(t *testing.T) {
				// password grant (RFC 6749 §4.3), no client authentication.
				res := f.oauth(t, "/api/v2/oauth/token", "", url.Values{
					"grant_type": {"password"}, "username": {"Ada@Example.com"}, "password": {pw},
				}, asJSON)
				if res.status != http.StatusOK {
					t.Fatalf("password grant: %d %s", res.status, res.body)
				}
				tok := res.json(t)
				if tok["token_type"] != "Bearer" || tok["expires_in"] != float64(900) || tok["access_token"] == "" || tok["refresh_token"] == "" {
					t.Fatalf("token response: %s", res.body)
				}
				if _, has := tok["user"]; has {
					t.Errorf("v2 token response carries the v1 user object: %s", res.body)
				}

				// refresh_token grant.
				res = f.oauth(t, "/api/v2/oauth/token", "", url.Values{
					"grant_type": {"refresh_token"}, "refresh_token": {tok["refresh_token"].(string)},
				}, asJSON)
				if res.status != http.StatusOK || res.json(t)["refresh_token"] == tok["refresh_token"] {
					t.Fatalf("refresh grant: %d %s", res.status, res.body)
				}
				oauthError(t, f.oauth(t, "/api/v2/oauth/token", "", url.Values{
					"grant_type": {"refresh_token"}, "refresh_token": {"rt_garbage"},
				}, asJSON), 400, "invalid_grant")

				// client_credentials: client_secret_basic and client_secret_post.
				res = f.oauth(t, "/api/v2/oauth/token", basic(f.clientID, f.clientSecret), url.Values{
					"grant_type": {"client_credentials"}, "scope": {"reports:read"},
				}, asJSON)
				if res.status != http.StatusOK || res.json(t)["scope"] != "reports:read" || res.json(t)["refresh_token"] != nil {
					t.Fatalf("client_credentials (basic): %d %s", res.status, res.body)
				}
				res = f.oauth(t, "/api/v2/oauth/token", "", url.Values{
					"grant_type": {"client_credentials"}, "client_id": {f.clientID}, "client_secret": {f.clientSecret},
				}, asJSON)
				if res.status != http.StatusOK || res.json(t)["scope"] != "reports:read reports:write" {
					t.Fatalf("client_credentials (post): %d %s", res.status, res.body)
				}

				// §5.2 errors.
				wrong := f.oauth(t, "/api/v2/oauth/token", basic(f.clientID, "cs_wrong"), url.Values{"grant_type": {"client_credentials"}}, asJSON)
				oauthError(t, wrong, 401, "invalid_client")
				if !strings.HasPrefix(wrong.header.Get("WWW-Authenticate"), "Basic") {
					t.Errorf("invalid_client over Basic without a Basic challenge: %v", wrong.header)
				}
				oauthError(t, f.oauth(t, "/api/v2/oauth/token", "", url.Values{
					"grant_type": {"client_credentials"}, "client_id": {f.clientID}, "client_secret": {"cs_wrong"},
				}, asJSON), 401, "invalid_client")
				oauthError(t, f.oauth(t, "/api/v2/oauth/token", "", url.Values{"grant_type": {"client_credentials"}}, asJSON), 401, "invalid_client")
				oauthError(t, f.oauth(t, "/api/v2/oauth/token", basic(f.clientID, f.clientSecret), url.Values{
					"grant_type": {"client_credentials"}, "scope": {"admin"},
				}, asJSON), 400, "invalid_scope")
				oauthError(t, f.oauth(t, "/api/v2/oauth/token", "", url.Values{"grant_type": {"authorization_code"}, "code": {"x"}}, asJSON), 400, "invalid_grant")
				oauthError(t, f.oauth(t, "/api/v2/oauth/token", "", url.Values{"grant_type": {"authorization_code"}}, asJSON), 400, "invalid_request")
				oauthError(t, f.oauth(t, "/api/v2/oauth/token", "", url.Values{"grant_type": {"magic"}}, asJSON), 400, "unsupported_grant_type")
				oauthError(t, f.oauth(t, "/api/v2/oauth/token", "", url.Values{"username": {"ada@example.com"}}, asJSON), 400, "invalid_request")
				oauthError(t, f.oauth(t, "/api/v2/oauth/token", "", url.Values{
					"grant_type": {"password"}, "username": {"ada@example.com"}, "password": {"wrong password!"},
				}, asJSON), 400, "invalid_grant")
				oauthError(t, f.oauth(t, "/api/v2/oauth/token", "", url.Values{
					"grant_type": {"password"}, "username": {"nobody@example.com"}, "password": {"wrong password!"},
				}, asJSON), 400, "invalid_grant")
			})
		}

		t.Run("malformed requests", func(t *testing.T) {
			// A parameter given twice (RFC 6749 §3.2).
			oauthError(t, f.oauth(t, "/api/v2/oauth/token", "", url.Values{"grant_type": {"password", "client_credentials"}}, false), 400, "invalid_request")
			// Two client authentication methods at once.
			oauthError(t, f.oauth(t, "/api/v2/oauth/token", basic(f.clientID, f.clientSecret), url.Values{
				"grant_type": {"client_credentials"}, "client_secret": {f.clientSecret},
			}, false), 400, "invalid_request")
			oauthError(t, f.doWith(t, http.MethodPost, "/api/v2/oauth/token", "", "text/plain", strings.NewReader("grant_type=password")), 415, "invalid_request")
			oauthError(t, f.doWith(t, http.MethodPost, "/api/v2/oauth/token", "", "application/json", strings.NewReader(`{"grant_type":`)), 400, "invalid_request")
			oauthError(t, f.doWith(t, http.MethodPost, "/api/v2/oauth/token", "", "application/x-www-form-urlencoded",
				strings.NewReader("grant_type="+strings.Repeat("x", 70<<10))), 413, "invalid_request")
			oauthError(t, f.doWith(t, http.MethodPost, "/api/v2/oauth/token", "Basic !!!", "application/x-www-form-urlencoded",
				strings.NewReader("grant_type=client_credentials")), 401, "invalid_client")
		})
	})
}

func TestIntrospectionAndRevocation(t *testing.T) {
	forEachWiring(t, func(t *testing.T, base *fixture) {
		f := newV2Fixture(t, base)
		ada := f.register(t, "ada@example.com")
		rs := basic(f.clientID, f.clientSecret)

		for _, asJSON := range []bool{false, true} {
			res := f.oauth(t, "/api/v2/oauth/introspect", rs, url.Values{"token": {ada.access}}, asJSON)
			if res.status != http.StatusOK {
				t.Fatalf("introspect: %d %s", res.status, res.body)
			}
			in := res.json(t)
			if in["active"] != true || in["sub"] != ada.userID || in["token_type"] != "Bearer" || in["sid"] != ada.session ||
				in["iss"] != "http://authd.test" || in["exp"] == nil || in["iat"] == nil || in["jti"] == nil {
				t.Fatalf("introspection of an active token: %s", res.body)
			}
		}
		res := f.oauth(t, "/api/v2/oauth/introspect", rs, url.Values{"token": {ada.refresh}, "token_type_hint": {"refresh_token"}}, false)
		if in := res.json(t); in["active"] != true || in["token_type"] != "refresh_token" {
			t.Fatalf("introspection of a refresh token: %s", res.body)
		}
		// An invalid token is inactive, with nothing else said (RFC 7662 §2.2).
		res = f.oauth(t, "/api/v2/oauth/introspect", rs, url.Values{"token": {"garbage"}}, false)
		if res.status != http.StatusOK || strings.TrimSpace(string(res.body)) != `{"active":false}` {
			t.Fatalf("introspection of garbage: %d %s", res.status, res.body)
		}
		// Only registered clients may introspect.
		oauthError(t, f.oauth(t, "/api/v2/oauth/introspect", "", url.Values{"token": {ada.access}}, false), 401, "invalid_client")
		oauthError(t, f.oauth(t, "/api/v2/oauth/introspect", basic(f.clientID, "cs_nope"), url.Values{"token": {ada.access}}, false), 401, "invalid_client")
		oauthError(t, f.oauth(t, "/api/v2/oauth/introspect", "Bearer "+ada.access, url.Values{"token": {ada.access}}, false), 401, "invalid_client")
		oauthError(t, f.oauth(t, "/api/v2/oauth/introspect", rs, url.Values{}, false), 400, "invalid_request")

		// Revocation: 200 and the token is dead, for authd's own endpoints too.
		res = f.oauth(t, "/api/v2/oauth/revoke", rs, url.Values{"token": {ada.access}, "token_type_hint": {"access_token"}}, false)
		if res.status != http.StatusOK || len(res.body) != 0 {
			t.Fatalf("revoke: %d %s", res.status, res.body)
		}
		if res := f.do(t, get, "/api/v1/users/me", ada.access, "", nil); res.status != http.StatusUnauthorized {
			t.Fatalf("revoked token still works: %d", res.status)
		}
		res = f.oauth(t, "/api/v2/oauth/introspect", rs, url.Values{"token": {ada.refresh}}, true)
		if res.json(t)["active"] != false {
			t.Fatalf("refresh token of the revoked session: %s", res.body)
		}
		// Unknown and already revoked tokens are no error (RFC 7009 §2.2).
		for _, tok := range []string{ada.access, "garbage"} {
			if res := f.oauth(t, "/api/v2/oauth/revoke", rs, url.Values{"token": {tok}}, false); res.status != http.StatusOK {
				t.Errorf("revoke %q: %d %s", tok, res.status, res.body)
			}
		}
		oauthError(t, f.oauth(t, "/api/v2/oauth/revoke", "", url.Values{"token": {ada.access}}, false), 401, "invalid_client")
	})
}

func TestV2ProblemDetails(t *testing.T) {
	forEachWiring(t, func(t *testing.T, base *fixture) {
		f := newV2Fixture(t, base)
		user := f.register(t, "ada@example.com")
		for _, c := range []struct {
			method, path, token string
			status              int
			code                string
		}{
			{get, "/api/v2/clients", "", 401, "unauthorized"},
			{get, "/api/v2/clients", user.access, 403, "forbidden"},
			{del, "/api/v2/clients/0190c0de-0000-7000-8000-000000000000", f.admin.access, 404, "not_found"},
			{get, "/api/v2/users?limit=500", f.admin.access, 400, "invalid_request"},
			{get, "/api/v2/nowhere", "", 404, "not_found"},
			{patch, "/api/v2/clients", f.admin.access, 405, "method_not_allowed"},
		} {
			res := f.do(t, c.method, c.path, c.token, "", nil)
			if res.status != c.status {
				t.Errorf("%s %s: %d, want %d: %s", c.method, c.path, res.status, c.status, res.body)
				continue
			}
			if ct := res.header.Get("Content-Type"); ct != "application/problem+json" {
				t.Errorf("%s %s: Content-Type %q", c.method, c.path, ct)
			}
			p := res.json(t)
			if p["status"] != float64(c.status) || p["code"] != c.code || p["type"] != "urn:authd:error:"+c.code ||
				p["title"] != http.StatusText(c.status) || p["detail"] == "" || p["request_id"] != res.header.Get("X-Request-ID") {
				t.Errorf("%s %s: problem %s", c.method, c.path, res.body)
			}
		}
		// v1 keeps its own error shape on the same kind of failure.
		res := f.do(t, get, "/api/v1/users", user.access, "", nil)
		if res.status != 403 || res.errorCode(t) != "forbidden" || res.header.Get("Content-Type") != "application/json" {
			t.Errorf("v1 error: %d %s", res.status, res.body)
		}

		// The client listing never shows a secret; deletion ends the client.
		res = f.do(t, get, "/api/v2/clients", f.admin.access, "", nil)
		if res.status != 200 || strings.Contains(string(res.body), "secret") || !strings.Contains(string(res.body), f.clientID) {
			t.Fatalf("client list: %s", res.body)
		}
		if res := f.do(t, del, "/api/v2/clients/"+f.clientID, f.admin.access, "", nil); res.status != 204 {
			t.Fatalf("delete client: %d %s", res.status, res.body)
		}
		oauthError(t, f.oauth(t, "/api/v2/oauth/token", basic(f.clientID, f.clientSecret), url.Values{"grant_type": {"client_credentials"}}, false), 401, "invalid_client")
	})
}

// An OAuth endpoint reads its parameters from the body only: a query string,
// even a malformed one, neither adds parameters nor spoils a sound body.
func TestOAuthParamsIgnoreTheQuery(t *testing.T) {
	f := newV2Fixture(t, newFixture(t))
	f.register(t, "ada@example.com")
	body := url.Values{"grant_type": {"password"}, "username": {"ada@example.com"}, "password": {pw}}.Encode()
	for _, query := range []string{"?%zz", "?grant_type=client_credentials&password=x"} {
		res := f.doWith(t, http.MethodPost, "/api/v2/oauth/token"+query, "", "application/x-www-form-urlencoded", strings.NewReader(body))
		if res.status != http.StatusOK || res.json(t)["access_token"] == nil {
			t.Errorf("query %q: %d %s", query, res.status, res.body)
		}
	}
}
