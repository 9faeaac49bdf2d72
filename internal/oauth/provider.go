package oauth

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"

	"golang.org/x/oauth2"

	"github.com/talentforge/authd/internal/auth"
)

// Profile is what a provider says about the user who signed in, once the
// provider's answer has been verified: the domain's auth.SocialProfile.
// Subject is the provider's stable id (the ID token's sub for OIDC, the
// numeric user id in decimal for GitHub), never empty, and what an account
// is linked on, never the email. Email is never empty (a provider with no
// address to give answers ErrNoEmail) and not normalised. The domain must
// not link an existing account, nor treat the address as verified, when
// EmailVerified is false.
type Profile = auth.SocialProfile

// Every provider here is a provider of the domain's social sign-in.
var (
	_ auth.SocialProvider = (*OIDC)(nil)
	_ auth.SocialProvider = (*GitHub)(nil)
)

// Provider is one identity provider authd is a client of. Its methods are
// safe for concurrent use.
type Provider interface {
	// Name is the provider's name in URLs and in links to accounts:
	// "google", "github", or a generic provider's configured name, in
	// lower case.
	Name() string
	// DisplayName is the name shown on the login button.
	DisplayName() string
	// AuthCodeURL returns the provider's authorization URL to send the user
	// to: it carries state, the S256 challenge of verifier (PKCE) and, for
	// OIDC providers, nonce. verifier must be a PKCE code verifier
	// (RFC 7636: 43 to 128 characters from A-Z a-z 0-9 - . _ ~, see
	// GenerateVerifier); state and nonce must not be empty (nonce is not
	// used by providers that are not OIDC). It fails with ErrUnavailable
	// while the provider's discovery has not succeeded.
	AuthCodeURL(state, verifier, nonce string) (string, error)
	// Exchange turns the code of a callback into a verified Profile: it
	// redeems the code with verifier and, for OIDC, checks that the ID
	// token carries nonce. The caller must already have checked the
	// callback's state against its own record; verifier and nonce are the
	// ones that went into AuthCodeURL for that state. Its errors are
	// classified by ErrUnavailable, ErrDenied, ErrInvalidToken and
	// ErrNoEmail (errors.Is); any other error is a provider error, but for
	// the end of ctx, returned as ctx's error.
	Exchange(ctx context.Context, code, verifier, nonce string) (*Profile, error)
}

// The classes of errors of AuthCodeURL and Exchange. Test them with
// errors.Is: an error returned wraps at most one of them (none for a
// provider error), along with its cause, whose text is for logs only.
var (
	// ErrUnavailable: the provider cannot be used now: its discovery has
	// not succeeded yet, it cannot be reached, or it answered with a
	// server error (5xx, 429, temporarily_unavailable). Worth retrying
	// later.
	ErrUnavailable = auth.ErrProviderUnavailable
	// ErrDenied: the provider refused the grant: the code is unknown,
	// expired, already used or was issued for another verifier
	// (invalid_grant, GitHub's bad_verification_code), or the user denied
	// access (access_denied).
	ErrDenied = auth.ErrProviderDenied
	// ErrInvalidToken: the ID token failed validation: its signature or
	// algorithm, iss, aud, azp, exp, nbf, iat, nonce, sub or at_hash.
	ErrInvalidToken = errors.New("oauth: invalid ID token")
	// ErrNoEmail: the provider gave no email address to use (an OIDC
	// provider without an email claim, a GitHub account without a primary
	// email).
	ErrNoEmail = auth.ErrProviderNoEmail
)

// DefaultTimeout bounds each HTTP request to a provider when the
// configuration gives no http.Client.
const DefaultTimeout = 10 * time.Second

// maxBody bounds what is read of a provider's answer.
const maxBody = 1 << 20

func defaultHTTPClient() *http.Client {
	return &http.Client{Timeout: DefaultTimeout}
}

// CallbackPath returns the path of the callback URL of the provider named
// name: /api/v1/oauth/{name}/callback.
func CallbackPath(name string) string {
	return "/api/v1/oauth/" + url.PathEscape(name) + "/callback"
}

// RedirectURL returns the callback URL registered with the provider named
// name, under authd's issuer (AUTH_ISSUER): issuer + CallbackPath(name).
func RedirectURL(issuer, name string) string {
	return strings.TrimSuffix(issuer, "/") + CallbackPath(name)
}

// GenerateVerifier returns a new PKCE code verifier: 32 random bytes,
// base64url without padding (43 characters), by oauth2.GenerateVerifier.
func GenerateVerifier() string {
	return oauth2.GenerateVerifier()
}

// GenerateState returns a new state value: 32 random bytes (256 bits),
// base64url without padding (43 characters).
func GenerateState() string { return random256() }

// GenerateNonce returns a new nonce, like GenerateState.
func GenerateNonce() string { return random256() }

func random256() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // crypto/rand.Read never returns an error
	return base64.RawURLEncoding.EncodeToString(b)
}

// verifierRE is RFC 7636's code-verifier: 43 to 128 unreserved characters.
var verifierRE = regexp.MustCompile(`^[A-Za-z0-9\-._~]{43,128}$`)

// nameRE is what a provider name may be: it appears in URL paths and
// comes from an environment variable's name (AUTH_OIDC_<NAME>_…).
var nameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]*$`)

func checkName(name string) error {
	if !nameRE.MatchString(name) {
		return fmt.Errorf("oauth: provider name %q: want lower-case letters, digits, _ and -", name)
	}
	return nil
}

// checkAuthArgs checks the caller's values for AuthCodeURL or Exchange;
// what it reports is a bug in the caller, a plain error.
func checkAuthArgs(what, value, verifier, nonce string, needNonce bool) error {
	if value == "" {
		return fmt.Errorf("oauth: empty %s", what)
	}
	if !verifierRE.MatchString(verifier) {
		return errors.New("oauth: malformed PKCE code verifier")
	}
	if needNonce && nonce == "" {
		return errors.New("oauth: empty nonce")
	}
	return nil
}

// checkURL parses an absolute http(s) URL from the configuration and
// returns it without a trailing slash.
func checkURL(what, raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", fmt.Errorf("oauth: %s: %w", what, err)
	}
	if (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return "", fmt.Errorf("oauth: %s %q: want an absolute http(s) URL without query or fragment", what, raw)
	}
	return strings.TrimSuffix(raw, "/"), nil
}
