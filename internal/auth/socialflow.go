package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/google/uuid"
)

// ProviderInfo names an enabled social sign-in provider.
type ProviderInfo struct {
	Name        string
	DisplayName string
}

// SocialProviders lists the enabled providers, in configuration order.
func (s *Accounts) SocialProviders() []ProviderInfo {
	out := make([]ProviderInfo, 0, len(s.cfg.Social.Providers))
	for _, p := range s.cfg.Social.Providers {
		out = append(out, ProviderInfo{Name: p.Name(), DisplayName: p.DisplayName()})
	}
	return out
}

func (s *core) socialProvider(name string) SocialProvider {
	for _, p := range s.cfg.Social.Providers {
		if p.Name() == name {
			return p
		}
	}
	return nil
}

// SocialStartInput is the input of StartSocial.
type SocialStartInput struct {
	Provider   string
	RedirectTo string
	// CodeChallenge is the app's own PKCE challenge (S256 only): when set,
	// the code the sign-in ends with is traded only with its verifier.
	CodeChallenge       string
	CodeChallengeMethod string
	Origin              Origin
}

// pkceValue matches a PKCE verifier (RFC 7636 §4.1) and, with exactly 43
// characters, an S256 challenge (§4.2).
var pkceValue = regexp.MustCompile(`^[A-Za-z0-9._~-]{43,128}$`)

// StartSocial begins a social sign-in at in.Provider. It returns where to
// send the browser (the provider's authorization page) and the value the
// caller must keep in an HttpOnly cookie of that browser: the callback is
// accepted only from the browser that started the sign-in. Returns
// ENotFound for a provider that is not enabled and EInvalid for a
// redirect_to off the allowlist or a malformed challenge: errors with no
// safe place to send the browser. Once redirect_to is known good, a
// failure is a redirect to it with ?error= instead.
func (s *Accounts) StartSocial(ctx context.Context, in SocialStartInput) (location, browser string, err error) {
	return s.startFlow(ctx, in, "")
}

// startFlow begins a flow at in.Provider: a sign-in, or with linkUserID a
// link to that user's account. It returns what StartSocial returns.
func (s *core) startFlow(ctx context.Context, in SocialStartInput, linkUserID string) (location, browser string, err error) {
	p := s.socialProvider(in.Provider)
	if p == nil {
		return "", "", Errorf(ENotFound, "Unknown sign-in provider.")
	}
	redirectTo, ok := s.cfg.Social.Redirects.Allow(in.RedirectTo)
	if !ok {
		return "", "", Errorf(EInvalid, "redirect_to is not an allowed URL.")
	}
	switch {
	case in.CodeChallenge == "" && in.CodeChallengeMethod == "":
	case linkUserID != "":
		// A link ends with no code for an app to trade.
		return "", "", Errorf(EInvalid, "A link takes no code_challenge.")
	case in.CodeChallengeMethod != "S256":
		return "", "", Errorf(EInvalid, "code_challenge_method must be S256.")
	case len(in.CodeChallenge) != 43 || !pkceValue.MatchString(in.CodeChallenge):
		return "", "", Errorf(EInvalid, "code_challenge must be the 43-character S256 challenge.")
	}
	state, browser, verifier, nonce := randomValue(), randomValue(), randomValue(), randomValue()
	authURL, err := p.AuthCodeURL(state, verifier, nonce)
	if err != nil {
		return socialError(redirectTo, err), "", nil
	}
	now := s.now()
	err = s.store.CreateOAuthState(ctx, &OAuthState{
		Hash: digest(state), Provider: p.Name(), Verifier: verifier, Nonce: nonce,
		RedirectTo: redirectTo, Challenge: in.CodeChallenge, BrowserHash: digest(browser),
		LinkUserID: linkUserID, CreatedAt: now, ExpiresAt: now.Add(s.socialStateTTL()),
	})
	if err != nil {
		return "", "", err
	}
	return authURL, browser, nil
}

// SocialCallbackInput is what a provider's redirect back to authd carries,
// with the browser's cookie.
type SocialCallbackInput struct {
	Provider string
	State    string
	Code     string
	Error    string // the provider's error parameter (access_denied, …)
	Browser  string // the value StartSocial returned, from the cookie
	Origin   Origin
}

