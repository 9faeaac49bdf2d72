package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"slices"
	"time"

	"github.com/talentforge/authd/internal/auth"
)

// CreateSession inserts s and its first refresh token and sets the user's
// LastLoginAt to s.CreatedAt, if the user's PasswordVersion still equals
// passwordVersion. Returns ENotFound if the user does not exist, EInvalid if
// s belongs to another user, first does not belong to s or an id is not a
// canonical UUID, and EConflict if the password changed since
// passwordVersion or the session id or token hash is taken.
func (t *userTx) CreateSession(ctx context.Context, s *auth.Session, first *auth.RefreshToken, passwordVersion int64) error {
	if err := s.CheckNew(first); err != nil {
		return err
	}
	if s.UserID != t.userID {
		return auth.ErrOtherUser
	}
	res, err := t.tx.ExecContext(ctx,
		`UPDATE users SET last_login_at = ? WHERE id = ? AND password_version = ?`,
		formatTime(s.CreatedAt), s.UserID, passwordVersion)
	if err := changedRow(ctx, t.tx, res, err, "create session", s.UserID); err != nil {
		return err
	}
	_, err = t.tx.ExecContext(ctx, `
		INSERT INTO sessions (id, user_id, created_at, last_seen_at, expires_at, revoked_at,
		                      ip, user_agent, refresh_generation)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		s.ID, s.UserID, formatTime(s.CreatedAt), formatTime(s.LastSeenAt),
		formatTime(s.ExpiresAt), formatNullTime(s.RevokedAt), s.IP, s.UserAgent,
		s.RefreshGeneration)
	switch {
	case isUnique(err):
		return auth.ErrExists
	case isForeignKey(err):
		// The user was deleted between the update above and this insert.
		return auth.ErrUserNotFound
	case err != nil:
		return dbError("create session", err)
	}
	return insertRefreshToken(ctx, t.tx, first)
}

func insertRefreshToken(ctx context.Context, tx *sql.Tx, t *auth.RefreshToken) error {
	_, err := tx.ExecContext(ctx, `
		INSERT INTO refresh_tokens (token_hash, user_id, session_id, generation, created_at,
		                            expires_at, rotated_at, successor)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		t.Hash, t.UserID, t.SessionID, t.Generation, formatTime(t.CreatedAt),
		formatTime(t.ExpiresAt), formatNullTime(t.RotatedAt), nullBytes(t.Successor))
	switch {
	case isUnique(err):
		return auth.ErrExists
	case isForeignKey(err):
		return auth.ErrSessionNotFound
	case err != nil:
		return dbError("insert refresh token", err)
	}
	return nil
}

// sessionColumns is the select list of sessions s.
const sessionColumns = `s.id, s.user_id, s.created_at, s.last_seen_at, s.expires_at,
	s.revoked_at, s.ip, s.user_agent, s.refresh_generation`

type scanner interface{ Scan(dest ...any) error }

// collect reads every row of rows with scan and closes rows; op names the
// query in errors.
func collect[T any](rows *sql.Rows, op string, scan func(scanner) (T, error)) ([]T, error) {
	defer rows.Close()
	var list []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, dbError(op, err)
		}
		list = append(list, v)
	}
	if err := rows.Err(); err != nil {
		return nil, dbError(op, err)
	}
	return list, nil
}

// sessionRow receives one row of sessionColumns.
type sessionRow struct {
	s                      auth.Session
	created, seen, expires string
	revoked                sql.NullString
}

func (r *sessionRow) dest() []any {
	return []any{&r.s.ID, &r.s.UserID, &r.created, &r.seen, &r.expires, &r.revoked,
		&r.s.IP, &r.s.UserAgent, &r.s.RefreshGeneration}
}

func (r *sessionRow) session() (*auth.Session, error) {
	s := r.s
	var err error
	if s.CreatedAt, err = parseTime(r.created); err != nil {
		return nil, err
	}
	if s.LastSeenAt, err = parseTime(r.seen); err != nil {
		return nil, err
	}
	if s.ExpiresAt, err = parseTime(r.expires); err != nil {
		return nil, err
	}
	if s.RevokedAt, err = parseNullTime(r.revoked); err != nil {
		return nil, err
	}
	return &s, nil
}

func scanSession(row scanner) (*auth.Session, error) {
	var r sessionRow
	err := row.Scan(r.dest()...)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, auth.ErrSessionNotFound
	}
	if err != nil {
		return nil, err
	}
	return r.session()
}

