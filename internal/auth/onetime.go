package auth

import "time"

// TokenPurpose says what a one-time token proves. A token is good for its
// own purpose only: a reset token does not verify an address.
type TokenPurpose string

const (
	PurposeVerifyEmail   TokenPurpose = "verify_email"   // the account's address is the owner's
	PurposeResetPassword TokenPurpose = "reset_password" // the owner of the address may set a password
	PurposeChangeEmail   TokenPurpose = "change_email"   // the owner of a new address asked to move the account to it
)

// OneTimeToken is a single-use token mailed to a user, as stored: only its
// hash is kept, so the database alone can't produce a working link.
type OneTimeToken struct {
	Hash    []byte // SHA-256 of the raw token
	UserID  string
	Purpose TokenPurpose
	// Email is the address the token was mailed to: what using it proves
	// control of (for PurposeChangeEmail, the new address).
	Email     string
	CreatedAt time.Time
	ExpiresAt time.Time
}

// newOneTimeToken returns a fresh raw one-time token for the user and its
// hash: a user token (usertoken.go), like a refresh token, so that it finds
// its user's rows without a lookup.
func newOneTimeToken(userID string) (raw string, hash []byte, err error) {
	return newUserToken(userID)
}

// parseOneTimeToken returns the owner and hash of a raw one-time token, or
// errInvalidToken if raw is not shaped like one.
func parseOneTimeToken(raw string) (userID string, hash []byte, err error) {
	userID, hash, ok := parseUserToken(raw)
	if !ok {
		return "", nil, errInvalidToken
	}
	return userID, hash, nil
}

// errInvalidToken answers every unusable one-time token alike (malformed,
// unknown, used, superseded, expired, of another purpose): which one it was
// is nobody's business but the audit log's.
var errInvalidToken = Errorf(EInvalidToken, "The link is invalid or has expired. Ask for a new one.")
