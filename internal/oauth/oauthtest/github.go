package oauthtest

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// GitHub emulates the parts of GitHub that authd uses, as GitHub
// documents them: the OAuth app web flow (/login/oauth/authorize, which
// approves at once as the signed-in user, and /login/oauth/access_token)
// and the REST API's /user and /user/emails.
//
// What it follows: the token endpoint answers 200 even for an error, with
// error, error_description and error_uri, form-encoded unless the request
// accepts application/json; a token's scope is comma-separated; the API
// wants a token (Bearer or token), a User-Agent, and answers 401 with
// {"message":"Bad credentials",…}; /user's email is the public one, null
// when private; /user/emails is paginated (per_page, Link rel="next").
// One assumption: a code_verifier that does not match the challenge is
// answered like a bad code (bad_verification_code); GitHub does not
// document that answer.
//
// Its exported fields are the state a test may read or change, holding the
// emulator's lock (Lock and Unlock, or Set).
type GitHub struct {
	web, api  *httptest.Server
	webPrefix string // path of the web URL on web
	apiPrefix string // path of the API URL on api

	sync.Mutex
	User          GitHubUser             // the signed-in user, /user
	Emails        []GitHubEmail          // /user/emails
	Tokens        map[string]bool        // access token → valid
	APIStatus     int                    // when set, the API answers it with a message
	LinkHost      string                 // when set, /user/emails' Link URLs point there
	Authorize     []url.Values           // the query of each authorization request
	TokenRequests []*http.Request        // each token request, its form parsed
	APIRequests   []*http.Request        // each API request
	codes         map[string]gitHubGrant // code → grant, deleted when redeemed
	nextCode      int
}

// GitHubUser is /user's answer.
type GitHubUser struct {
	Login string  `json:"login"`
	ID    int64   `json:"id"`
	Name  *string `json:"name"`
	Email *string `json:"email"` // the public email
}

// GitHubEmail is one address of /user/emails.
type GitHubEmail struct {
	Email      string  `json:"email"`
	Primary    bool    `json:"primary"`
	Verified   bool    `json:"verified"`
	Visibility *string `json:"visibility"`
}

type gitHubGrant struct {
	redirectURI, challenge, method string
}

// The OAuth app registered with the emulator.
const (
	GitHubClientID     = "Iv1.8a61f9b3a7aba766"
	GitHubClientSecret = "1a2b3c4d5e6f"
)

// Ptr returns a pointer to v, for GitHubUser's optional fields.
func Ptr[T any](v T) *T { return &v }

// StartGitHub starts the emulator: the web and the API on two servers as
// github.com and api.github.com, or, with enterprise, on one server as a
// GitHub Enterprise Server, the API under /api/v3.
func StartGitHub(tb testing.TB, enterprise bool) *GitHub {
	e := &GitHub{
		codes:  map[string]gitHubGrant{},
		Tokens: map[string]bool{},
		User:   GitHubUser{Login: "octocat", ID: 583231, Name: Ptr("The Octocat"), Email: nil},
		Emails: []GitHubEmail{
			{Email: "octocat@users.noreply.github.com", Primary: false, Verified: true},
			{Email: "octocat@github.com", Primary: true, Verified: true, Visibility: Ptr("private")},
			{Email: "old@example.com", Primary: false, Verified: false},
		},
	}
	if enterprise {
		mux := http.NewServeMux()
		mux.HandleFunc("/login/oauth/", e.serveWeb)
		mux.Handle("/api/v3/", http.StripPrefix("/api/v3", http.HandlerFunc(e.serveAPI)))
		e.web = httptest.NewServer(mux)
		e.api, e.apiPrefix = e.web, "/api/v3"
	} else {
		e.web = httptest.NewServer(http.HandlerFunc(e.serveWeb))
		e.api = httptest.NewServer(http.HandlerFunc(e.serveAPI))
		tb.Cleanup(e.api.Close)
	}
	tb.Cleanup(e.web.Close)
	return e
}

// WebURL is AUTH_GITHUB_URL of the emulator.
func (e *GitHub) WebURL() string { return e.web.URL + e.webPrefix }

// APIURL is AUTH_GITHUB_API_URL of the emulator.
func (e *GitHub) APIURL() string { return e.api.URL + e.apiPrefix }

// CloseAPI stops the API's server (the web's too on an Enterprise Server).
func (e *GitHub) CloseAPI() { e.api.Close() }

// Set runs f holding the emulator's lock.
func (e *GitHub) Set(f func(e *GitHub)) {
	e.Lock()
	defer e.Unlock()
	f(e)
}

func (e *GitHub) serveWeb(w http.ResponseWriter, r *http.Request) {
	e.Lock()
	defer e.Unlock()
	switch r.URL.Path {
	case "/login/oauth/authorize":
		q := r.URL.Query()
		e.Authorize = append(e.Authorize, q)
		if q.Get("client_id") != GitHubClientID {
			http.Error(w, "unknown client", http.StatusNotFound)
			return
		}
		redirect, err := url.Parse(q.Get("redirect_uri"))
		if err != nil {
			http.Error(w, "bad redirect_uri", http.StatusBadRequest)
			return
		}
		e.nextCode++
		code := fmt.Sprintf("gh-code-%d", e.nextCode)
		e.codes[code] = gitHubGrant{redirectURI: q.Get("redirect_uri"), challenge: q.Get("code_challenge"), method: q.Get("code_challenge_method")}
		back := redirect.Query()
		back.Set("code", code)
		back.Set("state", q.Get("state"))
		redirect.RawQuery = back.Encode()
		http.Redirect(w, r, redirect.String(), http.StatusFound)
	case "/login/oauth/access_token":
		if r.Method != http.MethodPost {
			http.NotFound(w, r)
			return
		}
		if err := r.ParseForm(); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		e.TokenRequests = append(e.TokenRequests, r)
		e.token(w, r)
	default:
		http.NotFound(w, r)
	}
}

