// Package token issues and verifies authd's access tokens (JWTs) and manages
// the signing keys behind them: generation, sealing at rest, rotation and the
// JSON Web Key Set that other services use to verify tokens offline.
//
// Manager implements auth.TokenIssuer on top of a KeyStore (implemented by the
// sqlite and postgres packages). JWT encoding, signing and parsing are done by
// github.com/golang-jwt/jwt/v5; this package decides which key signs, which
// keys verify, and what a valid token must contain.
//
// # Key lifecycle
//
// Keys are ordered by ActivatesAt, then ID, the same order on every replica.
// At any instant a key is in one of four states:
//
//   - pending: ActivatesAt is in the future. The key is published in the JWKS
//     but signs nothing yet, so verifiers that cache the JWKS learn it before
//     the first token signed with it reaches them (publish before use).
//   - current: the latest key whose ActivatesAt has passed. It signs every new
//     token.
//   - retired: a newer key has activated. The key signs nothing but stays
//     published for AccessTTL + Leeway after its retirement, by which time
//     every token it signed has expired.
//   - unpublished: past that window. It is neither published nor accepted.
//
// Rotate adds a pending key that activates PublishDelay later. Run reloads
// the keys periodically, so replicas that share a database converge, and
// rotates automatically when the current key is older than RotationPeriod.
// A token whose kid is unknown triggers an early reload, rate limited so that
// garbage tokens can't hammer the database.
//
// # Tokens
//
// The header carries "kid" and "typ": "at+jwt" (RFC 9068), which Verify
// requires: it keeps a JWT of another kind signed with the same keys (an
// OpenID Connect ID token, say) from being accepted as an access token. The
// claims are iss, sub, aud (a single string), exp, nbf, iat, jti, sid, roles
// (always an array) and email_verified, with times at second precision.
//
// Verify pins the algorithm to the one of the key named by kid (so "none",
// HS256 keyed with a public key, and any other algorithm swap fail), checks
// the signature, iss, aud, exp, nbf and iat with Config.Leeway, and requires
// sub, sid, jti and iat. Every failure is an *auth.Error with code
// auth.EUnauthorized and the message "invalid access token"; the cause is in
// Err for the logs only.
//
// Where the jwt package is lax, Verify is strict, so that a token has one
// spelling and means one thing to every verifier: a header with "crit" is
// refused (authd understands no extension, RFC 7515 §4.1.11), exp, nbf and
// iat must be JSON numbers (not strings of digits), base64url must be
// canonical, and an ES256 signature must have s ≤ n/2 (Issue writes only
// those), since its twin (r, n-s) would verify too.
//
// # Sealing
//
// A private key is stored as its PKCS #8 DER encoding sealed with AES-256-GCM
// under a key derived from the service secret (AUTH_SECRET_KEY) with
// HKDF-SHA256 and the info string "authd signing key v1". The sealed blob is
// the random 96-bit nonce followed by the ciphertext and tag; the key ID is
// the additional authenticated data, so a blob copied to another row does not
// open.
package token
