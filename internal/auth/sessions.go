package auth

import "time"

// Session lifetime. A session ends at the first of: its stored expiry (which
// each refresh moves to the new refresh token's), its creation plus
// SessionMaxLifetime, and its last refresh plus SessionIdleTimeout. The caps
// are applied whenever a session is read, not only when it is written, so
// they hold for sessions stored before they were configured or lowered.
//
// The idle timeout is measured from LastSeenAt, which only a refresh moves:
// Authenticate reads the session row (or its cached state) anyway, so
// checking it there costs nothing, and it needs no write per request.

// sessionEnd returns when sess ends unless it is revoked first.
func (s *Service) sessionEnd(sess *Session) time.Time {
	end := sess.ExpiresAt
	if d := s.cfg.SessionMaxLifetime; d > 0 {
		end = earliest(end, sess.CreatedAt.Add(d))
	}
	if d := s.cfg.SessionIdleTimeout; d > 0 {
		end = earliest(end, sess.LastSeenAt.Add(d))
	}
	return end
}

// sessionActive reports whether sess may be used at now.
func (s *Service) sessionActive(sess *Session, now time.Time) bool {
	return sess.RevokedAt.IsZero() && now.Before(s.sessionEnd(sess))
}

// refreshExpiry returns the expiry of a refresh token minted for sess at
// now: the refresh-token lifetime, never past the session's maximum
// lifetime. RotateRefreshToken moves the session's expiry to it, so
// refreshes can't extend a session past its cap.
func (s *Service) refreshExpiry(sess *Session, now time.Time) time.Time {
	exp := now.Add(s.cfg.RefreshTokenTTL)
	if d := s.cfg.SessionMaxLifetime; d > 0 {
		exp = earliest(exp, sess.CreatedAt.Add(d))
	}
	return exp
}

func earliest(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}
