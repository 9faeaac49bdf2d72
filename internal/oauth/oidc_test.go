package oauth_test

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/talentforge/authd/internal/oauth"
)

func TestOIDCTokenEndpointErrors(t *testing.T) {
	op := newFakeOP(t)
	p := op.provider()
	for _, tc := range []struct {
		name   string
		status int
		body   map[string]any // nil: a text body
		want   error
	}{
		{"invalid_grant", 400, map[string]any{"error": "invalid_grant", "error_description": "code expired"}, oauth.ErrDenied},
		{"access_denied", 400, map[string]any{"error": "access_denied"}, oauth.ErrDenied},
		{"invalid_client", 401, map[string]any{"error": "invalid_client"}, nil},
		{"unauthorized_client", 400, map[string]any{"error": "unauthorized_client"}, nil},
		{"temporarily_unavailable", 503, map[string]any{"error": "temporarily_unavailable"}, oauth.ErrUnavailable},
		{"503 without an error code", 503, nil, oauth.ErrUnavailable},
		{"429", 429, nil, oauth.ErrUnavailable},
		{"500 server_error", 500, map[string]any{"error": "server_error"}, oauth.ErrUnavailable},
		{"503 invalid_client", 503, map[string]any{"error": "invalid_client"}, oauth.ErrUnavailable},
		{"503 invalid_grant", 503, map[string]any{"error": "invalid_grant"}, oauth.ErrDenied},
		{"404", 404, nil, nil},
		{"200 without an id_token", 200, map[string]any{"access_token": "at", "token_type": "Bearer"}, nil},
		{"200 without an access token", 200, map[string]any{"token_type": "Bearer"}, nil},
		// A description is text: whatever it says, the code decides.
		{"a description naming another class", 400, map[string]any{
			"error": "invalid_request", "error_description": "invalid_grant: " + oauth.ErrDenied.Error() + " " + oauth.ErrUnavailable.Error(),
		}, nil},
		{"a description naming another class, denied", 400, map[string]any{
			"error": "invalid_grant", "error_description": oauth.ErrNoEmail.Error() + " temporarily_unavailable",
		}, oauth.ErrDenied},
	} {
		t.Run(tc.name, func(t *testing.T) {
			op.set(func(op *fakeOP) {
				op.tokenReply = func(w http.ResponseWriter, r *http.Request) {
					if tc.body == nil {
						http.Error(w, "busy", tc.status)
						return
					}
					writeJSON(w, tc.status, tc.body)
				}
			})
			_, err := p.Exchange(context.Background(), "code-1", oauth.GenerateVerifier(), "n")
			t.Log(err)
			checkClass(t, err, tc.want)
		})
	}
}

// The client authenticates to the token endpoint as discovery says, and
// sends a code once, even when it is refused.
func TestOIDCTokenRequest(t *testing.T) {
	for _, tc := range []struct {
		name      string
		methods   []string
		wantBasic bool
	}{
		{"none listed: client_secret_basic", nil, true},
		{"client_secret_basic", []string{"client_secret_post", "client_secret_basic"}, true},
		{"client_secret_post only", []string{"client_secret_post"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			op := newFakeOP(t)
			op.set(func(op *fakeOP) {
				// null when none: the member is absent as far as go-oidc can tell.
				op.discovery = map[string]any{"token_endpoint_auth_methods_supported": tc.methods}
				op.tokenReply = func(w http.ResponseWriter, r *http.Request) {
					writeJSON(w, 400, map[string]any{"error": "invalid_grant"})
				}
			})
			p := op.provider()
			verifier := oauth.GenerateVerifier()
			_, err := p.Exchange(context.Background(), "code-1", verifier, "n")
			checkClass(t, err, oauth.ErrDenied)
			op.mu.Lock()
			defer op.mu.Unlock()
			if len(op.tokenForms) != 1 {
				t.Fatalf("%d token requests, want 1", len(op.tokenForms))
			}
			f, basic := op.tokenForms[0], op.tokenBasic[0]
			if basic != tc.wantBasic || f.Has("client_secret") == tc.wantBasic {
				t.Errorf("basic auth %v, client_secret in the form %v; want basic %v", basic, f.Has("client_secret"), tc.wantBasic)
			}
			want := url.Values{"grant_type": {"authorization_code"}, "code": {"code-1"}, "code_verifier": {verifier},
				"redirect_uri": {oauth.RedirectURL(authdIssuer, "fake")}}
			for k := range want {
				if f.Get(k) != want.Get(k) {
					t.Errorf("token request %s = %q, want %q", k, f.Get(k), want.Get(k))
				}
			}
		})
	}
}

