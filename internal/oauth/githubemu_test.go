package oauth_test

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

// gitHubEmu emulates the parts of GitHub that authd uses, as GitHub
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
type gitHubEmu struct {
	t         *testing.T
	web, api  *httptest.Server
	webPrefix string // path of the web URL on web
	apiPrefix string // path of the API URL on api

	mu        sync.Mutex
	user      gitHubUser
	emails    []gitHubEmail
	codes     map[string]gitHubGrant // code → grant, deleted when redeemed
	tokens    map[string]bool        // access token → valid
	apiStatus int                    // when set, the API answers it with a message
	authorize []url.Values           // the query of each authorization request
	tokenReqs []*http.Request        // each token request, its form parsed
	apiReqs   []*http.Request        // each API request
	linkHost  string                 // when set, Link URLs point there
	nextCode  int
}

type gitHubUser struct {
	Login string  `json:"login"`
	ID    int64   `json:"id"`
	Name  *string `json:"name"`
	Email *string `json:"email"` // the public email
}

type gitHubEmail struct {
	Email      string  `json:"email"`
	Primary    bool    `json:"primary"`
	Verified   bool    `json:"verified"`
	Visibility *string `json:"visibility"`
}

type gitHubGrant struct {
	redirectURI, challenge, method string
}

const (
	ghClientID     = "Iv1.8a61f9b3a7aba766"
	ghClientSecret = "1a2b3c4d5e6f"
)

func ptr[T any](v T) *T { return &v }

// newGitHubEmu starts the emulator: the web and the API on two servers as
// github.com and api.github.com, or, with enterprise, on one server as a
// GitHub Enterprise Server, the API under /api/v3.
func newGitHubEmu(t *testing.T, enterprise bool) *gitHubEmu {
	e := &gitHubEmu{
		t:      t,
		codes:  map[string]gitHubGrant{},
		tokens: map[string]bool{},
		user:   gitHubUser{Login: "octocat", ID: 583231, Name: ptr("The Octocat"), Email: nil},
		emails: []gitHubEmail{
			{Email: "octocat@users.noreply.github.com", Primary: false, Verified: true},
			{Email: "octocat@github.com", Primary: true, Verified: true, Visibility: ptr("private")},
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
		t.Cleanup(e.api.Close)
	}
	t.Cleanup(e.web.Close)
	return e
}

func (e *gitHubEmu) webURL() string { return e.web.URL + e.webPrefix }
func (e *gitHubEmu) apiURL() string { return e.api.URL + e.apiPrefix }

func (e *gitHubEmu) set(f func(e *gitHubEmu)) {
	e.mu.Lock()
	defer e.mu.Unlock()
	f(e)
}

func (e *gitHubEmu) serveWeb(w http.ResponseWriter, r *http.Request) {
	e.mu.Lock()
	defer e.mu.Unlock()
	switch r.URL.Path {
	case "/login/oauth/authorize":
		q := r.URL.Query()
		e.authorize = append(e.authorize, q)
		if q.Get("client_id") != ghClientID {
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
		e.tokenReqs = append(e.tokenReqs, r)
		e.token(w, r)
	default:
		http.NotFound(w, r)
	}
}

// token answers a token request as GitHub does.
func (e *gitHubEmu) token(w http.ResponseWriter, r *http.Request) {
	id, secret := r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	if bid, bsecret, ok := r.BasicAuth(); ok {
		id, secret = bid, bsecret
	}
	if id != ghClientID || secret != ghClientSecret {
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
	e.tokens[tok] = true
	e.tokenReply(w, r, url.Values{"access_token": {tok}, "scope": {"read:user,user:email"}, "token_type": {"bearer"}})
}

func (e *gitHubEmu) tokenError(w http.ResponseWriter, r *http.Request, code, description string) {
	e.tokenReply(w, r, url.Values{
		"error":             {code},
		"error_description": {description},
		"error_uri":         {"https://docs.github.com/apps/managing-oauth-apps/troubleshooting-oauth-app-access-token-request-errors/#" + strings.ReplaceAll(code, "_", "-")},
	})
}

// tokenReply writes v with status 200, as JSON if the request accepts it,
// form-encoded otherwise.
func (e *gitHubEmu) tokenReply(w http.ResponseWriter, r *http.Request, v url.Values) {
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

func (e *gitHubEmu) apiError(w http.ResponseWriter, status int, message string) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{
		"message": message, "documentation_url": "https://docs.github.com/rest", "status": strconv.Itoa(status),
	})
}

func (e *gitHubEmu) serveAPI(w http.ResponseWriter, r *http.Request) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.apiReqs = append(e.apiReqs, r)
	if r.Header.Get("User-Agent") == "" {
		http.Error(w, "Request forbidden by administrative rules. Please make sure your request has a User-Agent header", http.StatusForbidden)
		return
	}
	auth := r.Header.Get("Authorization")
	tok, ok := strings.CutPrefix(auth, "Bearer ")
	if !ok {
		tok, ok = strings.CutPrefix(auth, "token ")
	}
	if !ok || !e.tokens[tok] {
		e.apiError(w, http.StatusUnauthorized, "Bad credentials")
		return
	}
	if e.apiStatus != 0 {
		e.apiError(w, e.apiStatus, http.StatusText(e.apiStatus))
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	switch r.URL.Path {
	case "/user":
		_ = json.NewEncoder(w).Encode(e.user)
	case "/user/emails":
		perPage, _ := strconv.Atoi(r.URL.Query().Get("per_page"))
		if perPage <= 0 {
			perPage = 30
		}
		page, _ := strconv.Atoi(r.URL.Query().Get("page"))
		page = max(page, 1)
		start := min((page-1)*perPage, len(e.emails))
		end := min(start+perPage, len(e.emails))
		if end < len(e.emails) {
			link := func(page int) string {
				u := url.URL{Scheme: "http", Host: r.Host, Path: e.apiPrefix + "/user/emails"}
				if e.linkHost != "" {
					u.Host = e.linkHost
				}
				u.RawQuery = url.Values{"per_page": {strconv.Itoa(perPage)}, "page": {strconv.Itoa(page)}}.Encode()
				return u.String()
			}
			last := (len(e.emails) + perPage - 1) / perPage
			w.Header().Set("Link", fmt.Sprintf(`<%s>; rel="next", <%s>; rel="last"`, link(page+1), link(last)))
		}
		_ = json.NewEncoder(w).Encode(e.emails[start:end])
	default:
		e.apiError(w, http.StatusNotFound, "Not Found")
	}
}
