package oauth_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"sync"
	"testing"
	"time"

	"github.com/zitadel/oidc/v3/example/server/exampleop"
	"github.com/zitadel/oidc/v3/example/server/storage"

	"github.com/talentforge/authd/internal/oauth"
)

// The end-to-end tests run the whole flow against a real OpenID Provider
// on loopback: zitadel/oidc's op package (OpenID Certified), wired by its
// example server (exampleop) to its example in-memory storage, whose login
// page the test fills in as a browser would.

const (
	opClientID     = "authd-web"
	opClientSecret = "s3cr3t-for-tests"
	// authdIssuer is where the provider sends the browser back; nothing
	// listens there: the test's browser stops at the redirect.
	authdIssuer = "http://authd.test"
	opProvider  = "zitadel"
	// The example storage's test user (storage.NewUserStore): its user name
	// is test-user@ followed by the issuer's host.
	opUserID       = "id1"
	opUserPassword = "verysecure"
	opUserEmail    = "test-user@zitadel.ch"
	opUserName     = "Test User"
)

// opRecorder keeps what authd sent to the provider: the query of each
// authorization request and the form of each token request, as the
// provider received them.
type opRecorder struct {
	mu        sync.Mutex
	authorize []url.Values
	token     []url.Values
	userinfo  int
}

func (r *opRecorder) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		switch {
		case req.Method == http.MethodGet && req.URL.Query().Has("code_challenge"):
			r.mu.Lock()
			r.authorize = append(r.authorize, req.URL.Query())
			r.mu.Unlock()
		case req.Method == http.MethodPost && req.URL.Path == "/oauth/token":
			body, _ := io.ReadAll(req.Body)
			req.Body = io.NopCloser(bytes.NewReader(body))
			form, _ := url.ParseQuery(string(body))
			r.mu.Lock()
			r.token = append(r.token, form)
			r.mu.Unlock()
		case req.URL.Path == "/userinfo":
			r.mu.Lock()
			r.userinfo++
			r.mu.Unlock()
		}
		next.ServeHTTP(w, req)
	})
}

func (r *opRecorder) last() (authorize, token url.Values) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.authorize) > 0 {
		authorize = r.authorize[len(r.authorize)-1]
	}
	if len(r.token) > 0 {
		token = r.token[len(r.token)-1]
	}
	return authorize, token
}

// startOP starts zitadel's example OpenID Provider on loopback with authd
// registered as a confidential web client, and returns its issuer.
func startOP(t *testing.T) (issuer string, rec *opRecorder) {
	t.Helper()
	srv := httptest.NewUnstartedServer(nil)
	issuer = "http://" + srv.Listener.Addr().String()
	clients := map[string]*storage.Client{
		opClientID: storage.WebClient(opClientID, opClientSecret, oauth.RedirectURL(authdIssuer, opProvider)),
	}
	st := storage.NewStorageWithClients(storage.NewUserStore(issuer), clients)
	rec = &opRecorder{}
	srv.Config.Handler = rec.wrap(exampleop.SetupServer(issuer, st, nil, false))
	srv.Start()
	t.Cleanup(srv.Close)
	return issuer, rec
}

func discard() *slog.Logger { return slog.New(slog.DiscardHandler) }

