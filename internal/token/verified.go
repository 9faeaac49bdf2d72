package token

import (
	"crypto/sha256"
	"encoding/binary"
	"sync"
	"time"

	"github.com/talentforge/authd/internal/auth"
)

// verifiedCache remembers the access tokens whose signature and claims this
// process has checked. A client sends the same token with every request for
// its whole lifetime, and a gateway asks /auth/verify about each of them, so
// a repeat costs one SHA-256 and a map lookup instead of a signature check
// (about 80 µs for ES256, most of the endpoint's CPU).
//
// It is keyed by the SHA-256 of the token, so a token that is not
// byte-for-byte one already verified can't hit, and only tokens that passed
// the full check are put. That check admits one string per signed token
// (canonical base64url, low-s ES256), so no twin of a cached token can get
// in by another spelling. A hit is only served while
// the token is unexpired (without leeway: anything closer to the edge takes
// the full path, which applies it) and while its key is still published, so
// the cache never accepts what Verify would refuse.
type verifiedCache struct {
	perShard int // 0: disabled
	shards   [verifiedShards]verifiedShard
}

const verifiedShards = 16

type verifiedShard struct {
	mu sync.Mutex
	m  map[[sha256.Size]byte]verifiedToken
}

type verifiedToken struct {
	kid    string
	claims auth.AccessClaims
}

// newVerifiedCache holds up to size tokens; size ≤ 0 disables it.
func newVerifiedCache(size int) *verifiedCache {
	c := &verifiedCache{}
	if size <= 0 {
		return c
	}
	c.perShard = max(size/verifiedShards, 1)
	for i := range c.shards {
		c.shards[i].m = make(map[[sha256.Size]byte]verifiedToken)
	}
	return c
}

func (c *verifiedCache) shard(key *[sha256.Size]byte) *verifiedShard {
	return &c.shards[binary.LittleEndian.Uint64(key[:8])%verifiedShards]
}

// get returns the claims of a token verified before, if it is still
// unexpired at now and its key is still published in set. It also returns
// the token's cache key, for put after a miss.
func (c *verifiedCache) get(token string, now time.Time, set *keySet) (*auth.AccessClaims, [sha256.Size]byte, bool) {
	key := sha256.Sum256([]byte(token))
	if c.perShard == 0 {
		return nil, key, false
	}
	s := c.shard(&key)
	s.mu.Lock()
	v, ok := s.m[key]
	if ok && !now.Before(v.claims.ExpiresAt) {
		delete(s.m, key)
		ok = false
	}
	s.mu.Unlock()
	if !ok {
		return nil, key, false
	}
	if e := set.byID[v.kid]; e == nil || !e.publishedAt(now) {
		return nil, key, false
	}
	claims := v.claims
	claims.Roles = append([]string{}, v.claims.Roles...)
	return &claims, key, true
}

// put remembers a token that just passed verification. A full shard drops
// its expired tokens, then arbitrary ones (map order is random), down to
// 7/8 of its size, so that the walk is paid once per many inserts.
func (c *verifiedCache) put(key [sha256.Size]byte, kid string, claims *auth.AccessClaims, now time.Time) {
	if c.perShard == 0 {
		return
	}
	v := verifiedToken{kid: kid, claims: *claims}
	v.claims.Roles = append([]string{}, claims.Roles...)
	s := c.shard(&key)
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.m) >= c.perShard {
		for k, old := range s.m {
			if !now.Before(old.claims.ExpiresAt) {
				delete(s.m, k)
			}
		}
		for k := range s.m {
			if len(s.m) < c.perShard-c.perShard/8 {
				break
			}
			delete(s.m, k)
		}
	}
	s.m[key] = v
}
