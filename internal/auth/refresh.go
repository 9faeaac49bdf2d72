package auth

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
)

// newRefreshToken returns a fresh raw refresh token for userID and its
// hash: a user token (usertoken.go).
func newRefreshToken(userID string) (raw string, hash []byte, err error) {
	return newUserToken(userID)
}

// parseRefreshToken returns the owner and hash of a raw refresh token, or
// EInvalidRefreshToken if raw is not shaped like one.
func parseRefreshToken(raw string) (userID string, hash []byte, err error) {
	userID, hash, ok := parseUserToken(raw)
	if !ok {
		return "", nil, errInvalidRefresh
	}
	return userID, hash, nil
}

var errInvalidRefresh = Errorf(EInvalidRefreshToken, "The refresh token is invalid, expired or revoked.")

// errRefreshReused is what a reused refresh token gets: to the client the
// same error as any invalid token, to the Observer a different outcome.
var errRefreshReused = Errorf(EInvalidRefreshToken, "The refresh token is invalid, expired or revoked.")

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
	b, err := userTokenEncoding.DecodeString(raw)
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
