package auth

import "time"

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
	CreatedAt   time.Time
	ExpiresAt   time.Time
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
