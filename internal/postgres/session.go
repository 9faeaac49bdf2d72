package postgres

import (
	"context"
	"errors"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/talentforge/authd/internal/auth"
)

// CreateSession inserts s and its first refresh token and sets the user's
// LastLoginAt to s.CreatedAt, if the user's PasswordVersion still equals
// passwordVersion. Returns ENotFound if the user does not exist, EInvalid if
// s belongs to another user than the transaction's, first does not belong
// to s or an id is not a canonical UUID, and EConflict if the password
// changed since passwordVersion or the session id or token hash is taken.
func (t *userTx) CreateSession(ctx context.Context, s *auth.Session, first *auth.RefreshToken, passwordVersion int64) error {
	if err := s.CheckNew(first); err != nil {
		return err
	}
	if s.UserID != t.userID {
		return auth.ErrOtherUser
	}
	// Updating the user first also locks its row until commit, so neither a
	// concurrent DeleteUser nor a ChangePassword (which ends every session
	// it sees) can slip in before the session is inserted.
	tag, err := t.tx.Exec(ctx, `
		UPDATE users SET last_login_at = $2
		WHERE id = $1 AND password_version = $3`,
		s.UserID, s.CreatedAt, passwordVersion)
	if err := changedRow(ctx, t.tx, tag, err, "create session", s.UserID); err != nil {
		return err
	}
	_, err = t.tx.Exec(ctx, `
		INSERT INTO sessions (id, user_id, created_at, last_seen_at, expires_at, revoked_at,
		                      ip, user_agent, refresh_generation)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
		s.ID, s.UserID, s.CreatedAt, s.LastSeenAt, s.ExpiresAt, nullTime(s.RevokedAt),
		s.IP, s.UserAgent, s.RefreshGeneration)
	switch state, _ := violation(err); {
	case state == uniqueViolation:
		return auth.ErrExists
	case state == foreignKeyViolation:
		return auth.ErrUserNotFound
	case err != nil:
		return dbError("create session", err)
	}
	return insertRefreshToken(ctx, t.tx, first)
}

func insertRefreshToken(ctx context.Context, tx pgx.Tx, t *auth.RefreshToken) error {
	_, err := tx.Exec(ctx, `
		INSERT INTO refresh_tokens (token_hash, user_id, session_id, generation, created_at,
		                            expires_at, rotated_at, successor)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
		t.Hash, t.UserID, t.SessionID, t.Generation, t.CreatedAt, t.ExpiresAt,
		nullTime(t.RotatedAt), nullBytes(t.Successor))
	switch state, _ := violation(err); {
	case state == uniqueViolation:
		return auth.ErrExists
	case state == foreignKeyViolation:
		return auth.ErrSessionNotFound
	case err != nil:
		return dbError("insert refresh token", err)
	}
	return nil
}

// sessionColumns is the select list of sessions s.
const sessionColumns = `s.id, s.user_id, s.created_at, s.last_seen_at, s.expires_at,
	s.revoked_at, s.ip, s.user_agent, s.refresh_generation`

// sessionRow receives one row of sessionColumns.
type sessionRow struct {
	s       auth.Session
	revoked *time.Time
}

func (r *sessionRow) dest() []any {
	return []any{&r.s.ID, &r.s.UserID, &r.s.CreatedAt, &r.s.LastSeenAt, &r.s.ExpiresAt, &r.revoked,
		&r.s.IP, &r.s.UserAgent, &r.s.RefreshGeneration}
}

func (r *sessionRow) session() *auth.Session {
	s := r.s
	s.CreatedAt, s.LastSeenAt, s.ExpiresAt = s.CreatedAt.UTC(), s.LastSeenAt.UTC(), s.ExpiresAt.UTC()
	s.RevokedAt = fromNullTime(r.revoked)
	return &s
}

func scanSession(row pgx.Row) (*auth.Session, error) {
	var r sessionRow
	err := row.Scan(r.dest()...)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, auth.ErrSessionNotFound
	}
	if err != nil {
		return nil, err
	}
	return r.session(), nil
}