func TestOIDCTokenEndpointUnreachable(t *testing.T) {
	op := newFakeOP(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + ln.Addr().String() + "/token"
	ln.Close()
	op.set(func(op *fakeOP) { op.discovery = map[string]any{"token_endpoint": closed} })
	p := op.provider()
	_, err = p.Exchange(context.Background(), "code-1", oauth.GenerateVerifier(), "n")
	checkClass(t, err, oauth.ErrUnavailable)
}

func TestOIDCTokenEndpointTimeout(t *testing.T) {
	op := newFakeOP(t)
	block := make(chan struct{})
	defer close(block)
	op.set(func(op *fakeOP) {
		op.tokenReply = func(w http.ResponseWriter, r *http.Request) {
			op.mu.Unlock() // let the other requests through while blocked
			defer op.mu.Lock()
			<-block
		}
	})
	p := newReadyOIDC(t, oauth.Config{
		Name: "fake", Issuer: op.issuer, ClientID: fakeClientID, ClientSecret: fakeClientSecret,
		RedirectURL: oauth.RedirectURL(authdIssuer, "fake"),
		HTTPClient:  &http.Client{Timeout: 200 * time.Millisecond},
	})
	_, err := p.Exchange(context.Background(), "code-1", oauth.GenerateVerifier(), "n")
	checkClass(t, err, oauth.ErrUnavailable)
}

// The end of the caller's context is its own error, of no class.
func TestOIDCExchangeContextEnds(t *testing.T) {
	op := newFakeOP(t)
	p := op.provider()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := p.Exchange(ctx, "code-1", oauth.GenerateVerifier(), "n")
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Exchange with an ended context: %v, want context.Canceled", err)
	}
	checkClass(t, err, nil)
}

