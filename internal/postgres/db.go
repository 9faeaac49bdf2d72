package postgres

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/talentforge/authd/internal/auth"
	"github.com/talentforge/authd/internal/token"
)

var (
	_ auth.Store     = (*DB)(nil)
	_ token.KeyStore = (*DB)(nil)
)

// DB is a pool of connections to one PostgreSQL database. It is safe for
// concurrent use.
type DB struct {
	pool *pgxpool.Pool
	now  func() time.Time // replaces the server's clock; see WithClock
}

// Option configures Open.
type Option func(*DB)

// WithClock replaces the database server's clock, which decides for how
// long a retired refresh token's successor stays available (see
// RotateRefreshToken), with now: for tests that move time. Without it the
// server's now() decides, one clock for every replica.
func WithClock(now func() time.Time) Option {
	return func(db *DB) { db.now = now }
}

// clock is the argument of the "COALESCE($n::timestamptz, now())" that
// stands for the database's clock in SQL: NULL, so that the server's clock
// decides, unless WithClock replaced it.
func (db *DB) clock() *time.Time {
	if db.now == nil {
		return nil
	}
	t := db.now()
	return &t
}

// Open connects to the database named by url (a postgres:// URL or a
// keyword/value string; pool_* parameters tune the pool, and any other
// run-time parameter such as search_path is set on every connection) and
// checks that it answers. It does not migrate: call MigrateUp.
func Open(ctx context.Context, url string, opts ...Option) (*DB, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		// pgconn redacts the password from the URL it quotes.
		return nil, fmt.Errorf("postgres: open: %w", err)
	}
	if !strings.Contains(url, "pool_max_conns") {
		// pgxpool's default, max(4, NumCPU), keeps most requests waiting for
		// a connection while others wait for their commit's fsync: the
		// server does better with more statements in flight (group commit).
		// pool_max_conns in the URL overrides this.
		cfg.MaxConns = int32(max(16, 4*runtime.NumCPU()))
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: open: %w", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("postgres: open: %w", err)
	}
	db := &DB{pool: pool}
	for _, o := range opts {
		o(db)
	}
	return db, nil
}

// Close waits for borrowed connections to be returned and closes the pool.
// It returns nil; the error is there so that both backends close alike.
func (db *DB) Close() error {
	db.pool.Close()
	return nil
}

// Ping reports whether the database answers.
func (db *DB) Ping(ctx context.Context) error {
	if err := db.pool.Ping(ctx); err != nil {
		return fmt.Errorf("postgres: ping: %w", err)
	}
	return nil
}

// nullTime stores the zero time (the domain's "never") as NULL.
func nullTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

// fromNullTime returns the zero time for NULL. pgx returns times in the local
// zone; the domain works in UTC.
func fromNullTime(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return t.UTC()
}

// Constraint-violation SQLSTATEs.
const (
	uniqueViolation     = "23505"
	foreignKeyViolation = "23503"
	checkViolation      = "23514"
)

// violation returns the SQLSTATE and constraint name of a constraint
// violation, or "" for any other error.
func violation(err error) (state, constraint string) {
	var e *pgconn.PgError
	if errors.As(err, &e) && e.Code[:2] == "23" {
		return e.Code, e.ConstraintName
	}
	return "", ""
}

// oneRow turns the result of a single-row write into nil, ENotFound with msg
// when no row matched, or a wrapped driver error.
func oneRow(tag pgconn.CommandTag, err error, op, msg string) error {
	if err != nil {
		return fmt.Errorf("postgres: %s: %w", op, err)
	}
	if tag.RowsAffected() == 0 {
		return auth.Errorf(auth.ENotFound, "%s", msg)
	}
	return nil
}

// querier is what a pool and a transaction have in common.
type querier interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

var (
	_ querier = (*pgxpool.Pool)(nil)
	_ querier = (pgx.Tx)(nil)
)

// inTx runs fn in a READ COMMITTED transaction, committing if fn returns nil.
func (db *DB) inTx(ctx context.Context, fn func(tx pgx.Tx) error) error {
	return pgx.BeginFunc(ctx, db.pool, fn)
}

// nullBytes turns an empty bytea back into nil, so that a value that was never
// set reads back the way the domain wrote it.
func nullBytes(b []byte) []byte {
	if len(b) == 0 {
		return nil
	}
	return b
}

// nonNil returns s, or an empty slice for nil: pgx writes a nil slice as
// NULL, which a NOT NULL column refuses.
func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
