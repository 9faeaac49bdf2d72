package oauth

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"sync/atomic"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

// Config configures an OpenID Connect provider (NewOIDC) or, through the
// fields it reads, Google (NewGoogle).
type Config struct {
	// Name is the provider's name (see Provider.Name): lower-case letters,
	// digits, _ and -. Required.
	Name string
	// DisplayName is shown on the login button; Name when empty.
	DisplayName string
	// Issuer is the provider's issuer URL, exactly as its discovery
	// document and ID tokens spell it. Required.
	Issuer string
	// ClientID and ClientSecret are authd's credentials with the provider.
	// ClientID is required; without a secret authd is a public client
	// (PKCE alone).
	ClientID, ClientSecret string
	// RedirectURL is the callback URL registered with the provider (see
	// RedirectURL). Required.
	RedirectURL string
	// Scopes requested; "openid email profile" when empty, and "openid" is
	// added when missing.
	Scopes []string
	// HTTPClient makes every request to the provider; one with a
	// DefaultTimeout when nil.
	HTTPClient *http.Client
	// Now is the clock ID tokens are checked against; time.Now when nil.
	Now func() time.Time
	// Logger receives the discovery's progress; slog.Default() when nil.
	Logger *slog.Logger
	// RetryMin and RetryMax bound the wait between discovery attempts,
	// which doubles from RetryMin up to RetryMax: 1s and 1m when zero.
	RetryMin, RetryMax time.Duration
}

// DefaultScopes are the scopes requested from an OIDC provider when the
// configuration names none.
var DefaultScopes = []string{oidc.ScopeOpenID, "email", "profile"}

// IssuedAtSkew is how far in the future an ID token's iat may be, for
// clocks that disagree a little.
const IssuedAtSkew = 2 * time.Minute

// OIDC is an OpenID Connect provider found by discovery from its issuer.
// It is a Provider; its methods are safe for concurrent use.
type OIDC struct {
	cfg    Config
	client *http.Client // token requests
	api    *http.Client // discovery, UserInfo: server errors as errors
	keys   *http.Client // the key set: any status but 200 as an error
	log    *slog.Logger
	now    func() time.Time
	ready  atomic.Pointer[discovered]
	done   chan struct{} // closed when the discovery loop has ended
}

var _ Provider = (*OIDC)(nil)

// discovered is what discovery gives; it does not change once stored.
type discovered struct {
	provider *oidc.Provider
	oauth    *oauth2.Config
	verifier *oidc.IDTokenVerifier
	userInfo bool // the provider has a UserInfo endpoint
}

// NewOIDC returns the provider that cfg describes and starts its discovery
// in the background: until discovery succeeds, AuthCodeURL and Exchange
// return ErrUnavailable, and Ready false. A failed attempt is logged and
// retried, with the wait doubling from cfg.RetryMin to cfg.RetryMax, until
// an attempt succeeds or ctx ends. Discovery is done once: the endpoints
// and algorithms found are kept for the life of the process (the key set
// is fetched again when a token names a key it does not have).
//
// NewOIDC fails only on a configuration that can never work (a missing
// field, a malformed name or URL), never because the provider cannot be
// reached.
func NewOIDC(ctx context.Context, cfg Config) (*OIDC, error) {
	if err := checkName(cfg.Name); err != nil {
		return nil, err
	}
	if _, err := checkURL("issuer", cfg.Issuer); err != nil {
		return nil, fmt.Errorf("%w (provider %s)", err, cfg.Name)
	}
	if _, err := checkURL("redirect URL", cfg.RedirectURL); err != nil {
		return nil, fmt.Errorf("%w (provider %s)", err, cfg.Name)
	}
	if cfg.ClientID == "" {
		return nil, fmt.Errorf("oauth: provider %s: no client ID", cfg.Name)
	}
	if cfg.DisplayName == "" {
		cfg.DisplayName = cfg.Name
	}
	if len(cfg.Scopes) == 0 {
		cfg.Scopes = DefaultScopes
	}
	if !slices.Contains(cfg.Scopes, oidc.ScopeOpenID) {
		cfg.Scopes = append([]string{oidc.ScopeOpenID}, cfg.Scopes...)
	}
	cfg.Scopes = slices.Clone(cfg.Scopes)
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = defaultHTTPClient()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.RetryMin <= 0 {
		cfg.RetryMin = time.Second
	}
	if cfg.RetryMax <= 0 {
		cfg.RetryMax = time.Minute
	}
	cfg.RetryMax = max(cfg.RetryMax, cfg.RetryMin)
	o := &OIDC{
		cfg:    cfg,
		client: cfg.HTTPClient,
		api:    withServerErrors(cfg.HTTPClient, false),
		keys:   withServerErrors(cfg.HTTPClient, true),
		log:    cfg.Logger.With("provider", cfg.Name, "issuer", cfg.Issuer),
		now:    cfg.Now,
		done:   make(chan struct{}),
	}
	go o.discoverLoop(ctx)
	return o, nil
}