func TestOIDCUserInfo(t *testing.T) {
	op := newFakeOP(t)
	op.set(func(op *fakeOP) {
		op.userinfo = map[string]any{"sub": fakeSubject}
		op.mint = func() string {
			c := op.claims("n")
			delete(c, "email")
			delete(c, "email_verified")
			delete(c, "name")
			return op.sign(c)
		}
	})
	p := op.provider()
	exchange := func() (*oauth.Profile, error) {
		return p.Exchange(context.Background(), "code-1", oauth.GenerateVerifier(), "n")
	}

	t.Run("email and name from UserInfo", func(t *testing.T) {
		op.set(func(op *fakeOP) {
			op.userinfo = map[string]any{"sub": fakeSubject, "email": "ada@example.org", "email_verified": "true", "name": "Ada"}
		})
		prof, err := exchange()
		if err != nil {
			t.Fatal(err)
		}
		want := oauth.Profile{Provider: "fake", Subject: fakeSubject, Email: "ada@example.org", EmailVerified: true, Name: "Ada"}
		if *prof != want {
			t.Errorf("profile %+v, want %+v", *prof, want)
		}
	})
	t.Run("not asked when the ID token has the email", func(t *testing.T) {
		op.set(func(op *fakeOP) {
			op.userinfo = map[string]any{"sub": fakeSubject, "email": "other@example.org", "email_verified": true}
			op.mint = func() string {
				c := op.claims("n")
				c["email_verified"] = false
				return op.sign(c)
			}
		})
		defer op.set(func(op *fakeOP) {
			op.mint = func() string {
				c := op.claims("n")
				delete(c, "email")
				delete(c, "email_verified")
				delete(c, "name")
				return op.sign(c)
			}
		})
		prof, err := exchange()
		if err != nil {
			t.Fatal(err)
		}
		if prof.Email != "ada@example.com" || prof.EmailVerified {
			t.Errorf("profile %+v: want the ID token's unverified email", *prof)
		}
	})
	t.Run("another subject", func(t *testing.T) {
		op.set(func(op *fakeOP) {
			op.userinfo = map[string]any{"sub": "someone-else", "email": "eve@example.org", "email_verified": true}
		})
		_, err := exchange()
		checkClass(t, err, nil)
	})
	t.Run("no email", func(t *testing.T) {
		op.set(func(op *fakeOP) { op.userinfo = map[string]any{"sub": fakeSubject} })
		_, err := exchange()
		checkClass(t, err, oauth.ErrNoEmail)
	})
	t.Run("5xx", func(t *testing.T) {
		op.set(func(op *fakeOP) { op.userinfoStatus = 502 })
		defer op.set(func(op *fakeOP) { op.userinfoStatus = 0 })
		_, err := exchange()
		checkClass(t, err, oauth.ErrUnavailable)
	})
	t.Run("401", func(t *testing.T) {
		op.set(func(op *fakeOP) { op.userinfoStatus = 401 })
		defer op.set(func(op *fakeOP) { op.userinfoStatus = 0 })
		_, err := exchange()
		checkClass(t, err, nil)
	})
}

func TestOIDCAuthCodeURL(t *testing.T) {
	op := newFakeOP(t)
	p := op.provider()
	state, verifier, nonce := oauth.GenerateState(), oauth.GenerateVerifier(), oauth.GenerateNonce()
	raw, err := p.AuthCodeURL(state, verifier, nonce)
	if err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	if got := u.Scheme + "://" + u.Host + u.Path; got != op.issuer+"/authorize" {
		t.Errorf("authorization endpoint %s, want the discovered %s/authorize", got, op.issuer)
	}
	q := u.Query()
	for k, v := range map[string]string{
		"response_type": "code", "client_id": fakeClientID, "redirect_uri": oauth.RedirectURL(authdIssuer, "fake"),
		"scope": "openid email profile", "state": state, "nonce": nonce,
		"code_challenge": challenge(verifier), "code_challenge_method": "S256",
	} {
		if q.Get(k) != v {
			t.Errorf("%s = %q, want %q", k, q.Get(k), v)
		}
	}
	if q.Has("code_verifier") {
		t.Error("the verifier itself is in the URL")
	}
}

// The caller's values are checked: a mistake there is a plain error, not
// one that blames the provider.
func TestOIDCChecksArguments(t *testing.T) {
	op := newFakeOP(t)
	p := op.provider()
	good := oauth.GenerateVerifier()
	for _, tc := range []struct{ name, state, verifier, nonce string }{
		{"empty state", "", good, "n"},
		{"empty nonce", "s", good, ""},
		{"short verifier", "s", good[:42], "n"},
		{"verifier with a forbidden character", "s", good[:42] + "+", "n"},
		{"long verifier", "s", strings.Repeat("a", 129), "n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := p.AuthCodeURL(tc.state, tc.verifier, tc.nonce)
			checkClass(t, err, nil)
			code := "code"
			if tc.state == "" {
				code = ""
			}
			_, err = p.Exchange(context.Background(), code, tc.verifier, tc.nonce)
			checkClass(t, err, nil)
		})
	}
	op.mu.Lock()
	defer op.mu.Unlock()
	if len(op.tokenForms) != 0 {
		t.Errorf("%d token requests for bad arguments, want none", len(op.tokenForms))
	}
}

