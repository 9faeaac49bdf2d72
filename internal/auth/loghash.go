package auth

import (
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
)

// emailHashKey derives the key of emailHash from the service secret, so that
// the hashes in the logs can't be recomputed from a list of addresses by
// whoever reads the logs without the secret. Without a secret (tests) it is
// nil and emailHash falls back to plain SHA-256: still no address in the
// logs, but guessable from a candidate address.
func emailHashKey(secret []byte) []byte {
	if len(secret) == 0 {
		return nil
	}
	k, err := hkdf.Key(sha256.New, secret, nil, "authd log email hash v1", 32)
	if err != nil {
		// HKDF-SHA256 fails only for keys longer than 255 × 32 bytes.
		panic(err)
	}
	return k
}

// emailHash is what log lines carry instead of a normalised email address:
// the first 16 hex digits (64 bits) of its HMAC-SHA256 under emailHashKey,
// enough to tell that failures target the same account, and stable across
// replicas and restarts that share the secret.
func (s *core) emailHash(email string) string {
	var sum []byte
	if s.emailKey == nil {
		h := sha256.Sum256([]byte(email))
		sum = h[:]
	} else {
		m := hmac.New(sha256.New, s.emailKey)
		m.Write([]byte(email))
		sum = m.Sum(nil)
	}
	return hex.EncodeToString(sum[:8])
}