// Session returns the user's session, revoked or not, or ENotFound (also when
// the session belongs to another user).
func (db *DB) Session(ctx context.Context, userID, sessionID string) (*auth.Session, error) {
	if !auth.ValidID(userID) || !auth.ValidID(sessionID) {
		return nil, auth.ErrSessionNotFound
	}
	s, err := scanSession(db.db.QueryRowContext(ctx,
		`SELECT `+sessionColumns+` FROM sessions s WHERE s.user_id = ? AND s.id = ?`, userID, sessionID))
	if err != nil && auth.ErrorCode(err) == auth.EInternal {
		return nil, dbError("session", err)
	}
	return s, err
}

// SessionWithUser returns, in one read, the user's session (revoked or not)
// and the user with roles, or ENotFound if either is missing.
func (db *DB) SessionWithUser(ctx context.Context, userID, sessionID string) (*auth.Session, *auth.User, error) {
	notFound := auth.ErrSessionNotFound
	if !auth.ValidID(userID) || !auth.ValidID(sessionID) {
		return nil, nil, notFound
	}
	var (
		sr sessionRow
		ur userRow
	)
	err := db.db.QueryRowContext(ctx, `
		SELECT `+sessionColumns+`, `+userColumns+`
		FROM sessions s JOIN users u ON u.id = s.user_id
		WHERE s.user_id = ? AND s.id = ?`,
		userID, sessionID).Scan(slices.Concat(sr.dest(), ur.dest())...)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil, notFound
	}
	if err != nil {
		return nil, nil, dbError("session with user", err)
	}
	s, err := sr.session()
	if err != nil {
		return nil, nil, err
	}
	u, err := ur.user()
	if err != nil {
		return nil, nil, err
	}
	return s, u, nil
}

// ListSessions returns the sessions f selects, newest (greatest id) first.
// An unknown or malformed user id selects none. Returns EInvalid for a limit
// that is not positive or a malformed cursor.
func (db *DB) ListSessions(ctx context.Context, f auth.SessionFilter) ([]*auth.Session, error) {
	if err := f.Check(); err != nil {
		return nil, err
	}
	if !auth.ValidID(f.UserID) {
		return nil, nil
	}
	var w where
	w.add("s.user_id = ?", f.UserID)
	w.add("s.revoked_at IS NULL AND s.expires_at > ?", formatTime(f.ActiveAt))
	if !f.CreatedAfter.IsZero() {
		w.add("s.created_at > ?", formatTime(f.CreatedAfter))
	}
	if !f.SeenAfter.IsZero() {
		w.add("s.last_seen_at > ?", formatTime(f.SeenAfter))
	}
	if f.Before != "" {
		w.add("s.id < ?", f.Before)
	}
	rows, err := db.db.QueryContext(ctx, `
		SELECT `+sessionColumns+` FROM sessions s WHERE `+w.String()+`
		ORDER BY s.id DESC LIMIT ?`, append(w.args, f.Limit)...)
	if err != nil {
		return nil, dbError("list sessions", err)
	}
	return collect(rows, "list sessions", scanSession)
}

// RevokeSession marks one unrevoked session of the user revoked at at.
// Returns ENotFound if the user has no such unrevoked session.
func (t *userTx) RevokeSession(ctx context.Context, sessionID string, at time.Time) error {
	if !auth.ValidID(sessionID) {
		return auth.ErrSessionNotFound
	}
	res, err := t.tx.ExecContext(ctx, `
		UPDATE sessions SET revoked_at = ?
		WHERE user_id = ? AND id = ? AND revoked_at IS NULL`,
		formatTime(at), t.userID, sessionID)
	return affectedOne(res, err, "revoke session", auth.ErrSessionNotFound)
}

// RevokeSessions marks every unrevoked session of the user revoked at at,
// except exceptSessionID when it is not empty. Sessions revoked earlier keep
// their RevokedAt. It never fails for want of sessions (an unknown user has
// none): the request to end them all is the change, whatever it found.
func (t *userTx) RevokeSessions(ctx context.Context, exceptSessionID string, at time.Time) error {
	if err := revokeSessions(ctx, t.tx, t.userID, exceptSessionID, at); err != nil {
		return dbError("revoke sessions", err)
	}
	return nil
}

func revokeSessions(ctx context.Context, db execer, userID, exceptSessionID string, at time.Time) error {
	_, err := db.ExecContext(ctx, `
		UPDATE sessions SET revoked_at = ?
		WHERE user_id = ? AND revoked_at IS NULL AND id <> ?`,
		formatTime(at), userID, exceptSessionID)
	return err
}

// refreshTokenColumns is the select list of refresh_tokens t.
const refreshTokenColumns = `t.token_hash, t.user_id, t.session_id, t.generation,
	t.created_at, t.expires_at, t.rotated_at, t.successor, t.grace_until`

// tokenRow receives one row of refreshTokenColumns.
type tokenRow struct {
	t                auth.RefreshToken
	created, expires string
	rotated, grace   sql.NullString
}