// logRecorder keeps the messages logged at warning level and above.
type logRecorder struct {
	mu   sync.Mutex
	msgs []string
}

func (l *logRecorder) Enabled(context.Context, slog.Level) bool { return true }
func (l *logRecorder) Handle(_ context.Context, r slog.Record) error {
	if r.Level >= slog.LevelWarn {
		l.mu.Lock()
		l.msgs = append(l.msgs, r.Message)
		l.mu.Unlock()
	}
	return nil
}
func (l *logRecorder) WithAttrs([]slog.Attr) slog.Handler { return l }
func (l *logRecorder) WithGroup(string) slog.Handler      { return l }

func (l *logRecorder) count() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.msgs)
}

// An issuer that answers 503 at start: the provider is unavailable, then
// ready by itself once the issuer answers.
func TestOIDCDiscoveryRetriedUntilIssuerAnswers(t *testing.T) {
	op := newFakeOP(t)
	op.set(func(op *fakeOP) { op.discoveryStatus = http.StatusServiceUnavailable })
	logs := &logRecorder{}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	p, err := oauth.NewOIDC(ctx, oauth.Config{
		Name: "fake", Issuer: op.issuer, ClientID: fakeClientID, ClientSecret: fakeClientSecret,
		RedirectURL: oauth.RedirectURL(authdIssuer, "fake"), Now: op.clock.Now,
		Logger:   slog.New(logs),
		RetryMin: time.Millisecond, RetryMax: 5 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	// Several attempts fail…
	deadline := time.Now().Add(5 * time.Second)
	for logs.count() < 3 {
		if time.Now().After(deadline) {
			t.Fatal("fewer than 3 failed attempts logged in 5s")
		}
		time.Sleep(time.Millisecond)
	}
	if p.Ready() {
		t.Fatal("ready while the issuer answers 503")
	}
	_, err = p.AuthCodeURL("s", oauth.GenerateVerifier(), "n")
	checkClass(t, err, oauth.ErrUnavailable)
	_, err = p.Exchange(context.Background(), "code", oauth.GenerateVerifier(), "n")
	checkClass(t, err, oauth.ErrUnavailable)

	// …until the issuer answers.
	op.set(func(op *fakeOP) { op.discoveryStatus = 0 })
	waitReady(t, p)
	if _, err := p.AuthCodeURL("s", oauth.GenerateVerifier(), "n"); err != nil {
		t.Fatal(err)
	}
	op.set(func(op *fakeOP) { op.mint = func() string { return op.sign(op.claims("n")) } })
	if _, err := p.Exchange(context.Background(), "code", oauth.GenerateVerifier(), "n"); err != nil {
		t.Fatal(err)
	}
}

// An issuer whose port is closed at start, then opened.
func TestOIDCDiscoveryIssuerDownAtStart(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	issuer := "http://" + addr
	logs := &logRecorder{}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	p, err := oauth.NewOIDC(ctx, oauth.Config{
		Name: "down", Issuer: issuer, ClientID: fakeClientID,
		RedirectURL: oauth.RedirectURL(authdIssuer, "down"),
		Logger:      slog.New(logs),
		RetryMin:    time.Millisecond, RetryMax: 5 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	_, err = p.AuthCodeURL("s", oauth.GenerateVerifier(), "n")
	checkClass(t, err, oauth.ErrUnavailable)
	deadline := time.Now().Add(5 * time.Second)
	for logs.count() < 2 {
		if time.Now().After(deadline) {
			t.Fatal("fewer than 2 failed attempts logged in 5s")
		}
		time.Sleep(time.Millisecond)
	}

	ln, err = net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("listening again on %s: %v", addr, err)
	}
	srv := &httptest.Server{Listener: ln, Config: &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/.well-known/openid-configuration" {
			http.NotFound(w, r)
			return
		}
		writeJSON(w, 200, map[string]any{
			"issuer": issuer, "authorization_endpoint": issuer + "/authorize", "token_endpoint": issuer + "/token",
			"jwks_uri": issuer + "/jwks",
		})
	})}}
	srv.Start()
	defer srv.Close()
	waitReady(t, p)
	raw, err := p.AuthCodeURL("s", oauth.GenerateVerifier(), "n")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(raw, issuer+"/authorize?") {
		t.Errorf("authorization URL %s", raw)
	}
}

