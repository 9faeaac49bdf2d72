package oauth

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"golang.org/x/oauth2"
)

// GitHub defaults: github.com's web and API URLs (AUTH_GITHUB_URL and
// AUTH_GITHUB_API_URL); a GitHub Enterprise Server has both on its own
// host, the API under /api/v3.
const (
	GitHubWebURL = "https://github.com"
	GitHubAPIURL = "https://api.github.com"
)

// GitHubScopes are the scopes requested from GitHub: the profile, and the
// email addresses with their verified flags.
var GitHubScopes = []string{"read:user", "user:email"}

// GitHubAPIVersion is the REST API version authd asks for.
const GitHubAPIVersion = "2022-11-28"

// gitHubEmailPages bounds how many pages of /user/emails (100 addresses
// each) are read looking for the primary one.
const gitHubEmailPages = 10

// GitHubConfig configures GitHub (NewGitHub).
type GitHubConfig struct {
	// ClientID and ClientSecret are the OAuth app's credentials. Required.
	ClientID, ClientSecret string
	// RedirectURL is the callback URL registered with the app (see
	// RedirectURL). Required.
	RedirectURL string
	// WebURL is where users sign in and codes are redeemed
	// (WebURL/login/oauth/authorize and …/access_token); GitHubWebURL when
	// empty.
	WebURL string
	// APIURL is the REST API's base (APIURL/user, APIURL/user/emails);
	// GitHubAPIURL when empty.
	APIURL string
	// DisplayName is shown on the login button; "GitHub" when empty.
	DisplayName string
	// HTTPClient makes every request to GitHub; one with a DefaultTimeout
	// when nil.
	HTTPClient *http.Client
}

// GitHub is GitHub (or a GitHub Enterprise Server) through OAuth 2 and its
// REST API. It is a Provider named "github"; its methods are safe for
// concurrent use.
type GitHub struct {
	displayName string
	oauth       *oauth2.Config
	api         *url.URL
	client      *http.Client
}

var _ Provider = (*GitHub)(nil)

// NewGitHub returns GitHub as cfg describes it. It fails only on a
// configuration that can never work; it makes no request.
func NewGitHub(cfg GitHubConfig) (*GitHub, error) {
	if cfg.ClientID == "" || cfg.ClientSecret == "" {
		return nil, fmt.Errorf("oauth: provider github: no client ID or secret")
	}
	if _, err := checkURL("redirect URL", cfg.RedirectURL); err != nil {
		return nil, fmt.Errorf("%w (provider github)", err)
	}
	if cfg.WebURL == "" {
		cfg.WebURL = GitHubWebURL
	}
	if cfg.APIURL == "" {
		cfg.APIURL = GitHubAPIURL
	}
	web, err := checkURL("GitHub URL", cfg.WebURL)
	if err != nil {
		return nil, err
	}
	api, err := checkURL("GitHub API URL", cfg.APIURL)
	if err != nil {
		return nil, err
	}
	apiURL, _ := url.Parse(api)
	if cfg.DisplayName == "" {
		cfg.DisplayName = "GitHub"
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = defaultHTTPClient()
	}
	return &GitHub{
		displayName: cfg.DisplayName,
		oauth: &oauth2.Config{
			ClientID:     cfg.ClientID,
			ClientSecret: cfg.ClientSecret,
			Endpoint: oauth2.Endpoint{
				AuthURL:  web + "/login/oauth/authorize",
				TokenURL: web + "/login/oauth/access_token",
				// GitHub takes the credentials in the form; a known style
				// also keeps oauth2 from sending a code twice on an error.
				AuthStyle: oauth2.AuthStyleInParams,
			},
			RedirectURL: cfg.RedirectURL,
			Scopes:      GitHubScopes,
		},
		api:    apiURL,
		client: cfg.HTTPClient,
	}, nil
}

// Name returns "github".
func (g *GitHub) Name() string { return "github" }

// DisplayName returns the configured display name.
func (g *GitHub) DisplayName() string { return g.displayName }

// Ready returns true: GitHub needs no discovery.
func (g *GitHub) Ready() bool { return true }

// AuthCodeURL implements Provider: WebURL/login/oauth/authorize with
// response_type=code, client_id, redirect_uri, scope, state,
// code_challenge and code_challenge_method=S256. nonce is not used.
func (g *GitHub) AuthCodeURL(state, verifier, _ string) (string, error) {
	if err := checkAuthArgs("state", state, verifier, "", false); err != nil {
		return "", err
	}
	return g.oauth.AuthCodeURL(state, oauth2.S256ChallengeOption(verifier)), nil
}

