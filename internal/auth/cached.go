package auth

import (
	"context"
	"encoding/json"
	"slices"
	"time"
)

// sessionState is what the cache keeps per session: the state Authenticate
// decides on and the profile GET /users/me returns, so that neither touches
// the database on a warm cache. It never holds the password hash.
type sessionState struct {
	Found     bool      `json:"f"`
	RevokedAt time.Time `json:"r,omitzero"`
	ExpiresAt time.Time `json:"e,omitzero"` // when the session ends (sessionEnd), not its stored expiry
	User      *User     `json:"u,omitempty"`
}

func (st *sessionState) active(now time.Time) bool {
	return st.Found && st.RevokedAt.IsZero() && now.Before(st.ExpiresAt) &&
		st.User != nil && st.User.Status == StatusActive
}

// clone is a copy of st that shares nothing with it.
func (st *sessionState) clone() *sessionState {
	c := *st
	if st.User != nil {
		u := *st.User
		u.Roles = slices.Clone(st.User.Roles)
		c.User = &u
	}
	return &c
}

// decodedStates is how many decoded session states each replica keeps (see
// decoded): a few hundred bytes each.
const decodedStates = 8192

// sessionState returns the state of the user's session through the cache.
func (s *core) sessionState(ctx context.Context, userID, sessionID string) (*sessionState, error) {
	return cachedDecoded(ctx, s, userID, "s:"+sessionID, s.states, func(ctx context.Context) (*sessionState, time.Duration, error) {
		return s.loadSessionState(ctx, userID, sessionID)
	})
}

// cached returns the value load returns, through the cache, where it is
// kept as JSON under key in group for the TTL load says. An entry that
// doesn't decode (not one authd wrote) is dropped with its group and the
// value loaded again, rather than failing every request until it expires.
func cached[T any](ctx context.Context, s *core, group, key string, load func(context.Context) (T, time.Duration, error)) (T, error) {
	return cachedDecoded(ctx, s, group, key, nil, load)
}

// cachedDecoded is cached, skipping the decode of bytes memo has decoded
// before under the same key (nil: always decode).
func cachedDecoded[T any](ctx context.Context, s *core, group, key string, memo *decoded[T], load func(context.Context) (T, time.Duration, error)) (T, error) {
	var v T
	raw, err := s.cache.Get(ctx, group, key, func(ctx context.Context) ([]byte, time.Duration, error) {
		v, ttl, err := load(ctx)
		if err != nil {
			return nil, 0, err
		}
		b, err := json.Marshal(v)
		return b, ttl, err
	})
	if err != nil {
		return v, err
	}
	// The memo is keyed by key alone, without a per-request concatenation
	// with group: it returns a value only for the very bytes it was decoded
	// from, so keys that clashed across groups would only cost a decode.
	if memo != nil {
		if v, ok := memo.get(key, raw); ok {
			return v, nil
		}
	}
	if err := json.Unmarshal(raw, &v); err != nil {
		s.log.WarnContext(ctx, "unreadable cache entry; reloading", "group", group)
		s.invalidate(ctx, group)
		v, _, err = load(ctx)
		return v, err
	}
	if memo != nil {
		memo.put(key, raw, v)
	}
	return v, nil
}

// loadSessionState reads the state from the database and says how long it
// may be cached. An ended (or unknown) session is final, and remembered for
// as long as an access token naming it can still be valid, so replayed
// tokens of revoked sessions are turned away without a database read. A live
// session's entry never outlives the session.
func (s *core) loadSessionState(ctx context.Context, userID, sessionID string) (*sessionState, time.Duration, error) {
	ended := s.cfg.AccessTokenTTL
	sess, u, err := s.store.SessionWithUser(ctx, userID, sessionID)
	if ErrorCode(err) == ENotFound {
		return &sessionState{}, ended, nil
	}
	if err != nil {
		return nil, 0, err
	}
	st := &sessionState{Found: true, RevokedAt: sess.RevokedAt, ExpiresAt: s.sessionEnd(sess)}
	now := s.now()
	if !s.sessionActive(sess, now) {
		// The profile of a session that can't be used is not kept.
		return st, ended, nil
	}
	st.User = u.Redacted()
	return st, st.ExpiresAt.Sub(now), nil
}

// invalidate drops the user's cached entries after a committed write. The
// cache retries undeliverable invalidations itself, so a failure here is
// only logged.
func (s *core) invalidate(ctx context.Context, userID string) {
	if err := s.cache.Invalidate(ctx, userID); err != nil {
		s.log.WarnContext(ctx, "cache invalidation failed", "user_id", userID, "err", err)
	}
}
