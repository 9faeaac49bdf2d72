package oauth_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/talentforge/authd/internal/oauth"
	"github.com/talentforge/authd/internal/oauth/oauthtest"
)

func newGitHub(t *testing.T, e *oauthtest.GitHub, client *http.Client) *oauth.GitHub {
	t.Helper()
	g, err := oauth.NewGitHub(oauth.GitHubConfig{
		ClientID: oauthtest.GitHubClientID, ClientSecret: oauthtest.GitHubClientSecret,
		RedirectURL: oauth.RedirectURL(authdIssuer, "github"),
		WebURL:      e.WebURL(), APIURL: e.APIURL(),
		HTTPClient: client,
	})
	if err != nil {
		t.Fatal(err)
	}
	return g
}

// approve plays the browser of a user signed in to GitHub who approves the
// app: it follows authURL and returns the query of the redirect to authd.
func approve(t *testing.T, authURL string) url.Values {
	t.Helper()
	browser := &http.Client{
		Timeout:       10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	resp, err := browser.Get(authURL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || resp.StatusCode != http.StatusFound || loc.Host != "authd.test" {
		t.Fatalf("authorization: %s, Location %q", resp.Status, resp.Header.Get("Location"))
	}
	return loc.Query()
}

// signIn runs the flow up to Exchange with a new state and verifier.
func signIn(t *testing.T, g *oauth.GitHub) (*oauth.Profile, error) {
	t.Helper()
	state, verifier := oauth.GenerateState(), oauth.GenerateVerifier()
	authURL, err := g.AuthCodeURL(state, verifier, "")
	if err != nil {
		t.Fatal(err)
	}
	back := approve(t, authURL)
	if back.Get("state") != state {
		t.Fatalf("state %q, want %q", back.Get("state"), state)
	}
	return g.Exchange(context.Background(), back.Get("code"), verifier, "")
}

func TestGitHubSignIn(t *testing.T) {
	e := oauthtest.StartGitHub(t, false)
	g := newGitHub(t, e, nil)
	if g.Name() != "github" || g.DisplayName() != "GitHub" || !g.Ready() {
		t.Fatalf("Name, DisplayName, Ready = %q, %q, %v", g.Name(), g.DisplayName(), g.Ready())
	}
	state, verifier := oauth.GenerateState(), oauth.GenerateVerifier()
	authURL, err := g.AuthCodeURL(state, verifier, "ignored-nonce")
	if err != nil {
		t.Fatal(err)
	}
	back := approve(t, authURL)
	prof, err := g.Exchange(context.Background(), back.Get("code"), verifier, "")
	if err != nil {
		t.Fatal(err)
	}
	// The primary address, not the first verified one listed.
	want := oauth.Profile{Provider: "github", Subject: "583231", Email: "octocat@github.com", EmailVerified: true, Name: "The Octocat"}
	if *prof != want {
		t.Errorf("profile %+v, want %+v", *prof, want)
	}

	e.Lock()
	defer e.Unlock()
	authz := e.Authorize[0]
	for k, v := range map[string]string{
		"client_id": oauthtest.GitHubClientID, "redirect_uri": oauth.RedirectURL(authdIssuer, "github"), "scope": "read:user user:email",
		"state": state, "code_challenge": challenge(verifier), "code_challenge_method": "S256", "response_type": "code",
	} {
		if authz.Get(k) != v {
			t.Errorf("authorization request %s = %q, want %q", k, authz.Get(k), v)
		}
	}
	if authz.Has("nonce") {
		t.Error("a nonce sent to GitHub")
	}
	if len(e.TokenRequests) != 1 {
		t.Fatalf("%d token requests, want 1", len(e.TokenRequests))
	}
	if tr := e.TokenRequests[0]; tr.PostForm.Get("code_verifier") != verifier || tr.PostForm.Get("client_secret") != oauthtest.GitHubClientSecret {
		t.Errorf("token request form %v: want the verifier and the client's credentials", tr.PostForm)
	}
	paths := []string{}
	for _, r := range e.APIRequests {
		paths = append(paths, r.URL.Path)
		if !strings.HasPrefix(r.Header.Get("Authorization"), "Bearer gho_") ||
			r.Header.Get("Accept") != "application/vnd.github+json" ||
			r.Header.Get("X-GitHub-Api-Version") != "2022-11-28" {
			t.Errorf("API request %s headers %v", r.URL.Path, r.Header)
		}
	}
	if strings.Join(paths, " ") != "/user /user/emails" {
		t.Errorf("API requests %v", paths)
	}
}

func TestGitHubProfiles(t *testing.T) {
	for _, tc := range []struct {
		name    string
		user    func(u *oauthtest.GitHubUser)
		emails  []oauthtest.GitHubEmail
		want    *oauth.Profile
		wantErr error
	}{
		{
			name: "no name: the login",
			user: func(u *oauthtest.GitHubUser) { u.Name = nil },
			emails: []oauthtest.GitHubEmail{
				{Email: "octocat@github.com", Primary: true, Verified: true},
			},
			want: &oauth.Profile{Provider: "github", Subject: "583231", Email: "octocat@github.com", EmailVerified: true, Name: "octocat"},
		},
		{
			name: "the public email is not used",
			user: func(u *oauthtest.GitHubUser) { u.Email = oauthtest.Ptr("public@example.com") },
			emails: []oauthtest.GitHubEmail{
				{Email: "Octo.Cat@GitHub.com", Primary: true, Verified: true},
			},
			want: &oauth.Profile{Provider: "github", Subject: "583231", Email: "Octo.Cat@GitHub.com", EmailVerified: true, Name: "The Octocat"},
		},
		{
			name: "an unverified primary beside a verified other",
			emails: []oauthtest.GitHubEmail{
				{Email: "verified@example.com", Primary: false, Verified: true},
				{Email: "primary@example.com", Primary: true, Verified: false},
			},
			want: &oauth.Profile{Provider: "github", Subject: "583231", Email: "primary@example.com", EmailVerified: false, Name: "The Octocat"},
		},
		{
			name: "no primary",
			user: func(u *oauthtest.GitHubUser) { u.Email = oauthtest.Ptr("public@example.com") },
			emails: []oauthtest.GitHubEmail{
				{Email: "a@example.com", Primary: false, Verified: true},
				{Email: "b@example.com", Primary: false, Verified: false},
			},
			wantErr: oauth.ErrNoEmail,
		},
		{
			name:    "no address",
			emails:  []oauthtest.GitHubEmail{},
			wantErr: oauth.ErrNoEmail,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := oauthtest.StartGitHub(t, false)
			e.Set(func(e *oauthtest.GitHub) {
				if tc.user != nil {
					tc.user(&e.User)
				}
				e.Emails = tc.emails
			})
			prof, err := signIn(t, newGitHub(t, e, nil))
			if tc.wantErr != nil {
				if prof != nil {
					t.Errorf("a profile with an error: %+v", prof)
				}
				checkClass(t, err, tc.wantErr)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if *prof != *tc.want {
				t.Errorf("profile %+v, want %+v", *prof, *tc.want)
			}
		})
	}
}

// acceptJSON asks for JSON token responses, as GitHub lets clients do.
type acceptJSON struct{}

func (acceptJSON) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	if r.Method == http.MethodPost {
		r.Header.Set("Accept", "application/json")
	}
	return http.DefaultTransport.RoundTrip(r)
}

// GitHub answers a bad code with 200 and an error, form-encoded or JSON.
func TestGitHubBadCode(t *testing.T) {
	for _, tc := range []struct {
		name   string
		client *http.Client
	}{
		{"form-encoded", nil},
		{"JSON", &http.Client{Transport: acceptJSON{}, Timeout: 10 * time.Second}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := oauthtest.StartGitHub(t, false)
			g := newGitHub(t, e, tc.client)
			_, err := g.Exchange(context.Background(), "not-a-code", oauth.GenerateVerifier(), "")
			t.Log(err)
			checkClass(t, err, oauth.ErrDenied)

			// A code is redeemed once, and with its verifier only.
			verifier := oauth.GenerateVerifier()
			authURL, err := g.AuthCodeURL("s", verifier, "")
			if err != nil {
				t.Fatal(err)
			}
			code := approve(t, authURL).Get("code")
			if _, err := g.Exchange(context.Background(), code, verifier, ""); err != nil {
				t.Fatal(err)
			}
			_, err = g.Exchange(context.Background(), code, verifier, "")
			checkClass(t, err, oauth.ErrDenied)

			authURL, err = g.AuthCodeURL("s", verifier, "")
			if err != nil {
				t.Fatal(err)
			}
			code = approve(t, authURL).Get("code")
			_, err = g.Exchange(context.Background(), code, oauth.GenerateVerifier(), "")
			checkClass(t, err, oauth.ErrDenied)

			e.Lock()
			defer e.Unlock()
			if len(e.TokenRequests) != 4 {
				t.Errorf("%d token requests, want 4 (one per Exchange)", len(e.TokenRequests))
			}
		})
	}
}

