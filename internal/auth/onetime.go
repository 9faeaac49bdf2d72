package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"time"

	"github.com/google/uuid"
)

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

// A raw one-time token is the owner's user id (16 bytes), so that the token
// finds its user's rows (and shard) without a lookup, followed by 32 random
// bytes, base64url-encoded: 64 characters.
const oneTimeRawLen = 16 + 32

var oneTimeEncoding = base64.RawURLEncoding

// newOneTimeToken returns a fresh raw token for the user and its hash.
func newOneTimeToken(userID string) (raw string, hash []byte, err error) {
	id, err := uuid.Parse(userID)
	if err != nil {
		return "", nil, fmt.Errorf("one-time token for user %q: %w", userID, err)
	}
	b := make([]byte, oneTimeRawLen)
	copy(b, id[:])
	rand.Read(b[16:]) // never returns an error (crypto/rand, Go 1.24+)
	sum := sha256.Sum256(b)
	return oneTimeEncoding.EncodeToString(b), sum[:], nil
}

// parseOneTimeToken returns the owner and hash of a raw one-time token, or
// errInvalidToken if raw is not shaped like one.
func parseOneTimeToken(raw string) (userID string, hash []byte, err error) {
	if len(raw) != oneTimeEncoding.EncodedLen(oneTimeRawLen) {
		return "", nil, errInvalidToken
	}
	// The decoder skips '\r' and '\n', so a string of the right length
	// can still decode short: the byte count gives each token one spelling.
	b, err := oneTimeEncoding.DecodeString(raw)
	if err != nil || len(b) != oneTimeRawLen {
		return "", nil, errInvalidToken
	}
	id, err := uuid.FromBytes(b[:16])
	if err != nil {
		return "", nil, errInvalidToken
	}
	sum := sha256.Sum256(b)
	return id.String(), sum[:], nil
}

// errInvalidToken answers every unusable one-time token alike (malformed,
// unknown, used, superseded, expired, of another purpose): which one it was
// is nobody's business but the audit log's.
var errInvalidToken = Errorf(EInvalidToken, "The link is invalid or has expired. Ask for a new one.")