func (r *tokenRow) dest() []any {
	return []any{&r.t.Hash, &r.t.UserID, &r.t.SessionID, &r.t.Generation, &r.created, &r.expires,
		&r.rotated, &r.t.Successor, &r.grace}
}

func (r *tokenRow) token() (*auth.RefreshToken, error) {
	t := r.t
	var err error
	if t.CreatedAt, err = parseTime(r.created); err != nil {
		return nil, err
	}
	if t.ExpiresAt, err = parseTime(r.expires); err != nil {
		return nil, err
	}
	if t.RotatedAt, err = parseNullTime(r.rotated); err != nil {
		return nil, err
	}
	if t.GraceUntil, err = parseNullTime(r.grace); err != nil {
		return nil, err
	}
	t.Successor = nullBytes(t.Successor)
	return &t, nil
}

func scanRefreshToken(row scanner) (*auth.RefreshToken, error) {
	var r tokenRow
	err := row.Scan(r.dest()...)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, auth.ErrRefreshTokenNotFound
	}
	if err != nil {
		return nil, err
	}
	return r.token()
}

// RefreshToken returns the user's refresh token with the given hash, or
// ENotFound (also when the token belongs to another user).
func (db *DB) RefreshToken(ctx context.Context, userID string, hash []byte) (*auth.RefreshToken, error) {
	if !auth.ValidID(userID) {
		return nil, auth.ErrRefreshTokenNotFound
	}
	t, err := scanRefreshToken(db.db.QueryRowContext(ctx,
		`SELECT `+refreshTokenColumns+` FROM refresh_tokens t WHERE t.user_id = ? AND t.token_hash = ?`,
		userID, hash))
	if err != nil && auth.ErrorCode(err) == auth.EInternal {
		return nil, dbError("refresh token", err)
	}
	return t, err
}

// RefreshState returns, in one statement (one snapshot), the user's refresh
// token with the given hash, its session, revoked or not, and the user with
// its roles. The token's successor is left out once its GraceUntil is
// before the database's clock. Returns ENotFound if any of the three is
// missing.
func (db *DB) RefreshState(ctx context.Context, userID string, hash []byte) (*auth.RefreshToken, *auth.Session, *auth.User, error) {
	if !auth.ValidID(userID) {
		return nil, nil, nil, auth.ErrRefreshTokenNotFound
	}
	var (
		tr tokenRow
		sr sessionRow
		ur userRow
	)
	var successor []byte
	err := db.db.QueryRowContext(ctx, `
		SELECT `+refreshTokenColumns+`, `+sessionColumns+`, `+userColumns+`,
		       CASE WHEN t.grace_until >= ? THEN t.successor END
		FROM refresh_tokens t
		JOIN sessions s ON s.id = t.session_id AND s.user_id = t.user_id
		JOIN users u ON u.id = t.user_id
		WHERE t.user_id = ? AND t.token_hash = ?`,
		formatTime(db.now()), userID, hash).Scan(slices.Concat(tr.dest(), sr.dest(), ur.dest(), []any{&successor})...)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil, nil, auth.ErrRefreshTokenNotFound
	}
	if err != nil {
		return nil, nil, nil, dbError("refresh state", err)
	}
	t, err := tr.token()
	if err != nil {
		return nil, nil, nil, err
	}
	t.Successor = nullBytes(successor)
	s, err := sr.session()
	if err != nil {
		return nil, nil, nil, err
	}
	u, err := ur.user()
	if err != nil {
		return nil, nil, nil, err
	}
	return t, s, u, nil
}