// CompleteSocial ends a social sign-in: it checks the state (known, unused,
// unexpired, of this provider and this browser), has the provider prove
// the code, finds or links or creates the account by the rules below, and
// returns redirect_to?code=C, C being a one-time code the app trades for
// tokens (ExchangeSocialCode). Failures return redirect_to?error=E with a
// fixed code. Returns EInvalid (invalid_state) only when the state names no
// sign-in, so there is nowhere safe to send the browser.
//
// Accounts: an identity already linked signs its user in; else a provider
// address that the provider verified and that matches an account whose own
// address is verified links to it; else a new account is made, with the
// provider's verified flag. An unverified provider address never links to
// an existing account (email_not_verified).
//
// A state from StartLink instead links the provider's account to the user
// who started it and returns redirect_to?linked=<provider> (see
// linkAccount); no code is issued.
func (s *Accounts) CompleteSocial(ctx context.Context, in SocialCallbackInput) (string, error) {
	to, provider, outcome, err := s.completeSocial(ctx, in)
	if observe := s.cfg.Social.Observe; observe != nil && outcome != "" {
		observe(provider, outcome)
	}
	return to, err
}

// completeSocial is CompleteSocial, also returning the provider (one that
// is configured, or "") and the outcome (SocialSucceeded, SocialLinked or
// the error code; "" when the store failed).
func (s *Accounts) completeSocial(ctx context.Context, in SocialCallbackInput) (to, provider, outcome string, err error) {
	if in.State == "" {
		return "", "", SocialInvalidState, errInvalidState
	}
	st, err := s.store.ConsumeOAuthState(ctx, digest(in.State))
	if ErrorCode(err) == ENotFound {
		return "", "", SocialInvalidState, errInvalidState
	}
	if err != nil {
		return "", "", "", err
	}
	fail := func(code string) (string, string, string, error) {
		return withParam(st.RedirectTo, "error", code), st.Provider, code, nil
	}
	now := s.now()
	if !now.Before(st.ExpiresAt) || st.Provider != in.Provider ||
		subtle.ConstantTimeCompare(digest(in.Browser), st.BrowserHash) != 1 {
		return fail(SocialInvalidState)
	}
	p := s.socialProvider(st.Provider)
	switch {
	case p == nil:
		return fail(SocialProviderUnavailable)
	case in.Error != "":
		// The provider's own words are not repeated: access_denied is the
		// one answer an app can act on (the person said no).
		if in.Error == "access_denied" {
			return fail(SocialAccessDenied)
		}
		return fail(SocialProviderError)
	case in.Code == "":
		return fail(SocialProviderError)
	}
	profile, err := p.Exchange(ctx, in.Code, st.Verifier, st.Nonce)
	if err != nil {
		s.log.InfoContext(ctx, "social sign-in: provider refused", "provider", st.Provider, "err", err)
		return fail(socialErrorCode(err))
	}
	param, value, outcome := "code", "", SocialSucceeded
	var failure string
	if st.LinkUserID != "" {
		param, value, outcome = "linked", st.Provider, SocialLinked
		failure, err = s.linkAccount(ctx, st, profile, in.Origin)
	} else {
		value, failure, err = s.socialAccount(ctx, st, profile, in.Origin)
	}
	if err != nil {
		return "", st.Provider, "", err
	}
	if failure != "" {
		return fail(failure)
	}
	return withParam(st.RedirectTo, param, value), st.Provider, outcome, nil
}

var errInvalidState = Errorf(EInvalid, "This sign-in link is invalid or has expired. Start again.")

// socialAccount finds, links or creates the account of profile and issues
// its one-time code. A failure the browser is told of is returned as a
// code (failure); err is for what the caller should answer with an error.
func (s *core) socialAccount(ctx context.Context, st *OAuthState, profile *SocialProfile, c Origin) (code, failure string, err error) {
	if profile.Provider != st.Provider || profile.Subject == "" {
		return "", SocialProviderError, nil
	}
	// A second pass only when a new account's address was taken between
	// our lookup and our insert: the account found then is judged anew.
	for range 2 {
		code, failure, err = s.socialAccountOnce(ctx, st, profile, c)
		if ErrorCode(err) != EEmailTaken {
			return code, failure, err
		}
	}
	return "", SocialEmailNotVerified, nil
}