// newReadyOIDC returns a provider for issuer whose discovery has succeeded.
func newReadyOIDC(t *testing.T, cfg oauth.Config) *oauth.OIDC {
	t.Helper()
	if cfg.Logger == nil {
		cfg.Logger = discard()
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	p, err := oauth.NewOIDC(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	waitReady(t, p)
	return p
}

// waitReady polls p.Ready until it is true, for at most 5 seconds.
func waitReady(t *testing.T, p interface{ Ready() bool }) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !p.Ready() {
		if time.Now().After(deadline) {
			t.Fatal("the provider did not become ready within 5s")
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func opProviderFor(t *testing.T, issuer string) *oauth.OIDC {
	return newReadyOIDC(t, oauth.Config{
		Name:         opProvider,
		DisplayName:  "Zitadel",
		Issuer:       issuer,
		ClientID:     opClientID,
		ClientSecret: opClientSecret,
		RedirectURL:  oauth.RedirectURL(authdIssuer, opProvider),
	})
}

var (
	formActionRE = regexp.MustCompile(`<form method="POST" action="([^"]+)"`)
	formIDRE     = regexp.MustCompile(`<input type="hidden" name="id" value="([^"]+)">`)
)

// browserLogin plays the user's browser: it follows authURL to the
// provider's login page, posts the login form with the example user's
// credentials, and follows the redirects until the one back to authd,
// whose query it returns (code and state, or error).
func browserLogin(t *testing.T, issuer, authURL, password string) url.Values {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	var back *url.URL
	browser := &http.Client{
		Jar:     jar,
		Timeout: 10 * time.Second,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if req.URL.Host == "authd.test" {
				back = req.URL
				return http.ErrUseLastResponse
			}
			return nil
		},
	}
	resp, err := browser.Get(authURL)
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("login page: %s: %s", resp.Status, page)
	}
	action, id := formActionRE.FindSubmatch(page), formIDRE.FindSubmatch(page)
	if action == nil || id == nil {
		t.Fatalf("no login form on %s:\n%s", resp.Request.URL, page)
	}
	target, err := resp.Request.URL.Parse(string(action[1]))
	if err != nil {
		t.Fatal(err)
	}
	host, _, _ := net.SplitHostPort(resp.Request.URL.Host)
	resp, err = browser.PostForm(target.String(), url.Values{
		"id":       {string(id[1])},
		"username": {"test-user@" + host},
		"password": {password},
	})
	if err != nil {
		t.Fatal(err)
	}
	page, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if back == nil {
		t.Fatalf("the provider did not redirect back to authd: %s:\n%s", resp.Status, page)
	}
	return back.Query()
}

// challenge is RFC 7636's S256 code challenge of verifier.
func challenge(verifier string) string {
	sum := sha256.Sum256([]byte(verifier))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

func TestOIDCEndToEndWithCertifiedOP(t *testing.T) {
	issuer, rec := startOP(t)
	p := opProviderFor(t, issuer)
	if p.Name() != opProvider || p.DisplayName() != "Zitadel" {
		t.Fatalf("Name, DisplayName = %q, %q", p.Name(), p.DisplayName())
	}
	state, verifier, nonce := oauth.GenerateState(), oauth.GenerateVerifier(), oauth.GenerateNonce()
	authURL, err := p.AuthCodeURL(state, verifier, nonce)
	if err != nil {
		t.Fatal(err)
	}
	back := browserLogin(t, issuer, authURL, opUserPassword)
	if back.Get("state") != state || back.Get("code") == "" {
		t.Fatalf("callback query %v: want state %q and a code", back, state)
	}

	prof, err := p.Exchange(context.Background(), back.Get("code"), verifier, nonce)
	if err != nil {
		t.Fatal(err)
	}
	want := oauth.Profile{Provider: opProvider, Subject: opUserID, Email: opUserEmail, EmailVerified: true, Name: opUserName}
	if *prof != want {
		t.Errorf("profile %+v, want %+v", *prof, want)
	}

	// PKCE and nonce, as the provider received them.
	authz, tok := rec.last()
	for k, v := range map[string]string{
		"code_challenge":        challenge(verifier),
		"code_challenge_method": "S256",
		"nonce":                 nonce,
		"state":                 state,
		"client_id":             opClientID,
		"response_type":         "code",
		"redirect_uri":          oauth.RedirectURL(authdIssuer, opProvider),
		"scope":                 "openid email profile",
	} {
		if got := authz.Get(k); got != v {
			t.Errorf("authorization request %s = %q, want %q", k, got, v)
		}
	}
	if got := tok.Get("code_verifier"); got != verifier {
		t.Errorf("token request code_verifier = %q, want %q", got, verifier)
	}
	if tok.Has("client_secret") {
		t.Error("the client secret went in the form; the provider lists client_secret_basic")
	}
	// This OP keeps the email scope's claims out of an ID token issued
	// with an access token: the email came from UserInfo.
	rec.mu.Lock()
	userinfo := rec.userinfo
	rec.mu.Unlock()
	if userinfo != 1 {
		t.Errorf("%d UserInfo requests, want 1", userinfo)
	}

	// The provider redeems a code once.
	_, err = p.Exchange(context.Background(), back.Get("code"), verifier, nonce)
	if !errors.Is(err, oauth.ErrDenied) {
		t.Errorf("second Exchange of a code: %v, want ErrDenied", err)
	}
}

func TestOIDCCertifiedOPRefusesAnotherVerifier(t *testing.T) {
	issuer, _ := startOP(t)
	p := opProviderFor(t, issuer)
	state, verifier, nonce := oauth.GenerateState(), oauth.GenerateVerifier(), oauth.GenerateNonce()
	authURL, err := p.AuthCodeURL(state, verifier, nonce)
	if err != nil {
		t.Fatal(err)
	}
	back := browserLogin(t, issuer, authURL, opUserPassword)
	_, err = p.Exchange(context.Background(), back.Get("code"), oauth.GenerateVerifier(), nonce)
	if !errors.Is(err, oauth.ErrDenied) {
		t.Fatalf("Exchange with another verifier: %v, want ErrDenied (the OP checks PKCE)", err)
	}
}

func TestOIDCCertifiedOPTokenWithAnotherNonce(t *testing.T) {
	issuer, _ := startOP(t)
	p := opProviderFor(t, issuer)
	state, verifier, nonce := oauth.GenerateState(), oauth.GenerateVerifier(), oauth.GenerateNonce()
	authURL, err := p.AuthCodeURL(state, verifier, nonce)
	if err != nil {
		t.Fatal(err)
	}
	back := browserLogin(t, issuer, authURL, opUserPassword)
	_, err = p.Exchange(context.Background(), back.Get("code"), verifier, oauth.GenerateNonce())
	if !errors.Is(err, oauth.ErrInvalidToken) {
		t.Fatalf("Exchange expecting another nonce: %v, want ErrInvalidToken", err)
	}
}