// token answers a token request as GitHub does.
func (e *GitHub) token(w http.ResponseWriter, r *http.Request) {
	id, secret := r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	if bid, bsecret, ok := r.BasicAuth(); ok {
		id, secret = bid, bsecret
	}
	if id != GitHubClientID || secret != GitHubClientSecret {
		e.tokenError(w, r, "incorrect_client_credentials", "The client_id and/or client_secret passed are incorrect.")
		return
	}
	code := r.PostForm.Get("code")
	g, ok := e.codes[code]
	if !ok {
		e.tokenError(w, r, "bad_verification_code", "The code passed is incorrect or expired.")
		return
	}
	delete(e.codes, code)
	if ru := r.PostForm.Get("redirect_uri"); ru != "" && ru != g.redirectURI {
		e.tokenError(w, r, "redirect_uri_mismatch", "The redirect_uri MUST match the registered callback URL for this application.")
		return
	}
	if g.challenge != "" {
		sum := sha256.Sum256([]byte(r.PostForm.Get("code_verifier")))
		if g.method != "S256" || base64.RawURLEncoding.EncodeToString(sum[:]) != g.challenge {
			e.tokenError(w, r, "bad_verification_code", "The code passed is incorrect or expired.")
			return
		}
	}
	e.nextCode++
	tok := fmt.Sprintf("gho_%036d", e.nextCode)
	e.Tokens[tok] = true
	e.tokenReply(w, r, url.Values{"access_token": {tok}, "scope": {"read:user,user:email"}, "token_type": {"bearer"}})
}

func (e *GitHub) tokenError(w http.ResponseWriter, r *http.Request, code, description string) {
	e.tokenReply(w, r, url.Values{
		"error":             {code},
		"error_description": {description},
		"error_uri":         {"https://docs.github.com/apps/managing-oauth-apps/troubleshooting-oauth-app-access-token-request-errors/#" + strings.ReplaceAll(code, "_", "-")},
	})
}

// tokenReply writes v with status 200, as JSON if the request accepts it,
// form-encoded otherwise.
func (e *GitHub) tokenReply(w http.ResponseWriter, r *http.Request, v url.Values) {
	if strings.Contains(r.Header.Get("Accept"), "application/json") {
		m := map[string]string{}
		for k := range v {
			m[k] = v.Get(k)
		}
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		_ = json.NewEncoder(w).Encode(m)
		return
	}
	w.Header().Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	_, _ = w.Write([]byte(v.Encode()))
}

func (e *GitHub) apiError(w http.ResponseWriter, status int, message string) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{
		"message": message, "documentation_url": "https://docs.github.com/rest", "status": strconv.Itoa(status),
	})
}

func (e *GitHub) serveAPI(w http.ResponseWriter, r *http.Request) {
	e.Lock()
	defer e.Unlock()
	e.APIRequests = append(e.APIRequests, r)
	if r.Header.Get("User-Agent") == "" {
		http.Error(w, "Request forbidden by administrative rules. Please make sure your request has a User-Agent header", http.StatusForbidden)
		return
	}
	auth := r.Header.Get("Authorization")
	tok, ok := strings.CutPrefix(auth, "Bearer ")
	if !ok {
		tok, ok = strings.CutPrefix(auth, "token ")
	}
	if !ok || !e.Tokens[tok] {
		e.apiError(w, http.StatusUnauthorized, "Bad credentials")
		return
	}
	if e.APIStatus != 0 {
		e.apiError(w, e.APIStatus, http.StatusText(e.APIStatus))
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	switch r.URL.Path {
	case "/user":
		_ = json.NewEncoder(w).Encode(e.User)
	case "/user/emails":
		perPage, _ := strconv.Atoi(r.URL.Query().Get("per_page"))
		if perPage <= 0 {
			perPage = 30
		}
		page, _ := strconv.Atoi(r.URL.Query().Get("page"))
		page = max(page, 1)
		start := min((page-1)*perPage, len(e.Emails))
		end := min(start+perPage, len(e.Emails))
		if end < len(e.Emails) {
			link := func(page int) string {
				u := url.URL{Scheme: "http", Host: r.Host, Path: e.apiPrefix + "/user/emails"}
				if e.LinkHost != "" {
					u.Host = e.LinkHost
				}
				u.RawQuery = url.Values{"per_page": {strconv.Itoa(perPage)}, "page": {strconv.Itoa(page)}}.Encode()
				return u.String()
			}
			last := (len(e.Emails) + perPage - 1) / perPage
			w.Header().Set("Link", fmt.Sprintf(`<%s>; rel="next", <%s>; rel="last"`, link(page+1), link(last)))
		}
		_ = json.NewEncoder(w).Encode(e.Emails[start:end])
	default:
		e.apiError(w, http.StatusNotFound, "Not Found")
	}
}
