package auth

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"

	"github.com/google/uuid"
)

// A raw refresh token is 16 bytes of the owner's user id followed by 32 random
// bytes (256 bits of entropy), base64url-encoded. Carrying the user id lets
// every lookup be scoped by user, which is how a sharded store routes it.
const (
	refreshSecretLen = 32
	refreshRawLen    = 16 + refreshSecretLen
)

var refreshEncoding = base64.RawURLEncoding

// newRefreshToken returns a fresh raw refresh token for userID and its hash.
func newRefreshToken(userID string) (raw string, hash []byte, err error) {
	id, err := uuid.Parse(userID)
	if err != nil {
		return "", nil, fmt.Errorf("refresh token for user %q: %w", userID, err)
	}
	b := make([]byte, refreshRawLen)
	copy(b, id[:])
	rand.Read(b[16:]) // never returns an error (crypto/rand, Go 1.24+)
	sum := sha256.Sum256(b)
	return refreshEncoding.EncodeToString(b), sum[:], nil
}

// parseRefreshToken returns the owner and hash of a raw refresh token, or
// EInvalidRefreshToken if raw is not shaped like one.
func parseRefreshToken(raw string) (userID string, hash []byte, err error) {
	if len(raw) != refreshEncoding.EncodedLen(refreshRawLen) {
		return "", nil, errInvalidRefresh
	}
	// The decoder skips '\r' and '\n', so a string of the right length
	// can still decode short: the byte count gives each token one spelling.
	b, err := refreshEncoding.DecodeString(raw)
	if err != nil || len(b) != refreshRawLen {
		return "", nil, errInvalidRefresh
	}
	id, err := uuid.FromBytes(b[:16])
	if err != nil {
		return "", nil, errInvalidRefresh
	}
	sum := sha256.Sum256(b)
	return id.String(), sum[:], nil
}

var errInvalidRefresh = Errorf(EInvalidRefreshToken, "The refresh token is invalid, expired or revoked.")

// sealSuccessor encrypts next under a key derived from the retired token raw,
// so that the stored successor is useless to anyone who only reads the
// database: recovering it takes the retired token itself.
func sealSuccessor(raw, next string) ([]byte, error) {
	aead, err := successorAEAD(raw)
	if err != nil {
		return nil, err
	}
	nonce := make([]byte, aead.NonceSize())
	rand.Read(nonce)
	return aead.Seal(nonce, nonce, []byte(next), nil), nil
}

// openSuccessor reverses sealSuccessor.
func openSuccessor(raw string, sealed []byte) (string, error) {
	aead, err := successorAEAD(raw)
	if err != nil {
		return "", err
	}
	if len(sealed) < aead.NonceSize() {
		return "", errors.New("sealed successor too short")
	}
	n := aead.NonceSize()
	plain, err := aead.Open(nil, sealed[:n], sealed[n:], nil)
	if err != nil {
		return "", fmt.Errorf("open successor: %w", err)
	}
	return string(plain), nil
}

func successorAEAD(raw string) (cipher.AEAD, error) {
	b, err := refreshEncoding.DecodeString(raw)
	if err != nil {
		return nil, err
	}
	key, err := hkdf.Key(sha256.New, b, nil, "authd refresh successor v1", 32)
	if err != nil {
		return nil, err
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}
