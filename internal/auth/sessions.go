package auth

import (
	"context"
	"fmt"
	"time"
)

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
func (s *core) sessionEnd(sess *Session) time.Time {
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
func (s *core) sessionActive(sess *Session, now time.Time) bool {
	return sess.RevokedAt.IsZero() && now.Before(s.sessionEnd(sess))
}

// refreshExpiry returns the expiry of a refresh token minted for sess at
// now: the refresh-token lifetime, never past the session's maximum
// lifetime. RotateRefreshToken moves the session's expiry to it, so
// refreshes can't extend a session past its cap.
func (s *core) refreshExpiry(sess *Session, now time.Time) time.Time {
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

// SessionQuery pages through a user's sessions. Cursor is the NextCursor of
// the previous page ("" for the first).
type SessionQuery struct {
	Cursor string
	Limit  int // 1..100; 0 means DefaultPageSize
}

// listSessions returns one page of the user's active sessions, newest
// first, and the cursor of the next. A session created during a walk sorts
// before its start and is not seen; none is skipped or repeated.
func (s *core) listSessions(ctx context.Context, userID string, q SessionQuery) ([]*Session, string, error) {
	limit, err := pageLimit(q.Limit)
	if err != nil {
		return nil, "", err
	}
	before, err := decodeCursor(q.Cursor, cursorSessions)
	if err != nil {
		return nil, "", err
	}
	now := s.now()
	f := SessionFilter{UserID: userID, ActiveAt: now, Before: before, Limit: limit + 1}
	// The lifetime limits as sessionEnd applies them: now is before
	// CreatedAt + max and before LastSeenAt + idle.
	if d := s.cfg.SessionMaxLifetime; d > 0 {
		f.CreatedAfter = now.Add(-d)
	}
	if d := s.cfg.SessionIdleTimeout; d > 0 {
		f.SeenAfter = now.Add(-d)
	}
	list, err := s.store.ListSessions(ctx, f)
	if err != nil {
		return nil, "", err
	}
	next := ""
	if len(list) > limit {
		list = list[:limit]
		next = encodeCursor(cursorSessions, list[limit-1].ID)
	}
	return list, next, nil
}

// SessionPurge counts what one run of PurgeSessions removed.
type SessionPurge struct {
	Successors    int64 // refresh-grace successors cleared
	RefreshTokens int64 // refresh tokens deleted
	Sessions      int64 // ended sessions deleted
	OneTimeTokens int64 // expired mailed-link tokens deleted
	OAuth         int64 // expired social sign-in states and codes deleted
}

// PurgeSessions is the session retention job. It clears the sealed
// successors of retired refresh tokens once their grace interval is over,
// deletes expired refresh tokens, mailed-link tokens and social sign-in
// states and codes, and
// deletes the sessions that ended (expired or were revoked) more than
// retention ago with their tokens; a retention of 0 keeps ended sessions,
// though not their expired tokens.
// Until then an ended session stays on record, for whoever investigates
// it. Every statement touches at most PurgeBatch rows, so the job never
// holds many row locks at once; it repeats them until nothing is left.
func (s *Admin) PurgeSessions(ctx context.Context, retention time.Duration) (SessionPurge, error) {
	var p SessionPurge
	limit := int64(s.cfg.PurgeBatch)
	now := s.now()
	err := drain(limit, func() (int64, error) {
		n, err := s.store.ClearStaleSuccessors(ctx, int(limit))
		p.Successors += n
		return n, err
	})
	if err == nil {
		err = drain(limit, func() (int64, error) {
			n, err := s.store.DeleteExpiredRefreshTokens(ctx, now, int(limit))
			p.RefreshTokens += n
			return n, err
		})
	}
	if err == nil {
		err = drain(limit, func() (int64, error) {
			n, err := s.store.DeleteExpiredOneTimeTokens(ctx, now, int(limit))
			p.OneTimeTokens += n
			return n, err
		})
	}
	if err == nil {
		err = drain(limit, func() (int64, error) {
			n, err := s.store.DeleteExpiredOAuth(ctx, now, int(limit))
			p.OAuth += n
			return n, err
		})
	}
	if err == nil && retention > 0 {
		err = drain(limit, func() (int64, error) {
			sessions, tokens, err := s.store.DeleteEndedSessions(ctx, now.Add(-retention), int(limit))
			p.Sessions += sessions
			p.RefreshTokens += tokens
			return sessions + tokens, err
		})
	}
	if err != nil {
		return p, fmt.Errorf("purge sessions: %w", err)
	}
	return p, nil
}

// drain runs batch until it fails or removes fewer than limit rows: the
// last batch found nothing more to do.
func drain(limit int64, batch func() (int64, error)) error {
	for {
		n, err := batch()
		if err != nil || n < limit {
			return err
		}
	}
}