func (s *core) socialAccountOnce(ctx context.Context, st *OAuthState, profile *SocialProfile, c Origin) (string, string, error) {
	now := s.now()
	id, err := s.store.IdentityBySubject(ctx, profile.Provider, profile.Subject)
	switch ErrorCode(err) {
	case "":
		u, err := s.store.User(ctx, id.UserID)
		if err != nil {
			return "", "", err
		}
		if failure := s.socialRefusal(u); failure != "" {
			return "", failure, nil
		}
		code, err := s.issueSocialCode(ctx, u.ID, st, now, nil, func(tx UserTx) error {
			return tx.TouchIdentity(ctx, profile.Provider, profile.Email, profile.EmailVerified, now)
		})
		return code, "", err
	case ENotFound:
	default:
		return "", "", err
	}

	if profile.Email == "" {
		return "", SocialEmailNotVerified, nil
	}
	email, err := NormalizeEmail(profile.Email)
	if err != nil {
		return "", SocialProviderError, nil
	}
	link := &Identity{
		Provider: profile.Provider, Subject: profile.Subject, Email: profile.Email,
		EmailVerified: profile.EmailVerified, CreatedAt: now, LastUsedAt: now,
	}
	u, err := s.store.UserByEmail(ctx, email)
	switch ErrorCode(err) {
	case "":
		// Linking hands the account to whoever controls the provider's
		// account: only when both sides have proved the same address.
		if !profile.EmailVerified || !u.EmailVerified {
			return "", SocialEmailNotVerified, nil
		}
		if failure := s.socialRefusal(u); failure != "" {
			return "", failure, nil
		}
		link.UserID = u.ID
		ev := newEvent(EventIdentityLinked, now, c).byUser(u.ID)
		ev.Resource = profile.Provider
		code, err := s.issueSocialCode(ctx, u.ID, st, now, ev, func(tx UserTx) error {
			return tx.LinkIdentity(ctx, link)
		})
		return code, "", err
	case ENotFound:
	default:
		return "", "", err
	}

	uid, err := uuid.NewV7()
	if err != nil {
		return "", "", err
	}
	name, err := NormalizeName(profile.Name)
	if err != nil {
		name = "" // a provider's display name is a courtesy, not a requirement
	}
	u = &User{
		ID: uid.String(), Email: email, EmailVerified: profile.EmailVerified, Name: name,
		Status: StatusActive, Roles: []string{RoleUser}, Version: 1, PasswordVersion: 1,
		CreatedAt: now, UpdatedAt: now,
	}
	if failure := s.socialRefusal(u); failure != "" {
		return "", failure, nil
	}
	link.UserID = u.ID
	ev := newEvent(EventUserRegistered, now, c).byUser(u.ID)
	ev.Reason = "social:" + profile.Provider
	code, err := s.issueSocialCode(ctx, u.ID, st, now, ev, func(tx UserTx) error {
		if err := tx.CreateUser(ctx, u); err != nil {
			return err
		}
		return tx.LinkIdentity(ctx, link)
	})
	return code, "", err
}

// socialRefusal is the failure code for an account that may not sign in
// now, or "".
func (s *core) socialRefusal(u *User) string {
	switch {
	case u.Status != StatusActive:
		return SocialAccountDisabled
	case s.cfg.RequireVerifiedEmail && !u.EmailVerified:
		return SocialEmailNotVerified
	}
	return ""
}

// issueSocialCode runs change and creates the user's one-time code in one
// unit of work (with ev, when there is one), and returns the raw code.
func (s *core) issueSocialCode(ctx context.Context, userID string, st *OAuthState, now time.Time, ev *Event, change func(tx UserTx) error) (string, error) {
	raw, hash, err := newUserToken(userID)
	if err != nil {
		return "", err
	}
	err = s.store.InUserTx(ctx, userID, func(tx UserTx) error {
		if err := change(tx); err != nil {
			return err
		}
		err := tx.CreateOAuthCode(ctx, &OAuthCode{
			Hash: hash, UserID: userID, Provider: st.Provider, Challenge: st.Challenge,
			CreatedAt: now, ExpiresAt: now.Add(s.socialCodeTTL()),
		})
		if err != nil || ev == nil {
			return err
		}
		return tx.AppendEvent(ctx, ev)
	})
	if err != nil {
		return "", err
	}
	s.invalidate(ctx, userID)
	return raw, nil
}