// Name returns the configured name.
func (o *OIDC) Name() string { return o.cfg.Name }

// DisplayName returns the configured display name.
func (o *OIDC) DisplayName() string { return o.cfg.DisplayName }

// Ready tells whether discovery has succeeded, so that AuthCodeURL and
// Exchange no longer fail with ErrUnavailable for want of it.
func (o *OIDC) Ready() bool { return o.ready.Load() != nil }

func (o *OIDC) discoverLoop(ctx context.Context) {
	defer close(o.done)
	wait := o.cfg.RetryMin
	for attempt := 1; ; attempt++ {
		d, err := o.discover(ctx)
		if err == nil {
			o.ready.Store(d)
			o.log.InfoContext(ctx, "oauth: provider discovered", "attempt", attempt)
			return
		}
		if ctx.Err() != nil {
			return
		}
		o.log.WarnContext(ctx, "oauth: discovery failed; the provider answers provider_unavailable until it succeeds",
			"attempt", attempt, "retry_in", wait.String(), "err", err)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		wait = min(2*wait, o.cfg.RetryMax)
	}
}

// metadata is the part of the discovery document that go-oidc does not
// read for us.
type metadata struct {
	JWKSURI          string   `json:"jwks_uri"`
	SigningAlgs      []string `json:"id_token_signing_alg_values_supported"`
	TokenAuthMethods []string `json:"token_endpoint_auth_methods_supported"`
	PKCEMethods      []string `json:"code_challenge_methods_supported"`
}

// signingAlgs are the algorithms go-oidc verifies; "none" and HMAC are not
// among them.
var signingAlgs = []string{
	oidc.RS256, oidc.RS384, oidc.RS512, oidc.ES256, oidc.ES384, oidc.ES512,
	oidc.PS256, oidc.PS384, oidc.PS512, oidc.EdDSA,
}

func (o *OIDC) discover(ctx context.Context) (*discovered, error) {
	// go-oidc checks that the document's issuer is o.cfg.Issuer.
	p, err := oidc.NewProvider(oidc.ClientContext(ctx, o.api), o.cfg.Issuer)
	if err != nil {
		return nil, err
	}
	var md metadata
	if err := p.Claims(&md); err != nil {
		return nil, err
	}
	ep := p.Endpoint()
	if ep.AuthURL == "" || ep.TokenURL == "" || md.JWKSURI == "" {
		return nil, errors.New("discovery document without authorization_endpoint, token_endpoint or jwks_uri")
	}
	ep.AuthStyle = o.authStyle(md.TokenAuthMethods)
	if len(md.PKCEMethods) > 0 && !slices.Contains(md.PKCEMethods, "S256") {
		o.log.WarnContext(ctx, "oauth: the provider does not list PKCE S256 in code_challenge_methods_supported; authd sends it anyway",
			"code_challenge_methods_supported", md.PKCEMethods)
	}
	var algs []string
	for _, a := range md.SigningAlgs {
		if slices.Contains(signingAlgs, a) {
			algs = append(algs, a) // none: go-oidc's default, RS256
		}
	}
	remote := oidc.NewRemoteKeySet(oidc.ClientContext(context.WithoutCancel(ctx), o.keys), md.JWKSURI)
	return &discovered{
		provider: p,
		oauth: &oauth2.Config{
			ClientID:     o.cfg.ClientID,
			ClientSecret: o.cfg.ClientSecret,
			Endpoint:     ep,
			RedirectURL:  o.cfg.RedirectURL,
			Scopes:       o.cfg.Scopes,
		},
		verifier: oidc.NewVerifier(o.cfg.Issuer, keySet{remote}, &oidc.Config{
			ClientID:             o.cfg.ClientID,
			SupportedSigningAlgs: algs,
			Now:                  o.now,
		}),
		userInfo: p.UserInfoEndpoint() != "",
	}, nil
}