// A discovery document for another issuer is never accepted.
func TestOIDCDiscoveryIssuerMismatch(t *testing.T) {
	op := newFakeOP(t)
	op.set(func(op *fakeOP) { op.discovery = map[string]any{"issuer": "https://evil.example"} })
	logs := &logRecorder{}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	p, err := oauth.NewOIDC(ctx, oauth.Config{
		Name: "fake", Issuer: op.issuer, ClientID: fakeClientID,
		RedirectURL: oauth.RedirectURL(authdIssuer, "fake"),
		Logger:      slog.New(logs),
		RetryMin:    time.Millisecond, RetryMax: 2 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for logs.count() < 3 {
		if time.Now().After(deadline) {
			t.Fatal("fewer than 3 failed attempts logged in 5s")
		}
		time.Sleep(time.Millisecond)
	}
	if p.Ready() {
		t.Fatal("ready with a discovery document for another issuer")
	}
}

func TestNewOIDCConfig(t *testing.T) {
	good := oauth.Config{Name: "acme", Issuer: "https://id.acme.example", ClientID: "c", RedirectURL: "https://authd.example/api/v1/oauth/acme/callback"}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel() // ends the discovery of the ones made
	for _, tc := range []struct {
		name string
		edit func(c *oauth.Config)
	}{
		{"no name", func(c *oauth.Config) { c.Name = "" }},
		{"upper-case name", func(c *oauth.Config) { c.Name = "Acme" }},
		{"name with a slash", func(c *oauth.Config) { c.Name = "a/b" }},
		{"no issuer", func(c *oauth.Config) { c.Issuer = "" }},
		{"relative issuer", func(c *oauth.Config) { c.Issuer = "id.acme.example" }},
		{"issuer with a query", func(c *oauth.Config) { c.Issuer = "https://id.acme.example/?x=1" }},
		{"no client ID", func(c *oauth.Config) { c.ClientID = "" }},
		{"no redirect URL", func(c *oauth.Config) { c.RedirectURL = "" }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := good
			cfg.Logger = discard()
			tc.edit(&cfg)
			if _, err := oauth.NewOIDC(ctx, cfg); err == nil {
				t.Error("no error")
			}
		})
	}
	cfg := good
	cfg.Logger = discard()
	p, err := oauth.NewOIDC(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if p.Name() != "acme" || p.DisplayName() != "acme" {
		t.Errorf("Name, DisplayName = %q, %q", p.Name(), p.DisplayName())
	}
}

func TestNewGoogle(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // no discovery: this machine has no Internet
	g, err := oauth.NewGoogle(ctx, oauth.Config{
		ClientID: "c.apps.googleusercontent.com", ClientSecret: "s",
		RedirectURL: oauth.RedirectURL("https://authd.example", "google"),
		Name:        "ignored", Issuer: "https://ignored.example", Logger: discard(),
	})
	if err != nil {
		t.Fatal(err)
	}
	if g.Name() != "google" || g.DisplayName() != "Google" {
		t.Errorf("Name, DisplayName = %q, %q", g.Name(), g.DisplayName())
	}
	var p oauth.Provider = g
	if _, err := p.AuthCodeURL("s", oauth.GenerateVerifier(), "n"); !errors.Is(err, oauth.ErrUnavailable) {
		t.Errorf("AuthCodeURL before discovery: %v, want ErrUnavailable", err)
	}
}
