package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"

	"github.com/google/uuid"
)

// A user token (a refresh token, a mailed one-time token) is 16 bytes of
// the owner's user id followed by 32 random bytes (256 bits of entropy),
// base64url-encoded: 64 characters. Carrying the user id lets every lookup
// be scoped by user, which is how a sharded store routes it; only the
// SHA-256 of the bytes is stored.
const (
	userTokenSecretLen = 32
	userTokenLen       = 16 + userTokenSecretLen
)

var userTokenEncoding = base64.RawURLEncoding

// newUserToken returns a fresh raw token for userID and its hash.
func newUserToken(userID string) (raw string, hash []byte, err error) {
	id, err := uuid.Parse(userID)
	if err != nil {
		return "", nil, fmt.Errorf("token for user %q: %w", userID, err)
	}
	b := make([]byte, userTokenLen)
	copy(b, id[:])
	rand.Read(b[16:]) // never returns an error (crypto/rand, Go 1.24+)
	sum := sha256.Sum256(b)
	return userTokenEncoding.EncodeToString(b), sum[:], nil
}

// parseUserToken returns the owner and hash of a raw user token, and false
// if raw is not shaped like one.
func parseUserToken(raw string) (userID string, hash []byte, ok bool) {
	if len(raw) != userTokenEncoding.EncodedLen(userTokenLen) {
		return "", nil, false
	}
	// The decoder skips '\r' and '\n', so a string of the right length
	// can still decode short: the byte count gives each token one spelling.
	b, err := userTokenEncoding.DecodeString(raw)
	if err != nil || len(b) != userTokenLen {
		return "", nil, false
	}
	id, err := uuid.FromBytes(b[:16])
	if err != nil {
		return "", nil, false
	}
	sum := sha256.Sum256(b)
	return id.String(), sum[:], true
}