func TestGitHubIncorrectClientCredentials(t *testing.T) {
	e := oauthtest.StartGitHub(t, false)
	g, err := oauth.NewGitHub(oauth.GitHubConfig{
		ClientID: oauthtest.GitHubClientID, ClientSecret: "wrong",
		RedirectURL: oauth.RedirectURL(authdIssuer, "github"), WebURL: e.WebURL(), APIURL: e.APIURL(),
	})
	if err != nil {
		t.Fatal(err)
	}
	_, err = signIn(t, g)
	checkClass(t, err, nil)
}

func TestGitHubAPIErrors(t *testing.T) {
	for _, tc := range []struct {
		name  string
		setup func(e *oauthtest.GitHub)
		want  error
	}{
		{"401 Bad credentials", func(e *oauthtest.GitHub) { clear(e.Tokens) }, nil},
		{"403", func(e *oauthtest.GitHub) { e.APIStatus = 403 }, nil},
		{"404", func(e *oauthtest.GitHub) { e.APIStatus = 404 }, nil},
		{"429", func(e *oauthtest.GitHub) { e.APIStatus = 429 }, oauth.ErrUnavailable},
		{"502", func(e *oauthtest.GitHub) { e.APIStatus = 502 }, oauth.ErrUnavailable},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := oauthtest.StartGitHub(t, false)
			g := newGitHub(t, e, nil)
			verifier := oauth.GenerateVerifier()
			authURL, err := g.AuthCodeURL("s", verifier, "")
			if err != nil {
				t.Fatal(err)
			}
			code := approve(t, authURL).Get("code")
			// The API fails after the token is issued: the token request
			// goes to the web server, which answers before this.
			client := &http.Client{Timeout: 10 * time.Second, Transport: hookAfterToken{e: e, setup: tc.setup}}
			g = newGitHub(t, e, client)
			_, err = g.Exchange(context.Background(), code, verifier, "")
			t.Log(err)
			checkClass(t, err, tc.want)
		})
	}
}