// Exchange implements Provider. It redeems code with verifier (GitHub's
// answer to a bad code, 200 with error=bad_verification_code, is
// ErrDenied), then reads the user (APIURL/user) and their addresses
// (APIURL/user/emails) with the access token. The profile's Subject is the
// numeric user id, its Name the user's name or else their login, its Email
// the primary address and EmailVerified that address's verified flag: a
// primary address that is not verified gives a profile with EmailVerified
// false, on which the domain must not link an account. No other address is
// ever used: not a verified one that is not primary, nor the user's public
// email; without a primary address, Exchange fails with ErrNoEmail. An API
// answer of 401 or 403 is a provider error; 429 or a 5xx is
// ErrUnavailable. The access token is not kept.
func (g *GitHub) Exchange(ctx context.Context, code, verifier, _ string) (*Profile, error) {
	if err := checkAuthArgs("code", code, verifier, "", false); err != nil {
		return nil, err
	}
	tok, err := g.oauth.Exchange(context.WithValue(ctx, oauth2.HTTPClient, g.client), code, oauth2.VerifierOption(verifier))
	if err != nil {
		return nil, tokenError(ctx, "github", err)
	}
	var user struct {
		ID    int64   `json:"id"`
		Login string  `json:"login"`
		Name  *string `json:"name"`
	}
	if _, err := g.get(ctx, tok.AccessToken, g.endpoint("user", ""), &user); err != nil {
		return nil, err
	}
	if user.ID <= 0 {
		return nil, fmt.Errorf("oauth: github: /user has no id")
	}
	p := &Profile{Provider: "github", Subject: strconv.FormatInt(user.ID, 10), Name: user.Login}
	if user.Name != nil && *user.Name != "" {
		p.Name = *user.Name
	}
	next := g.endpoint("user/emails", "per_page=100")
	for page := 0; next != "" && page < gitHubEmailPages; page++ {
		var emails []struct {
			Email    string `json:"email"`
			Primary  bool   `json:"primary"`
			Verified bool   `json:"verified"`
		}
		h, err := g.get(ctx, tok.AccessToken, next, &emails)
		if err != nil {
			return nil, err
		}
		for _, e := range emails {
			if e.Primary && e.Email != "" {
				p.Email, p.EmailVerified = e.Email, e.Verified
				return p, nil
			}
		}
		next = g.nextPage(h)
	}
	return nil, fmt.Errorf("%w: github: the user has no primary email address", ErrNoEmail)
}

func (g *GitHub) endpoint(path, query string) string {
	u := *g.api
	u.Path = strings.TrimSuffix(u.Path, "/") + "/" + path
	u.RawPath = ""
	u.RawQuery = query
	return u.String()
}

// get reads the JSON answer of GET rawURL into v and returns its header.
func (g *GitHub) get(ctx context.Context, token, rawURL string, v any) (http.Header, error) {
	what := "GET " + rawURL
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		return nil, fmt.Errorf("oauth: github: %s: %w", what, err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Accept", "application/vnd.github+json")
	req.Header.Set("X-GitHub-Api-Version", GitHubAPIVersion)
	req.Header.Set("User-Agent", "authd") // GitHub refuses requests without one
	resp, err := g.client.Do(req)
	if err != nil {
		return nil, requestError(ctx, "github", what, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return nil, requestError(ctx, "github", what, err)
	}
	switch {
	case resp.StatusCode == http.StatusOK:
	case unavailableStatus(resp.StatusCode):
		return nil, fmt.Errorf("%w: github: %s: %s", ErrUnavailable, what, resp.Status)
	default:
		// 401 (a token GitHub no longer accepts), 403 (no permission, or a
		// rate limit), 404…: GitHub's message is left to the logs of the
		// caller, through this error only.
		return nil, fmt.Errorf("oauth: github: %s: %s: %s", what, resp.Status, gitHubMessage(body))
	}
	if err := json.Unmarshal(body, v); err != nil {
		return nil, fmt.Errorf("oauth: github: %s: %w", what, err)
	}
	return resp.Header, nil
}

// gitHubMessage is the message of a GitHub API error body, for logs.
func gitHubMessage(body []byte) string {
	var e struct {
		Message string `json:"message"`
	}
	_ = json.Unmarshal(body, &e)
	return strconv.Quote(e.Message)
}

// nextPage returns the rel="next" URL of a Link header, if it is on the
// API's own origin (the token is sent nowhere else), or "".
func (g *GitHub) nextPage(h http.Header) string {
	for _, link := range strings.Split(h.Get("Link"), ",") {
		target, params, ok := strings.Cut(strings.TrimSpace(link), ";")
		if !ok || !strings.HasPrefix(target, "<") || !strings.HasSuffix(target, ">") {
			continue
		}
		isNext := false
		for _, p := range strings.Split(params, ";") {
			if k, v, _ := strings.Cut(strings.TrimSpace(p), "="); k == "rel" && strings.Trim(v, `"`) == "next" {
				isNext = true
			}
		}
		if !isNext {
			continue
		}
		u, err := url.Parse(target[1 : len(target)-1])
		if err != nil || u.Scheme != g.api.Scheme || u.Host != g.api.Host {
			return ""
		}
		return u.String()
	}
	return ""
}
