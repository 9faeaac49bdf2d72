package oauth_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"testing"
	"time"

	"github.com/talentforge/authd/internal/oauth"
	"github.com/talentforge/authd/internal/oauth/oauthtest"
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
	// The example storage's test user.
	opUserID    = oauthtest.UserID
	opUserEmail = oauthtest.UserEmail
	opUserName  = oauthtest.UserName
)

// startOP starts zitadel's example OpenID Provider on loopback
// (oauthtest.StartOP) with authd registered as a confidential web client.
func startOP(t *testing.T) *oauthtest.OP {
	t.Helper()
	return oauthtest.StartOP(t, oauthtest.OPClient{
		ID: opClientID, Secret: opClientSecret, RedirectURIs: []string{oauth.RedirectURL(authdIssuer, opProvider)},
	})
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

// browserLogin plays the user's browser through the OP's login page
// (oauthtest.OP.Login) and returns the query of the redirect back to authd
// (code and state, or error).
func browserLogin(t *testing.T, op *oauthtest.OP, authURL string) url.Values {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	back, err := op.Login(&http.Client{Jar: jar, Timeout: 10 * time.Second}, authURL)
	if err != nil {
		t.Fatal(err)
	}
	if back.Host != "authd.test" {
		t.Fatalf("the OP redirected to %s, want authd", back)
	}
	return back.Query()
}

// challenge is RFC 7636's S256 code challenge of verifier.
func challenge(verifier string) string {
	sum := sha256.Sum256([]byte(verifier))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

func TestOIDCEndToEndWithCertifiedOP(t *testing.T) {
	op := startOP(t)
	p := opProviderFor(t, op.Issuer)
	if p.Name() != opProvider || p.DisplayName() != "Zitadel" {
		t.Fatalf("Name, DisplayName = %q, %q", p.Name(), p.DisplayName())
	}
	state, verifier, nonce := oauth.GenerateState(), oauth.GenerateVerifier(), oauth.GenerateNonce()
	authURL, err := p.AuthCodeURL(state, verifier, nonce)
	if err != nil {
		t.Fatal(err)
	}
	back := browserLogin(t, op, authURL)
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
	authz, tok := op.Last()
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
	if userinfo := op.UserInfoRequests(); userinfo != 1 {
		t.Errorf("%d UserInfo requests, want 1", userinfo)
	}

	// The provider redeems a code once.
	_, err = p.Exchange(context.Background(), back.Get("code"), verifier, nonce)
	if !errors.Is(err, oauth.ErrDenied) {
		t.Errorf("second Exchange of a code: %v, want ErrDenied", err)
	}
}

func TestOIDCCertifiedOPRefusesAnotherVerifier(t *testing.T) {
	op := startOP(t)
	p := opProviderFor(t, op.Issuer)
	state, verifier, nonce := oauth.GenerateState(), oauth.GenerateVerifier(), oauth.GenerateNonce()
	authURL, err := p.AuthCodeURL(state, verifier, nonce)
	if err != nil {
		t.Fatal(err)
	}
	back := browserLogin(t, op, authURL)
	_, err = p.Exchange(context.Background(), back.Get("code"), oauth.GenerateVerifier(), nonce)
	if !errors.Is(err, oauth.ErrDenied) {
		t.Fatalf("Exchange with another verifier: %v, want ErrDenied (the OP checks PKCE)", err)
	}
}

func TestOIDCCertifiedOPTokenWithAnotherNonce(t *testing.T) {
	op := startOP(t)
	p := opProviderFor(t, op.Issuer)
	state, verifier, nonce := oauth.GenerateState(), oauth.GenerateVerifier(), oauth.GenerateNonce()
	authURL, err := p.AuthCodeURL(state, verifier, nonce)
	if err != nil {
		t.Fatal(err)
	}
	back := browserLogin(t, op, authURL)
	_, err = p.Exchange(context.Background(), back.Get("code"), verifier, oauth.GenerateNonce())
	if !errors.Is(err, oauth.ErrInvalidToken) {
		t.Fatalf("Exchange expecting another nonce: %v, want ErrInvalidToken", err)
	}
}