// hookAfterToken runs setup on the emulator once the token response is in.
type hookAfterToken struct {
	e     *oauthtest.GitHub
	setup func(e *oauthtest.GitHub)
}

func (h hookAfterToken) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := http.DefaultTransport.RoundTrip(r)
	if err == nil && strings.HasSuffix(r.URL.Path, "/login/oauth/access_token") {
		h.e.Set(h.setup)
	}
	return resp, err
}

func TestGitHubAPIUnreachable(t *testing.T) {
	e := oauthtest.StartGitHub(t, false)
	g := newGitHub(t, e, nil)
	e.CloseAPI()
	_, err := signIn(t, g)
	checkClass(t, err, oauth.ErrUnavailable)
}

func TestGitHubEnterpriseServer(t *testing.T) {
	e := oauthtest.StartGitHub(t, true)
	g := newGitHub(t, e, nil)
	authURL, err := g.AuthCodeURL("s", oauth.GenerateVerifier(), "")
	if err != nil {
		t.Fatal(err)
	}
	if want := e.WebURL() + "/login/oauth/authorize?"; !strings.HasPrefix(authURL, want) {
		t.Errorf("authorization URL %s, want it under %s", authURL, want)
	}
	prof, err := signIn(t, g)
	if err != nil {
		t.Fatal(err)
	}
	if prof.Email != "octocat@github.com" || prof.Subject != "583231" {
		t.Errorf("profile %+v", *prof)
	}
	e.Lock()
	defer e.Unlock()
	for _, r := range e.APIRequests {
		// StripPrefix keeps the request's original path in RequestURI.
		if !strings.HasPrefix(r.RequestURI, "/api/v3/user") {
			t.Errorf("API request %s, want it under /api/v3", r.RequestURI)
		}
	}
	if len(e.APIRequests) != 2 {
		t.Errorf("%d API requests, want 2", len(e.APIRequests))
	}
}