// ExchangeSocialCode trades the one-time code of a social sign-in for a
// session. The code is spent by the first attempt, right or wrong: of two
// parallel exchanges exactly one gets tokens. When the sign-in began with
// a code_challenge, verifier must match it (S256); without one, no
// verifier may be given. Returns EInvalidToken for a code that is unknown,
// used, expired or not matched by verifier, and EAccountDisabled or
// EEmailNotVerified for an account that may not sign in now.
func (s *Accounts) ExchangeSocialCode(ctx context.Context, code, verifier string, c Origin) (*User, *TokenPair, error) {
	userID, hash, ok := parseUserToken(code)
	if !ok {
		return nil, nil, errInvalidCode
	}
	var oc *OAuthCode
	err := s.store.InUserTx(ctx, userID, func(tx UserTx) (err error) {
		oc, err = tx.ConsumeOAuthCode(ctx, hash)
		return err
	})
	if ErrorCode(err) == ENotFound {
		return nil, nil, errInvalidCode
	}
	if err != nil {
		return nil, nil, err
	}
	if !s.now().Before(oc.ExpiresAt) || !verifies(oc.Challenge, verifier) {
		return nil, nil, errInvalidCode
	}
	u, err := s.store.User(ctx, userID)
	if err != nil {
		return nil, nil, notFoundAs(err, errInvalidCode)
	}
	switch s.socialRefusal(u) {
	case SocialAccountDisabled:
		return nil, nil, Errorf(EAccountDisabled, "This account is disabled.")
	case SocialEmailNotVerified:
		return nil, nil, Errorf(EEmailNotVerified, "Verify your email address first.")
	}
	pair, err := s.startSession(ctx, u, c)
	if err != nil {
		return nil, nil, err
	}
	return u.Redacted(), pair, nil
}

var errInvalidCode = Errorf(EInvalidToken, "The code is invalid, used or expired. Sign in again.")

// verifies reports whether verifier answers challenge (RFC 7636 S256); an
// empty challenge wants an empty verifier.
func verifies(challenge, verifier string) bool {
	if challenge == "" {
		return verifier == ""
	}
	if !pkceValue.MatchString(verifier) {
		return false
	}
	sum := sha256.Sum256([]byte(verifier))
	return subtle.ConstantTimeCompare([]byte(base64.RawURLEncoding.EncodeToString(sum[:])), []byte(challenge)) == 1
}

// Identities returns the caller's linked social accounts, by provider.
func (s *Accounts) Identities(ctx context.Context, p *Principal) ([]*Identity, error) {
	return s.store.Identities(ctx, p.UserID)
}

// UnlinkIdentity removes the caller's identity at provider. Returns
// ENotFound when there is none and ELastSignIn when it is the account's
// last way to sign in (no password, no other identity).
func (s *Accounts) UnlinkIdentity(ctx context.Context, p *Principal, provider string) error {
	now := s.now()
	ev := newEvent(EventIdentityUnlinked, now, Origin{}).byPrincipal(p)
	ev.Resource = provider
	err := s.inUser(ctx, p.UserID, ev, func(tx UserTx) error { return tx.UnlinkIdentity(ctx, provider) })
	if err != nil {
		return notFoundAs(err, ErrIdentityNotFound)
	}
	s.invalidate(ctx, p.UserID)
	return nil
}

// socialError is redirectTo?error= with the code err stands for.
func socialError(redirectTo string, err error) string {
	return withParam(redirectTo, "error", socialErrorCode(err))
}

// socialErrorCode is the fixed code a provider's error stands for.
func socialErrorCode(err error) string {
	switch {
	case errors.Is(err, ErrProviderUnavailable):
		return SocialProviderUnavailable
	case errors.Is(err, ErrProviderDenied):
		return SocialAccessDenied
	case errors.Is(err, ErrProviderNoEmail):
		return SocialEmailNotVerified
	}
	return SocialProviderError
}

// withParam appends name=value to u's query, keeping what u has (an
// allowlisted URL may carry a query of its own).
func withParam(u, name, value string) string {
	sep := "?"
	if strings.Contains(u, "?") {
		sep = "&"
	}
	return u + sep + name + "=" + url.QueryEscape(value)
}

// randomValue returns 256 random bits, base64url-encoded (43 characters):
// a state, nonce, verifier or browser-binding value.
func randomValue() string {
	b := make([]byte, 32)
	rand.Read(b) // never returns an error (crypto/rand, Go 1.24+)
	return base64.RawURLEncoding.EncodeToString(b)
}

func digest(s string) []byte {
	sum := sha256.Sum256([]byte(s))
	return sum[:]
}

func (s *core) socialStateTTL() time.Duration {
	if s.cfg.Social.StateTTL > 0 {
		return s.cfg.Social.StateTTL
	}
	return 10 * time.Minute
}

func (s *core) socialCodeTTL() time.Duration {
	if s.cfg.Social.CodeTTL > 0 {
		return s.cfg.Social.CodeTTL
	}
	return time.Minute
}
