// Package oauth is the providers' side of social login, where authd is the
// OAuth client: it builds the URL that sends a user to a provider, and
// turns the code the provider sends back into a verified Profile. It is
// infrastructure: every provider here implements the domain's
// auth.SocialProvider (Profile is auth.SocialProfile, and ErrUnavailable,
// ErrDenied and ErrNoEmail are the domain's own values), and cmd/authd
// hands the configured ones to the domain.
//
// The providers, behind Provider, one file each:
//
//   - OIDC (oidc.go): a generic OpenID Connect provider found by discovery
//     from its issuer (AUTH_OIDC_<NAME>_ISSUER, _CLIENT_ID,
//     _CLIENT_SECRET, _SCOPES, _DISPLAY_NAME), named <name> in lower
//     case. Discovery runs in the background and is retried with
//     exponential backoff: a provider that cannot be discovered at start-up
//     does not stop authd, it answers ErrUnavailable until discovery
//     succeeds (Ready tells).
//   - Google (google.go): OIDC with the issuer https://accounts.google.com.
//   - GitHub (github.go): OAuth 2 and the REST API (/user, /user/emails),
//     on github.com or a GitHub Enterprise Server (AUTH_GITHUB_URL,
//     AUTH_GITHUB_API_URL).
//
// The callback URL registered with a provider is RedirectURL(AUTH_ISSUER,
// name): AUTH_ISSUER/api/v1/oauth/{name}/callback.
//
// What it promises:
//
//   - PKCE S256 always: the authorization URL carries the S256 challenge
//     of the caller's verifier, and the code is redeemed with the verifier.
//     OIDC providers are also sent the caller's nonce.
//   - The ID token of an OIDC provider is verified with go-oidc (never by
//     hand): its signature by a key of the provider's key set, with an
//     algorithm the provider lists and go-oidc supports (never "none" nor
//     HMAC), iss, aud containing the client ID, exp and nbf; and here: sub
//     present, iat present and not in the future (beyond IssuedAtSkew),
//     nonce equal to the caller's, azp equal to the client ID when present
//     and required when there are several audiences, at_hash when present.
//     A key set that cannot be fetched is ErrUnavailable, not a token that
//     fails to verify.
//   - An OIDC profile comes from the ID token; UserInfo is asked only when
//     the ID token has no email claim, and used only if its sub is the ID
//     token's (some providers put the email scope's claims in UserInfo
//     alone).
//   - A Profile's Subject is the provider's stable identifier of the user,
//     its Email is never empty, and its EmailVerified is the provider's own
//     word: an OIDC email_verified claim (a boolean, or the string "true"),
//     GitHub's verified flag of the primary address. GitHub's other
//     addresses, verified or not, and its public email are never used. The
//     domain must not link an account on an address that is not verified.
//   - Errors are classified by type, never by text: errors.Is with
//     ErrUnavailable (discovery not done yet, the provider unreachable or
//     answering 5xx or 429), ErrDenied (the provider refused the code:
//     invalid_grant, access_denied, GitHub's bad_verification_code),
//     ErrInvalidToken (the ID token failed a check) or ErrNoEmail (no
//     address to use); an error wraps at most one of them. Anything else is
//     a provider error, but for the end of the caller's context, which is
//     that context's error. The domain's codes follow from them:
//     provider_unavailable, access_denied, provider_error
//     (ErrInvalidToken and the rest), email_not_verified (ErrNoEmail, or a Profile whose EmailVerified is
//     false where a verified address is needed). The text of an error may
//     quote the provider (an error_description, a GitHub message): it is
//     for logs only, never for users. A callback that carries an error
//     instead of a code (error=access_denied when the user declines) never
//     reaches this package: the caller answers it.
//   - A configuration error (a missing client ID, a malformed URL or name)
//     is reported by the constructor; a provider that cannot be reached
//     never is.
//
// What it never does: keep a token (the provider's access token is used to
// read the profile and dropped; refresh tokens are not asked for), keep or
// check state, verifier or nonce (the caller makes them with
// GenerateState, GenerateVerifier and GenerateNonce, keeps them for the
// callback, checks the callback's state, and passes the same verifier and
// nonce to Exchange), or decide what a Profile means for an account.
package oauth