// Session returns the user's session, revoked or not, or ENotFound (also when
// the session belongs to another user).
func (db *DB) Session(ctx context.Context, userID, sessionID string) (*auth.Session, error) {
	if !auth.ValidID(userID) || !auth.ValidID(sessionID) {
		return nil, auth.ErrSessionNotFound
	}
	s, err := scanSession(db.pool.QueryRow(ctx,
		`SELECT `+sessionColumns+` FROM sessions s WHERE s.user_id = $1 AND s.id = $2`, userID, sessionID))
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
		s sessionRow
		u userRow
	)
	err := db.pool.QueryRow(ctx, `
		SELECT `+sessionColumns+`, `+userColumns+`
		FROM sessions s JOIN users u ON u.id = s.user_id
		WHERE s.user_id = $1 AND s.id = $2`,
		userID, sessionID).Scan(slices.Concat(s.dest(), u.dest())...)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil, notFound
	}
	if err != nil {
		return nil, nil, dbError("session with user", err)
	}
	return s.session(), u.user(), nil
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
	w.add("s.user_id = %s", f.UserID)
	w.add("s.revoked_at IS NULL AND s.expires_at > %s", f.ActiveAt)
	if !f.CreatedAfter.IsZero() {
		w.add("s.created_at > %s", f.CreatedAfter)
	}
	if !f.SeenAfter.IsZero() {
		w.add("s.last_seen_at > %s", f.SeenAfter)
	}
	if f.Before != "" {
		w.add("s.id < %s", f.Before)
	}
	rows, err := db.pool.Query(ctx, `
		SELECT `+sessionColumns+` FROM sessions s WHERE `+w.String()+`
		ORDER BY s.id DESC LIMIT `+w.arg(f.Limit), w.args...)
	if err != nil {
		return nil, dbError("list sessions", err)
	}
	list, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (*auth.Session, error) {
		return scanSession(row)
	})
	if err != nil {
		return nil, dbError("list sessions", err)
	}
	return list, nil
}

// RevokeSession marks one unrevoked session of the user revoked at at.
// Returns ENotFound if the user has no such unrevoked session.
func (t *userTx) RevokeSession(ctx context.Context, sessionID string, at time.Time) error {
	if !auth.ValidID(sessionID) {
		return auth.ErrSessionNotFound
	}
	tag, err := t.tx.Exec(ctx, `
		UPDATE sessions SET revoked_at = $3
		WHERE user_id = $1 AND id = $2 AND revoked_at IS NULL`,
		t.userID, sessionID, at)
	return oneRow(tag, err, "revoke session", auth.ErrSessionNotFound)
}

// RevokeSessions marks every unrevoked session of the user revoked at at,
// except exceptSessionID when it is not empty. Sessions revoked earlier keep
// their RevokedAt. Having none to revoke (an unknown user has none) is no
// error, so that a sign-out everywhere is audited even when nothing was left
// to end.
func (t *userTx) RevokeSessions(ctx context.Context, exceptSessionID string, at time.Time) error {
	if err := revokeSessions(ctx, t.tx, t.userID, exceptSessionID, at); err != nil {
		return dbError("revoke sessions", err)
	}
	return nil
}

func revokeSessions(ctx context.Context, q querier, userID, exceptSessionID string, at time.Time) error {
	// A malformed except id can't name a session, so it excepts none, as an
	// empty one does.
	var except *string
	if auth.ValidID(exceptSessionID) {
		except = &exceptSessionID
	}
	_, err := q.Exec(ctx, `
		UPDATE sessions SET revoked_at = $2
		WHERE user_id = $1 AND revoked_at IS NULL AND ($3::uuid IS NULL OR id <> $3::uuid)`,
		userID, at, except)
	return err
}

// refreshTokenColumns is the select list of refresh_tokens t.
const refreshTokenColumns = `t.token_hash, t.user_id, t.session_id, t.generation,
	t.created_at, t.expires_at, t.rotated_at, t.successor, t.grace_until`

// tokenRow receives one row of refreshTokenColumns.
type tokenRow struct {
	t              auth.RefreshToken
	rotated, grace *time.Time
}

func (r *tokenRow) dest() []any {
	return []any{&r.t.Hash, &r.t.UserID, &r.t.SessionID, &r.t.Generation, &r.t.CreatedAt, &r.t.ExpiresAt,
		&r.rotated, &r.t.Successor, &r.grace}
}

func (r *tokenRow) token() *auth.RefreshToken {
	t := r.t
	t.CreatedAt, t.ExpiresAt = t.CreatedAt.UTC(), t.ExpiresAt.UTC()
	t.RotatedAt = fromNullTime(r.rotated)
	t.GraceUntil = fromNullTime(r.grace)
	t.Successor = nullBytes(t.Successor)
	return &t
}

