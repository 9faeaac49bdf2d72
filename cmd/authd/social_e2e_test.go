package main

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/talentforge/authd/internal/oauth"
	"github.com/talentforge/authd/internal/oauth/oauthtest"
	"github.com/talentforge/authd/internal/postgres/pgtest"
)

// socialApp is the app social sign-in sends the browser back to: the one
// entry of AUTH_REDIRECT_URLS. Nothing listens there; the test's browser
// stops at the redirect.
const socialApp = "https://app.social.test/auth/done"

// TestSocialLoginEndToEnd runs authd as serve does, with a generic OIDC
// provider ("corp") that is a real OpenID Provider (oauthtest.StartOP) and
// GitHub played by oauthtest's emulator, on SQLite and PostgreSQL. For each
// provider a browser with a cookie jar goes start → provider → callback →
// redirect_to?code=C; the app trades C at POST /api/v1/oauth/exchange for
// tokens, /users/me shows the provider's address, and signing in again
// lands on the same user. First, a password account links corp explicitly
// (POST …/link, the OP, the callback), signs in with it, and unlinks it.
func TestSocialLoginEndToEnd(t *testing.T) {
	for _, backend := range backends {
		t.Run(backend, func(t *testing.T) {
			// authd's address must be known before it starts: the OP checks
			// the callback URL against the one registered.
			addr := freeAddr(t)
			issuer := "http://" + addr
			op := oauthtest.StartOP(t, oauthtest.OPClient{
				ID: "authd-e2e", Secret: "e2e-op-secret", RedirectURIs: []string{oauth.RedirectURL(issuer, "corp")},
			})
			gh := oauthtest.StartGitHub(t, false)
			vars := map[string]string{
				"AUTH_ADDR":                    addr,
				"AUTH_ISSUER":                  issuer,
				"AUTH_DATA_DIR":                filepath.Join(t.TempDir(), "data"),
				"AUTH_SECRET_KEY":              "0123456789abcdef0123456789abcdef-social",
				"AUTH_ARGON2_MEMORY_KIB":       "64",
				"AUTH_ARGON2_ITERATIONS":       "1",
				"AUTH_REDIRECT_URLS":           socialApp,
				"AUTH_OIDC_PROVIDERS":          "corp",
				"AUTH_OIDC_CORP_ISSUER":        op.Issuer,
				"AUTH_OIDC_CORP_CLIENT_ID":     "authd-e2e",
				"AUTH_OIDC_CORP_CLIENT_SECRET": "e2e-op-secret",
				"AUTH_OIDC_CORP_DISPLAY_NAME":  "Corp SSO",
				"AUTH_GITHUB_CLIENT_ID":        oauthtest.GitHubClientID,
				"AUTH_GITHUB_CLIENT_SECRET":    oauthtest.GitHubClientSecret,
				"AUTH_GITHUB_URL":              gh.WebURL(),
				"AUTH_GITHUB_API_URL":          gh.APIURL(),
			}
			if backend == "postgres" {
				vars["AUTH_DATABASE_URL"] = pgtest.URL(t)
				vars["AUTH_SINGLE_REPLICA"] = "true"
				if out, err := cli(t, vars, "", "migrate", "up"); err != nil {
					t.Fatalf("migrate: %v\n%s", err, out)
				}
			}
			s := serveInProcess(t, vars)
			t.Cleanup(func() {
				if t.Failed() {
					t.Logf("authd log (last 60 lines):\n%s", logTail(s.logs, 60))
				}
			})
			if got := s.addr(t); got != addr {
				t.Fatalf("authd listens on %s, want %s", got, addr)
			}

			res := call(t, "GET", issuer+"/api/v1/oauth/providers", "", "")
			res.want(t, 200)
			if want := `{"providers":[{"name":"github","display_name":"GitHub"},{"name":"corp","display_name":"Corp SSO"}]}`; strings.TrimSpace(string(res.body)) != want {
				t.Errorf("providers %s, want %s", res.body, want)
			}

			// The OpenID Provider: its login page, filled in as the user.
			corpLogin := func() string {
				browser := newBrowser(t)
				authURL := startSocial(t, browser, issuer, "corp", "")
				if !strings.HasPrefix(authURL, op.Issuer+"/") {
					t.Fatalf("start sent the browser to %s, want the OP", authURL)
				}
				callback, err := op.Login(browser, authURL)
				if err != nil {
					t.Fatal(err)
				}
				return follow(t, browser, callback.String())
			}
			// A password account links corp explicitly: another address
			// than corp's, so only the link can join them. Signing in with
			// corp then lands on it; once unlinked, corp is free again (and
			// makes an account of its own below).
			linker := call(t, "POST", issuer+"/api/v1/auth/register", "", `{"email":"linker@example.com","password":"a password for the link test"}`)
			linker.want(t, 201)
			linkerAccess := linker.tokens(t).Access
			linkerID := whoAmI(t, issuer, linkerAccess).ID
			browser := newBrowser(t)
			authURL := startLink(t, browser, issuer, "corp", linkerAccess)
			if !strings.HasPrefix(authURL, op.Issuer+"/") {
				t.Fatalf("link sent the browser to %s, want the OP", authURL)
			}
			callback, err := op.Login(browser, authURL)
			if err != nil {
				t.Fatal(err)
			}
			if back := followBack(t, browser, callback.String()); back.Query().Get("linked") != "corp" || len(back.Query()) != 1 {
				t.Fatalf("the link came back to %s, want %s?linked=corp", back, socialApp)
			}
			if linked := whoAmI(t, issuer, signIn(t, issuer, corpLogin(), "").Access); linked.ID != linkerID || linked.Email != "linker@example.com" {
				t.Fatalf("corp sign-in after the link: %+v, want the linker %s", linked, linkerID)
			}
			call(t, "DELETE", issuer+"/api/v1/oauth/identities/corp", linkerAccess, "").want(t, 204)
			if ids := call(t, "GET", issuer+"/api/v1/oauth/identities", linkerAccess, ""); strings.TrimSpace(string(ids.body)) != `{"identities":[]}` {
				t.Fatalf("identities after unlinking corp: %d %s", ids.status, ids.body)
			}

			corp := signIn(t, issuer, corpLogin(), "")
			me := whoAmI(t, issuer, corp.Access)
			if me.Email != oauthtest.UserEmail || !me.EmailVerified || me.Name != oauthtest.UserName || me.HasPassword {
				t.Errorf("/users/me after corp: %+v, want %s, verified, %q, no password", me, oauthtest.UserEmail, oauthtest.UserName)
			}
			identities := call(t, "GET", issuer+"/api/v1/oauth/identities", corp.Access, "")
			identities.want(t, 200)
			if !strings.Contains(string(identities.body), `"provider":"corp"`) {
				t.Errorf("identities %s, want corp", identities.body)
			}
			again := whoAmI(t, issuer, signIn(t, issuer, corpLogin(), "").Access)
			if again.ID != me.ID {
				t.Errorf("second corp sign-in: user %s, want the same %s", again.ID, me.ID)
			}
			if me.ID == linkerID {
				t.Errorf("corp, unlinked, still signs the linker in")
			}

			// GitHub, with the app's own PKCE: the emulator approves at once.
			githubLogin := func(verifier string) string {
				browser := newBrowser(t)
				sum := sha256.Sum256([]byte(verifier))
				authURL := startSocial(t, browser, issuer, "github", base64.RawURLEncoding.EncodeToString(sum[:]))
				if !strings.HasPrefix(authURL, gh.WebURL()+"/login/oauth/authorize?") {
					t.Fatalf("start sent the browser to %s, want GitHub", authURL)
				}
				return follow(t, browser, authURL)
			}
			verifier := oauth.GenerateVerifier()
			code := githubLogin(verifier)
			// Without the verifier the code is spent and refused.
			call(t, "POST", issuer+"/api/v1/oauth/exchange", "", `{"code":"`+code+`"}`).want(t, 400)
			call(t, "POST", issuer+"/api/v1/oauth/exchange", "", `{"code":"`+code+`","code_verifier":"`+verifier+`"}`).want(t, 400)
			verifier = oauth.GenerateVerifier()
			ghUser := whoAmI(t, issuer, signIn(t, issuer, githubLogin(verifier), verifier).Access)
			if ghUser.Email != "octocat@github.com" || !ghUser.EmailVerified || ghUser.Name != "The Octocat" || ghUser.ID == me.ID {
				t.Errorf("/users/me after GitHub: %+v, want octocat@github.com, verified, The Octocat, another user than corp's", ghUser)
			}
			verifier = oauth.GenerateVerifier()
			if again := whoAmI(t, issuer, signIn(t, issuer, githubLogin(verifier), verifier).Access); again.ID != ghUser.ID {
				t.Errorf("second GitHub sign-in: user %s, want the same %s", again.ID, ghUser.ID)
			}
			metrics := call(t, "GET", issuer+"/metrics", "", "")
			metrics.want(t, 200)
			for _, want := range []string{
				`authd_social_logins_total{outcome="success",provider="corp"}`,
				`authd_social_logins_total{outcome="linked",provider="corp"}`,
				`authd_social_logins_total{outcome="success",provider="github"}`,
			} {
				if !strings.Contains(string(metrics.body), want) {
					t.Errorf("/metrics lacks %s", want)
				}
			}
		})
	}
}

