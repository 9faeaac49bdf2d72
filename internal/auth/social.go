package auth

import (
	"context"
	"errors"
	"time"
)

// Identity is an account at a social sign-in provider linked to a user:
// signing in there signs the user in here.
type Identity struct {
	UserID   string
	Provider string // "google", "github", or a generic provider's name
	Subject  string // the provider's stable id of the account
	// Email and EmailVerified are what the provider said at the last
	// sign-in: shown to the user, never used to find the account again.
	Email         string
	EmailVerified bool
	CreatedAt     time.Time
	LastUsedAt    time.Time
}

// OAuthState is a social sign-in in flight, from start to callback: found
// again by the state value the provider hands back, used once, and bound
// to the browser that started it.
type OAuthState struct {
	Hash        []byte // SHA-256 of the state value
	Provider    string
	Verifier    string // the PKCE verifier authd proves itself with to the provider
	Nonce       string // the OIDC nonce the ID token must carry
	RedirectTo  string // where the browser goes back to (on the allowlist)
	Challenge   string // the app's own S256 code_challenge; "" when it sent none
	BrowserHash []byte // SHA-256 of the browser-binding cookie's value
	// LinkUserID is the signed-in user who started the flow to link an
	// account at the provider to theirs (StartLink); "" for a sign-in.
	LinkUserID string
	CreatedAt  time.Time
	ExpiresAt  time.Time
}

// OAuthCode is the one-time code a social sign-in's callback hands the app,
// traded once for the user's tokens. Only its hash is stored.
type OAuthCode struct {
	Hash      []byte // SHA-256 of the raw code (a user token)
	UserID    string
	Provider  string
	Challenge string // the app's S256 code_challenge from start; "" when none
	CreatedAt time.Time
	ExpiresAt time.Time
}

// SocialProfile is what a provider says of the person who signed in there.
type SocialProfile struct {
	Provider string
	Subject  string // the provider's stable id of the account
	Email    string // as the provider gives it, not normalised
	// EmailVerified is the provider's word that the person controls Email.
	// An unverified address never links to an existing account.
	EmailVerified bool
	Name          string
}

// SocialProvider is the provider side of a social sign-in (package oauth
// implements it): the authorization URL, and the profile a callback's code
// proves. Exchange wraps ErrProviderUnavailable, ErrProviderDenied or
// ErrProviderNoEmail where they apply; any other error is the provider's
// fault.
type SocialProvider interface {
	Name() string
	DisplayName() string
	AuthCodeURL(state, verifier, nonce string) (string, error)
	Exchange(ctx context.Context, code, verifier, nonce string) (*SocialProfile, error)
}

// The provider errors the flow tells apart; the browser gets the fixed
// codes below, never a provider's own text.
var (
	ErrProviderUnavailable = errors.New("social provider unavailable")
	ErrProviderDenied      = errors.New("social provider denied the sign-in")
	ErrProviderNoEmail     = errors.New("social provider gave no usable email address")
)

// The error codes a social sign-in sends back to redirect_to (?error=),
// and SocialSucceeded (a sign-in) and SocialLinked (a link): the outcomes
// SocialConfig.Observe is told of.
const (
	SocialSucceeded           = "success"
	SocialLinked              = "linked"
	SocialAccessDenied        = "access_denied"
	SocialProviderError       = "provider_error"
	SocialProviderUnavailable = "provider_unavailable"
	SocialInvalidState        = "invalid_state"
	SocialEmailNotVerified    = "email_not_verified"
	SocialAccountDisabled     = "account_disabled"
	// A link (StartLink) also ends with these: the provider's account is
	// linked to another user, or the user has another account there.
	SocialIdentityInUse = "identity_in_use"
	SocialAlreadyLinked = "already_linked"
)

// SocialConfig configures social sign-in.
type SocialConfig struct {
	Providers []SocialProvider
	Redirects *Redirects    // AUTH_REDIRECT_URLS; nil allows none
	StateTTL  time.Duration // from start to callback (default 10m)
	CodeTTL   time.Duration // from callback to exchange (default 60s)
	// Observe, when set, is told the outcome of every callback (for the
	// metrics): the provider ("" when the state named no sign-in, so that
	// only configured names ever reach a label) and SocialSucceeded,
	// SocialLinked or the error code sent back.
	Observe func(provider, outcome string)
}
