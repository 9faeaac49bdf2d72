package token

import (
	"bytes"
	"encoding/json"
	"sync"
	"time"
)

// jwksCache holds the last marshalled JWKS. The published keys change only
// when the key set is replaced or a retired key's window ends, so the bytes
// are valid for that set from built until until.
type jwksCache struct {
	mu    sync.Mutex
	set   *keySet
	built time.Time
	until time.Time // zero: no published key leaves before the set changes
	body  []byte
}

// JWKS returns the JSON Web Key Set (RFC 7517) of the published keys: pending
// keys, the current key, and retired keys until every token they signed has
// expired. Each key carries kty, use "sig", kid and alg, with crv/x/y for
// ES256 (EC P-256), crv/x for EdDSA (OKP Ed25519) and n/e for RS256 (RSA).
// The result is a fresh copy the caller may keep.
func (m *Manager) JWKS() []byte {
	now := m.now()
	set := m.keys.Load()
	c := &m.jwks
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.set != set || now.Before(c.built) || (!c.until.IsZero() && !now.Before(c.until)) {
		keys, until := set.published(now)
		doc := struct {
			Keys []jwk `json:"keys"`
		}{Keys: make([]jwk, 0, len(keys))}
		for _, e := range keys {
			doc.Keys = append(doc.Keys, e.jwk)
		}
		body, _ := json.Marshal(doc) // strings only: can't fail
		c.set, c.built, c.until, c.body = set, now, until, body
	}
	return bytes.Clone(c.body)
}

// Algorithms returns the algorithms of the published keys, the configured one
// first, for id_token_signing_alg_values_supported in the OpenID
// configuration.
func (m *Manager) Algorithms() []string {
	return m.keys.Load().algorithms(m.cfg.Algorithm, m.now())
}

// JWKSMaxAge is how long clients may cache the JWKS (Cache-Control max-age).
// A new key reaches every replica within ReloadInterval and must reach every
// verifier's cache before it signs, PublishDelay after its creation, so the
// hint is half of what is left of PublishDelay after ReloadInterval, to the
// second, and 0 (don't cache) when nothing is left.
func (m *Manager) JWKSMaxAge() time.Duration {
	d := (m.cfg.PublishDelay - m.cfg.ReloadInterval) / 2
	if d < 0 {
		return 0
	}
	return d.Truncate(time.Second)
}