// RotateRefreshToken atomically retires old (RotatedAt = at, Successor =
// sealedSuccessor until the database's clock passes grace from now), clears
// the successor of the generation before old (the only other one that can
// hold one: a single row found by its key, however long the family), inserts
// next, and
// advances the session's RefreshGeneration to next.Generation, LastSeenAt to
// at and ExpiresAt to next.ExpiresAt. It returns EConflict, changing nothing,
// unless the session is unrevoked, its RefreshGeneration still equals
// old.Generation and old is its unrotated token; so of many concurrent
// rotations of one token exactly one wins. Returns EInvalid if next does not
// continue old's family with a higher generation.
func (db *DB) RotateRefreshToken(ctx context.Context, old *auth.RefreshToken, sealedSuccessor []byte, grace time.Duration, next *auth.RefreshToken, at time.Time) error {
	if err := old.CheckSuccessor(next); err != nil {
		return err
	}
	if !auth.ValidID(old.UserID) || !auth.ValidID(old.SessionID) {
		return auth.ErrStale
	}
	// NULL, not an empty blob, when no successor is kept: "successor IS NOT
	// NULL" finds the tokens that hold one.
	var successor, graceUntil any
	if len(sealedSuccessor) > 0 && grace > 0 {
		successor, graceUntil = sealedSuccessor, formatTime(db.now().Add(grace))
	}
	return db.inTx(ctx, func(tx *sql.Tx) error {
		// The compare-and-set on the generation is what elects the single
		// winner; BEGIN IMMEDIATE serialises the contenders, so each loser
		// sees the winner's generation and matches no row.
		res, err := tx.ExecContext(ctx, `
			UPDATE sessions SET refresh_generation = ?, last_seen_at = ?, expires_at = ?
			WHERE user_id = ? AND id = ? AND refresh_generation = ? AND revoked_at IS NULL`,
			next.Generation, formatTime(at), formatTime(next.ExpiresAt),
			old.UserID, old.SessionID, old.Generation)
		if err := affectedOne(res, err, "rotate refresh token", auth.ErrStale); err != nil {
			return err
		}
		res, err = tx.ExecContext(ctx, `
			UPDATE refresh_tokens SET rotated_at = ?, successor = ?, grace_until = ?
			WHERE user_id = ? AND token_hash = ? AND session_id = ? AND generation = ?
			  AND rotated_at IS NULL`,
			formatTime(at), successor, graceUntil,
			old.UserID, old.Hash, old.SessionID, old.Generation)
		if err := affectedOne(res, err, "rotate refresh token", auth.ErrStale); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `
			UPDATE refresh_tokens SET successor = NULL, grace_until = NULL
			WHERE session_id = ? AND generation = ? AND successor IS NOT NULL`,
			old.SessionID, old.Generation-1); err != nil {
			return dbError("rotate refresh token", err)
		}
		return insertRefreshToken(ctx, tx, next)
	})
}

// ClearStaleSuccessors clears Successor and GraceUntil of up to limit refresh
// tokens whose GraceUntil is before the database's clock, or that hold a
// successor without one, and returns how many it cleared.
func (db *DB) ClearStaleSuccessors(ctx context.Context, limit int) (int64, error) {
	res, err := db.db.ExecContext(ctx, `
		UPDATE refresh_tokens SET successor = NULL, grace_until = NULL
		WHERE token_hash IN (
			SELECT token_hash FROM refresh_tokens
			WHERE successor IS NOT NULL AND (grace_until IS NULL OR grace_until < ?)
			LIMIT ?)`,
		formatTime(db.now()), limit)
	if err != nil {
		return 0, dbError("clear stale successors", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, dbError("clear stale successors", err)
	}
	return n, nil
}

// DeleteExpiredRefreshTokens deletes up to limit refresh tokens whose
// ExpiresAt is before before and returns how many it deleted.
func (db *DB) DeleteExpiredRefreshTokens(ctx context.Context, before time.Time, limit int) (int64, error) {
	res, err := db.db.ExecContext(ctx, `
		DELETE FROM refresh_tokens WHERE token_hash IN (
			SELECT token_hash FROM refresh_tokens WHERE expires_at < ? LIMIT ?)`,
		formatTime(before), limit)
	if err != nil {
		return 0, dbError("delete expired refresh tokens", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, dbError("delete expired refresh tokens", err)
	}
	return n, nil
}

// DeleteEndedSessions deletes, touching at most limit rows, the refresh
// tokens of sessions revoked or expired before before, then, once none is
// left, such sessions. It returns how many sessions and tokens it deleted.
func (db *DB) DeleteEndedSessions(ctx context.Context, before time.Time, limit int) (sessions, tokens int64, err error) {
	// Tokens first, in their own statement: a session's family can be long,
	// and a cascade from the sessions would delete it unbounded.
	cutoff := formatTime(before)
	res, err := db.db.ExecContext(ctx, `
		DELETE FROM refresh_tokens WHERE token_hash IN (
			SELECT t.token_hash FROM sessions s JOIN refresh_tokens t ON t.session_id = s.id
			WHERE s.revoked_at < ? OR s.expires_at < ?
			LIMIT ?)`,
		cutoff, cutoff, limit)
	if err == nil {
		tokens, err = res.RowsAffected()
	}
	if err != nil {
		return 0, 0, dbError("delete ended sessions", err)
	}
	if tokens >= int64(limit) {
		return 0, tokens, nil
	}
	// Fewer than limit: no ended session has a token left, so the cascade
	// to refresh_tokens deletes nothing. (Asking that of each session with
	// NOT EXISTS would let the planner hash the whole token table.)
	res, err = db.db.ExecContext(ctx, `
		DELETE FROM sessions WHERE id IN (
			SELECT s.id FROM sessions s
			WHERE s.revoked_at < ? OR s.expires_at < ?
			LIMIT ?)`,
		cutoff, cutoff, int64(limit)-tokens)
	if err == nil {
		sessions, err = res.RowsAffected()
	}
	if err != nil {
		return 0, tokens, dbError("delete ended sessions", err)
	}
	return sessions, tokens, nil
}