func scanRefreshToken(row pgx.Row) (*auth.RefreshToken, error) {
	var r tokenRow
	err := row.Scan(r.dest()...)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, auth.ErrRefreshTokenNotFound
	}
	if err != nil {
		return nil, err
	}
	return r.token(), nil
}

// RefreshToken returns the user's refresh token with the given hash, or
// ENotFound (also when the token belongs to another user).
func (db *DB) RefreshToken(ctx context.Context, userID string, hash []byte) (*auth.RefreshToken, error) {
	if !auth.ValidID(userID) {
		return nil, auth.ErrRefreshTokenNotFound
	}
	t, err := scanRefreshToken(db.pool.QueryRow(ctx,
		`SELECT `+refreshTokenColumns+` FROM refresh_tokens t WHERE t.user_id = $1 AND t.token_hash = $2`,
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
		t         tokenRow
		s         sessionRow
		u         userRow
		successor []byte
	)
	err := db.pool.QueryRow(ctx, `
		SELECT `+refreshTokenColumns+`, `+sessionColumns+`, `+userColumns+`,
		       CASE WHEN t.grace_until >= COALESCE($3::timestamptz, now()) THEN t.successor END
		FROM refresh_tokens t
		JOIN sessions s ON s.id = t.session_id AND s.user_id = t.user_id
		JOIN users u ON u.id = t.user_id
		WHERE t.user_id = $1 AND t.token_hash = $2`,
		userID, hash, db.clock()).Scan(slices.Concat(t.dest(), s.dest(), u.dest(), []any{&successor})...)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil, nil, auth.ErrRefreshTokenNotFound
	}
	if err != nil {
		return nil, nil, nil, dbError("refresh state", err)
	}
	rt := t.token()
	rt.Successor = nullBytes(successor)
	return rt, s.session(), u.user(), nil
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
// continue old's family with a higher generation, and EConflict if next's
// hash or generation is taken.
func (db *DB) RotateRefreshToken(ctx context.Context, old *auth.RefreshToken, sealedSuccessor []byte, grace time.Duration, next *auth.RefreshToken, at time.Time) error {
	if err := old.CheckSuccessor(next); err != nil {
		return err
	}
	if !auth.ValidID(old.UserID) || !auth.ValidID(old.SessionID) {
		return auth.ErrStale
	}
	if grace <= 0 {
		sealedSuccessor = nil
	}
	// One statement, so one round trip and one implicit transaction. Its
	// parts share one snapshot and can't see each other's writes, so each
	// writes only when the part before it returned a row:
	//   - the compare-and-set on the session's generation elects the single
	//     winner: under READ COMMITTED a concurrent contender blocks on the
	//     row lock the winner's UPDATE holds, then re-checks the WHERE
	//     clause against the committed row, matches nothing, and loses. It
	//     also requires old to be the session's unrotated token, so that it
	//     advances nothing for a token that the next part would not retire;
	//   - the old token is retired only if the session moved; its grace
	//     deadline is taken from the database's clock;
	//   - the generation before old loses its successor, and next is
	//     inserted, only if the old token was retired. Clearing by the exact
	//     generation reads one row through the (session_id, generation) key;
	//     "every older generation" would walk the partial index's dead
	//     entries, which grow with each rotation of a long-lived session.
	// An error (a taken hash) rolls all of it back.
	tag, err := db.pool.Exec(ctx, `
		WITH moved AS (
			UPDATE sessions SET refresh_generation = $5, last_seen_at = $6, expires_at = $7
			WHERE user_id = $1 AND id = $3 AND refresh_generation = $4 AND revoked_at IS NULL
			  AND EXISTS (
				SELECT FROM refresh_tokens
				WHERE user_id = $1 AND token_hash = $2 AND session_id = $3 AND generation = $4
				  AND rotated_at IS NULL)
			RETURNING id
		), retired AS (
			UPDATE refresh_tokens SET rotated_at = $6, successor = $8,
				grace_until = CASE WHEN $8::bytea IS NOT NULL
					THEN COALESCE($13::timestamptz, now()) + $14::bigint * interval '1 microsecond' END
			WHERE user_id = $1 AND token_hash = $2 AND session_id = $3 AND generation = $4
			  AND rotated_at IS NULL
			  AND EXISTS (SELECT FROM moved)
			RETURNING session_id
		), cleared AS (
			UPDATE refresh_tokens SET successor = NULL, grace_until = NULL
			WHERE user_id = $1 AND session_id = $3 AND generation = $4 - 1 AND successor IS NOT NULL
			  AND EXISTS (SELECT FROM retired)
		)
		INSERT INTO refresh_tokens (token_hash, user_id, session_id, generation, created_at,
		                            expires_at, rotated_at, successor)
		SELECT $9, $1, session_id, $5, $10, $7, $11, $12 FROM retired`,
		old.UserID, old.Hash, old.SessionID, old.Generation,
		next.Generation, at, next.ExpiresAt, nullBytes(sealedSuccessor),
		next.Hash, next.CreatedAt, nullTime(next.RotatedAt), nullBytes(next.Successor),
		db.clock(), grace.Microseconds())
	switch state, _ := violation(err); {
	case state == uniqueViolation:
		return auth.ErrExists
	case state == foreignKeyViolation:
		return auth.ErrSessionNotFound
	case err != nil:
		return dbError("rotate refresh token", err)
	case tag.RowsAffected() == 0:
		return auth.ErrStale
	}
	return nil
}

// ClearStaleSuccessors clears Successor and GraceUntil of up to limit refresh
// tokens whose GraceUntil is before the database's clock, or that hold a
// successor without one, and returns how many it cleared.
func (db *DB) ClearStaleSuccessors(ctx context.Context, limit int) (int64, error) {
	tag, err := db.pool.Exec(ctx, `
		UPDATE refresh_tokens SET successor = NULL, grace_until = NULL
		WHERE token_hash IN (
			SELECT token_hash FROM refresh_tokens
			WHERE successor IS NOT NULL
			  AND (grace_until IS NULL OR grace_until < COALESCE($1::timestamptz, now()))
			LIMIT $2)`,
		db.clock(), limit)
	if err != nil {
		return 0, dbError("clear stale successors", err)
	}
	return tag.RowsAffected(), nil
}

// DeleteExpiredRefreshTokens deletes up to limit refresh tokens whose
// ExpiresAt is before before and returns how many it deleted.
func (db *DB) DeleteExpiredRefreshTokens(ctx context.Context, before time.Time, limit int) (int64, error) {
	tag, err := db.pool.Exec(ctx, `
		DELETE FROM refresh_tokens WHERE token_hash IN (
			SELECT token_hash FROM refresh_tokens WHERE expires_at < $1 LIMIT $2)`,
		before, limit)
	if err != nil {
		return 0, dbError("delete expired refresh tokens", err)
	}
	return tag.RowsAffected(), nil
}

// DeleteEndedSessions deletes, touching at most limit rows, the refresh
// tokens of sessions revoked or expired before before, then, once none is
// left, such sessions. It returns how many sessions and tokens it deleted.
func (db *DB) DeleteEndedSessions(ctx context.Context, before time.Time, limit int) (sessions, tokens int64, err error) {
	// Tokens first, in their own statement: a session's family can be long,
	// and a cascade from the sessions would delete it unbounded.
	tag, err := db.pool.Exec(ctx, `
		DELETE FROM refresh_tokens WHERE token_hash IN (
			SELECT t.token_hash FROM sessions s JOIN refresh_tokens t ON t.session_id = s.id
			WHERE s.revoked_at < $1 OR s.expires_at < $1
			LIMIT $2)`,
		before, limit)
	if err != nil {
		return 0, 0, dbError("delete ended sessions", err)
	}
	tokens = tag.RowsAffected()
	if tokens >= int64(limit) {
		return 0, tokens, nil
	}
	// Fewer than limit: no ended session has a token left, so the cascade
	// to refresh_tokens deletes nothing. (Asking that of each session with
	// NOT EXISTS would let the planner hash the whole token table.)
	tag, err = db.pool.Exec(ctx, `
		DELETE FROM sessions WHERE id IN (
			SELECT s.id FROM sessions s
			WHERE s.revoked_at < $1 OR s.expires_at < $1
			LIMIT $2)`,
		before, int64(limit)-tokens)
	if err != nil {
		return 0, tokens, dbError("delete ended sessions", err)
	}
	return tag.RowsAffected(), tokens, nil
}
