package oauthtest

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"sync"
	"testing"

	"github.com/zitadel/oidc/v3/example/server/exampleop"
	"github.com/zitadel/oidc/v3/example/server/storage"
)

// The example storage's user (storage.NewUserStore): its user name is
// "test-user@" followed by the issuer's host name.
const (
	UserID       = "id1"
	UserPassword = "verysecure"
	UserEmail    = "test-user@zitadel.ch" // verified
	UserName     = "Test User"
)

// OPClient is a client registered with the OP: a confidential web client
// authenticating with client_secret_basic.
type OPClient struct {
	ID, Secret   string
	RedirectURIs []string
}

// OP is a running OpenID Provider. It keeps what its clients sent: the
// query of each authorization request, the form of each token request and
// the number of UserInfo requests.
type OP struct {
	// Issuer is the OP's issuer URL, http://127.0.0.1:port.
	Issuer string

	redirects []*url.URL // of every client

	mu        sync.Mutex
	authorize []url.Values
	token     []url.Values
	userinfo  int
}

// StartOP starts zitadel's example OpenID Provider on loopback with
// clients registered, and stops it when tb's test ends.
func StartOP(tb testing.TB, clients ...OPClient) *OP {
	tb.Helper()
	srv := httptest.NewUnstartedServer(nil)
	op := &OP{Issuer: "http://" + srv.Listener.Addr().String()}
	registered := map[string]*storage.Client{}
	for _, c := range clients {
		registered[c.ID] = storage.WebClient(c.ID, c.Secret, c.RedirectURIs...)
		for _, r := range c.RedirectURIs {
			u, err := url.Parse(r)
			if err != nil {
				tb.Fatalf("oauthtest: redirect URI %q: %v", r, err)
			}
			op.redirects = append(op.redirects, u)
		}
	}
	st := storage.NewStorageWithClients(storage.NewUserStore(op.Issuer), registered)
	srv.Config.Handler = op.record(exampleop.SetupServer(op.Issuer, st, nil, false))
	srv.Start()
	tb.Cleanup(srv.Close)
	return op
}

func (op *OP) record(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		switch {
		case req.Method == http.MethodGet && req.URL.Query().Has("code_challenge"):
			op.mu.Lock()
			op.authorize = append(op.authorize, req.URL.Query())
			op.mu.Unlock()
		case req.Method == http.MethodPost && req.URL.Path == "/oauth/token":
			body, _ := io.ReadAll(req.Body)
			req.Body = io.NopCloser(bytes.NewReader(body))
			form, _ := url.ParseQuery(string(body))
			op.mu.Lock()
			op.token = append(op.token, form)
			op.mu.Unlock()
		case req.URL.Path == "/userinfo":
			op.mu.Lock()
			op.userinfo++
			op.mu.Unlock()
		}
		next.ServeHTTP(w, req)
	})
}

// Last returns the query of the last authorization request that carried a
// code_challenge and the form of the last token request (nil if none).
func (op *OP) Last() (authorize, token url.Values) {
	op.mu.Lock()
	defer op.mu.Unlock()
	if len(op.authorize) > 0 {
		authorize = op.authorize[len(op.authorize)-1]
	}
	if len(op.token) > 0 {
		token = op.token[len(op.token)-1]
	}
	return authorize, token
}

// UserInfoRequests returns how many UserInfo requests the OP received.
func (op *OP) UserInfoRequests() int {
	op.mu.Lock()
	defer op.mu.Unlock()
	return op.userinfo
}

var (
	formActionRE = regexp.MustCompile(`<form method="POST" action="([^"]+)"`)
	formIDRE     = regexp.MustCompile(`<input type="hidden" name="id" value="([^"]+)">`)
)

// Login plays the user's browser with the example user's credentials.
func (op *OP) Login(browser *http.Client, authURL string) (*url.URL, error) {
	return op.LoginWithPassword(browser, authURL, UserPassword)
}

// LoginWithPassword plays the user's browser: with browser (give it a
// cookie jar when the flow sets cookies, as authd's start does), it follows
// authURL (the OP's authorization URL, or any URL that redirects there) to
// the OP's login page, posts the login form as the example user with
// password, and follows the redirects until the one to a registered
// client's redirect URI, which it does not follow but returns (with code
// and state, or error, in its query). browser's own CheckRedirect is not
// used.
func (op *OP) LoginWithPassword(browser *http.Client, authURL, password string) (*url.URL, error) {
	var back *url.URL
	b := *browser
	b.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if len(via) >= 10 {
			return errors.New("oauthtest: stopped after 10 redirects")
		}
		if op.isRedirectURI(req.URL) {
			back = req.URL
			return http.ErrUseLastResponse
		}
		return nil
	}
	resp, err := b.Get(authURL)
	if err != nil {
		return nil, err
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if back != nil {
		return back, nil // no login needed
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("oauthtest: login page: %s: %s", resp.Status, page)
	}
	action, id := formActionRE.FindSubmatch(page), formIDRE.FindSubmatch(page)
	if action == nil || id == nil {
		return nil, fmt.Errorf("oauthtest: no login form on %s:\n%s", resp.Request.URL, page)
	}
	target, err := resp.Request.URL.Parse(string(action[1]))
	if err != nil {
		return nil, err
	}
	host, _, _ := net.SplitHostPort(resp.Request.URL.Host)
	resp, err = b.PostForm(target.String(), url.Values{
		"id":       {string(id[1])},
		"username": {"test-user@" + host},
		"password": {password},
	})
	if err != nil {
		return nil, err
	}
	page, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if back == nil {
		return nil, fmt.Errorf("oauthtest: the OP did not redirect to a client: %s:\n%s", resp.Status, page)
	}
	return back, nil
}

// isRedirectURI reports whether u is a registered redirect URI (its query
// aside).
func (op *OP) isRedirectURI(u *url.URL) bool {
	return slices.ContainsFunc(op.redirects, func(r *url.URL) bool {
		return r.Scheme == u.Scheme && r.Host == u.Host && r.Path == u.Path
	})
}