// The primary address may be on a later page of /user/emails.
func TestGitHubEmailsPaginated(t *testing.T) {
	e := oauthtest.StartGitHub(t, true)
	e.Set(func(e *oauthtest.GitHub) {
		e.Emails = nil
		for i := range 150 {
			e.Emails = append(e.Emails, oauthtest.GitHubEmail{Email: fmt.Sprintf("a%d@example.com", i), Verified: true})
		}
		e.Emails[120].Primary = true
	})
	prof, err := signIn(t, newGitHub(t, e, nil))
	if err != nil {
		t.Fatal(err)
	}
	if prof.Email != "a120@example.com" {
		t.Errorf("Email = %q, want the primary a120@example.com", prof.Email)
	}
}

// A Link to another origin is not followed: the token goes nowhere else.
func TestGitHubEmailsLinkToAnotherOrigin(t *testing.T) {
	var elsewhere atomic.Int32
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { elsewhere.Add(1) }))
	defer other.Close()
	e := oauthtest.StartGitHub(t, false)
	e.Set(func(e *oauthtest.GitHub) {
		e.LinkHost = other.Listener.Addr().String()
		e.Emails = nil
		for i := range 150 {
			e.Emails = append(e.Emails, oauthtest.GitHubEmail{Email: fmt.Sprintf("a%d@example.com", i), Verified: true, Primary: i == 120})
		}
	})
	_, err := signIn(t, newGitHub(t, e, nil))
	checkClass(t, err, oauth.ErrNoEmail)
	if n := elsewhere.Load(); n != 0 {
		t.Errorf("%d requests to another origin", n)
	}
}

func TestNewGitHubConfig(t *testing.T) {
	good := oauth.GitHubConfig{ClientID: "id", ClientSecret: "secret", RedirectURL: oauth.RedirectURL("https://authd.example", "github")}
	g, err := oauth.NewGitHub(good)
	if err != nil {
		t.Fatal(err)
	}
	authURL, err := g.AuthCodeURL("s", oauth.GenerateVerifier(), "")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(authURL, "https://github.com/login/oauth/authorize?") {
		t.Errorf("default authorization URL %s", authURL)
	}
	for _, tc := range []struct {
		name string
		edit func(c *oauth.GitHubConfig)
	}{
		{"no client ID", func(c *oauth.GitHubConfig) { c.ClientID = "" }},
		{"no client secret", func(c *oauth.GitHubConfig) { c.ClientSecret = "" }},
		{"no redirect URL", func(c *oauth.GitHubConfig) { c.RedirectURL = "" }},
		{"relative web URL", func(c *oauth.GitHubConfig) { c.WebURL = "github.example" }},
		{"API URL with a query", func(c *oauth.GitHubConfig) { c.APIURL = "https://ghe.example/api/v3?x=1" }},
		{"ftp API URL", func(c *oauth.GitHubConfig) { c.APIURL = "ftp://ghe.example/api/v3" }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := good
			tc.edit(&cfg)
			if _, err := oauth.NewGitHub(cfg); err == nil {
				t.Error("no error")
			}
		})
	}
}

func TestGitHubChecksArguments(t *testing.T) {
	e := oauthtest.StartGitHub(t, false)
	g := newGitHub(t, e, nil)
	if _, err := g.AuthCodeURL("", oauth.GenerateVerifier(), ""); err == nil {
		t.Error("AuthCodeURL with an empty state: no error")
	}
	if _, err := g.AuthCodeURL("s", "short", ""); err == nil {
		t.Error("AuthCodeURL with a short verifier: no error")
	}
	_, err := g.Exchange(context.Background(), "", oauth.GenerateVerifier(), "")
	checkClass(t, err, nil)
	_, err = g.Exchange(context.Background(), "code", "short", "")
	checkClass(t, err, nil)
	e.Lock()
	defer e.Unlock()
	if len(e.TokenRequests) != 0 {
		t.Errorf("%d token requests for bad arguments", len(e.TokenRequests))
	}
}