// authStyle chooses how the client authenticates to the token endpoint
// from the methods the provider lists (client_secret_basic when it lists
// none, as OIDC Discovery says), so that a code is never sent twice, as
// oauth2's probing of an unknown style would on an error.
func (o *OIDC) authStyle(methods []string) oauth2.AuthStyle {
	if o.cfg.ClientSecret == "" {
		return oauth2.AuthStyleInParams // client_id alone, a public client
	}
	if len(methods) == 0 || slices.Contains(methods, "client_secret_basic") {
		return oauth2.AuthStyleInHeader
	}
	if slices.Contains(methods, "client_secret_post") {
		return oauth2.AuthStyleInParams
	}
	return oauth2.AuthStyleInHeader
}

func (o *OIDC) discovered() (*discovered, error) {
	d := o.ready.Load()
	if d == nil {
		return nil, fmt.Errorf("%w: %s: discovery has not succeeded yet", ErrUnavailable, o.cfg.Name)
	}
	return d, nil
}

// AuthCodeURL implements Provider: the discovered authorization endpoint
// with response_type=code, client_id, redirect_uri, scope, state, nonce,
// code_challenge and code_challenge_method=S256.
func (o *OIDC) AuthCodeURL(state, verifier, nonce string) (string, error) {
	d, err := o.discovered()
	if err != nil {
		return "", err
	}
	if err := checkAuthArgs("state", state, verifier, nonce, true); err != nil {
		return "", err
	}
	return d.oauth.AuthCodeURL(state, oauth2.S256ChallengeOption(verifier), oidc.Nonce(nonce)), nil
}

// Exchange implements Provider. It redeems code at the token endpoint with
// verifier, verifies the ID token (see verifyIDToken) and makes the
// profile from its claims: sub, email, email_verified (a boolean, or the
// string "true" or "false" as some providers send it; anything else is
// false) and name (or given_name and family_name).
//
// Only when the ID token has no email claim, and the provider has a
// UserInfo endpoint, is UserInfo asked with the access token; its answer is
// used only if its sub is the ID token's, and then for email,
// email_verified and, when the ID token has none, name. (Some providers
// put the claims of the email and profile scopes in UserInfo alone.)
// Without an email either way, Exchange fails with ErrNoEmail.
func (o *OIDC) Exchange(ctx context.Context, code, verifier, nonce string) (*Profile, error) {
	d, err := o.discovered()
	if err != nil {
		return nil, err
	}
	if err := checkAuthArgs("code", code, verifier, nonce, true); err != nil {
		return nil, err
	}
	tok, err := d.oauth.Exchange(context.WithValue(ctx, oauth2.HTTPClient, o.client), code, oauth2.VerifierOption(verifier))
	if err != nil {
		return nil, tokenError(ctx, o.cfg.Name, err)
	}
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		return nil, fmt.Errorf("oauth: %s: the token response has no id_token", o.cfg.Name)
	}
	idt, claims, err := o.verifyIDToken(ctx, d, raw, nonce, tok.AccessToken)
	if err != nil {
		return nil, err
	}
	p := &Profile{
		Provider:      o.cfg.Name,
		Subject:       idt.Subject,
		Email:         claims.Email,
		EmailVerified: bool(claims.EmailVerified),
		Name:          claims.name(),
	}
	if p.Email == "" && d.userInfo {
		if err := o.fromUserInfo(ctx, d, tok, p); err != nil {
			return nil, err
		}
	}
	if p.Email == "" {
		return nil, fmt.Errorf("%w: %s: neither the ID token nor UserInfo has an email claim", ErrNoEmail, o.cfg.Name)
	}
	return p, nil
}

// fromUserInfo fills p's email, and its name when empty, from UserInfo.
func (o *OIDC) fromUserInfo(ctx context.Context, d *discovered, tok *oauth2.Token, p *Profile) error {
	ui, err := d.provider.UserInfo(oidc.ClientContext(ctx, o.api), oauth2.StaticTokenSource(tok))
	if err != nil {
		return requestError(ctx, o.cfg.Name, "UserInfo", err)
	}
	if ui.Subject != p.Subject {
		// OpenID Connect Core 5.3.4: the answer must not be used.
		return fmt.Errorf("oauth: %s: UserInfo is about subject %q, the ID token about %q", o.cfg.Name, ui.Subject, p.Subject)
	}
	var c claims
	if err := ui.Claims(&c); err != nil {
		return fmt.Errorf("oauth: %s: UserInfo: %w", o.cfg.Name, err)
	}
	p.Email, p.EmailVerified = c.Email, bool(c.EmailVerified)
	if p.Name == "" {
		p.Name = c.name()
	}
	return nil
}