// freeAddr returns a loopback address with a port that was free a moment
// ago.
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// newBrowser returns a client with a cookie jar, as a browser keeps
// authd's browser-binding cookie from start to callback.
func newBrowser(t *testing.T) *http.Client {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{Jar: jar, Timeout: 10 * time.Second}
}

// startSocial opens authd's start of provider in browser, redirect_to
// the app (with the app's PKCE challenge unless empty), and returns where
// authd sends the browser: the provider's authorization URL. While the
// provider is not ready yet (discovery runs in the background) it tries
// again, for up to 10 seconds.
func startSocial(t *testing.T, browser *http.Client, issuer, provider, challenge string) string {
	t.Helper()
	q := url.Values{"redirect_to": {socialApp}}
	if challenge != "" {
		q.Set("code_challenge", challenge)
		q.Set("code_challenge_method", "S256")
	}
	b := *browser
	b.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := b.Get(issuer + "/api/v1/oauth/" + provider + "/start?" + q.Encode())
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		loc := resp.Header.Get("Location")
		if resp.StatusCode != http.StatusFound {
			t.Fatalf("start: %s, want 302", resp.Status)
		}
		if !strings.HasPrefix(loc, socialApp+"?error=provider_unavailable") || time.Now().After(deadline) {
			return loc
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// startLink posts authd's link of provider as the page does (fetch, the
// bearer, same origin: the browser-binding cookie lands in browser's jar),
// redirect_to the app, and returns the location it answers: the provider's
// authorization URL. While the provider is not ready yet it tries again,
// for up to 10 seconds.
func startLink(t *testing.T, browser *http.Client, issuer, provider, access string) string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		req, err := http.NewRequest("POST", issuer+"/api/v1/oauth/"+provider+"/link", strings.NewReader(`{"redirect_to":"`+socialApp+`"}`))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+access)
		resp, err := browser.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var body struct {
			Location string `json:"location"`
		}
		err = json.NewDecoder(resp.Body).Decode(&body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || err != nil || body.Location == "" {
			t.Fatalf("link: %s (%v), want 200 with a location", resp.Status, err)
		}
		if !strings.HasPrefix(body.Location, socialApp+"?error=provider_unavailable") || time.Now().After(deadline) {
			return body.Location
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// follow has browser follow location's redirects up to the app and returns
// the code the app receives (it fails the test on an error instead).
func follow(t *testing.T, browser *http.Client, location string) string {
	t.Helper()
	back := followBack(t, browser, location)
	if back.Query().Get("code") == "" {
		t.Fatalf("authd sent the browser to %s, want %s?code=…", back, socialApp)
	}
	return back.Query().Get("code")
}

// followBack has browser follow location's redirects up to the app and
// returns the URL the app is sent to.
func followBack(t *testing.T, browser *http.Client, location string) *url.URL {
	t.Helper()
	var back *url.URL
	b := *browser
	b.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if req.URL.Host == "app.social.test" {
			back = req.URL
			return http.ErrUseLastResponse
		}
		if len(via) >= 10 {
			t.Fatalf("more than 10 redirects from %s", location)
		}
		return nil
	}
	resp, err := b.Get(location)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if back == nil {
		t.Fatalf("the browser ended at %s (%s), not the app", resp.Request.URL, resp.Status)
	}
	if got := back.Scheme + "://" + back.Host + back.Path; got != socialApp {
		t.Fatalf("authd sent the browser to %s, want %s?…", back, socialApp)
	}
	return back
}

// signIn trades code (with the app's verifier unless empty) for tokens.
func signIn(t *testing.T, issuer, code, verifier string) tokens {
	t.Helper()
	body, _ := json.Marshal(map[string]string{"code": code, "code_verifier": verifier})
	if verifier == "" {
		body, _ = json.Marshal(map[string]string{"code": code})
	}
	res := call(t, "POST", issuer+"/api/v1/oauth/exchange", "", string(body))
	res.want(t, 200)
	tk := res.tokens(t)
	// The code is good once.
	call(t, "POST", issuer+"/api/v1/oauth/exchange", "", string(body)).want(t, 400)
	return tk
}

type meJSON struct {
	ID            string `json:"id"`
	Email         string `json:"email"`
	EmailVerified bool   `json:"email_verified"`
	Name          string `json:"name"`
	HasPassword   bool   `json:"has_password"`
}

func whoAmI(t *testing.T, issuer, access string) meJSON {
	t.Helper()
	res := call(t, "GET", issuer+"/api/v1/users/me", access, "")
	res.want(t, 200)
	var me meJSON
	if err := json.Unmarshal(res.body, &me); err != nil || me.ID == "" {
		t.Fatalf("/users/me: %s", res.body)
	}
	return me
}
