package postgres

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"runtime"
	"strings"
	"sync/atomic"
	"time"

	"github.com/exaring/otelpgx"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/multitracer"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"go.opentelemetry.io/otel/trace"

	"github.com/talentforge/authd/internal/auth"
	"github.com/talentforge/authd/internal/token"
)

var (
	_ auth.Store     = (*DB)(nil)
	_ token.KeyStore = (*DB)(nil)
)

// DB is a pool of connections to one PostgreSQL database. It is safe for
// concurrent use.
//
// Every method that needs the database returns EUnavailable, with a
// RetryAfter, when it can't be reached: the server refuses connections, is
// shutting down or starting up, cut the connection, has no connection slot
// left, or did not answer before the context's deadline. The pool reconnects
// by itself once the server is back.
type DB struct {
	pool *pgxpool.Pool
	now  func() time.Time // replaces the server's clock; see WithClock
	// tracerProvider makes a span per query; see WithTracerProvider.
	tracerProvider trace.TracerProvider
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

// WithTracerProvider makes a span per query, batch, prepare and connect
// with tp, child of the span of the context the query runs under. The spans
// carry the SQL text, whose values are always placeholders, never the
// arguments.
func WithTracerProvider(tp trace.TracerProvider) Option {
	return func(db *DB) { db.tracerProvider = tp }
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
	db := &DB{}
	for _, o := range opts {
		o(db)
	}
	reset := &resetOnLoss{}
	cfg.ConnConfig.Tracer = reset
	if db.tracerProvider != nil {
		ot := otelpgx.NewTracer(
			otelpgx.WithTracerProvider(db.tracerProvider),
			// The pool's own acquire spans would double every query's.
			otelpgx.WithDisableAcquireTracer(),
			otelpgx.WithTrimSQLInSpanName(),
		)
		cfg.ConnConfig.Tracer = multitracer.New(reset, ot)
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: open: %w", err)
	}
	reset.pool.Store(pool)
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("postgres: open: %w", err)
	}
	db.pool = pool
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

// oneRow turns the result of a single-row write into nil, none when no row
// matched, or a wrapped driver error.
func oneRow(tag pgconn.CommandTag, err error, op string, none *auth.Error) error {
	if err != nil {
		return dbError(op, err)
	}
	if tag.RowsAffected() == 0 {
		return none
	}
	return nil
}

// unavailableRetryAfter is the retry hint of EUnavailable: about what a
// server restart or a failover takes.
const unavailableRetryAfter = 5 * time.Second

// dbError wraps err, a failure of op, for the logs. When err means that the
// database can't be reached now it is EUnavailable, whose client-facing
// message says nothing of the driver; otherwise it stays a plain (internal)
// error, or keeps the code of the *auth.Error it already carries.
func dbError(op string, err error) error {
	wrapped := fmt.Errorf("postgres: %s: %w", op, err)
	if auth.ErrorCode(err) == auth.EInternal && unreachable(err) {
		return auth.Unavailable(unavailableRetryAfter, wrapped)
	}
	return wrapped
}

// unreachable reports whether err means that the database can't serve us now
// but may shortly: an error of the server's (SQLSTATE class 08, connection
// exception; 57P01-57P03, shutting down, crashed or starting up; 53300, no
// connection slot left), a connection that could not be made or was cut, or
// a deadline that passed waiting for it (a pool acquire, a connect, a slow
// answer). Every other server error, wrong credentials and a missing
// database included, is a fault of ours, not an outage.
func unreachable(err error) bool {
	if errors.Is(err, context.Canceled) {
		return false // the caller gave up; that says nothing of the database
	}
	var pg *pgconn.PgError
	if errors.As(err, &pg) {
		switch pg.Code {
		case "57P01", "57P02", "57P03", "53300":
			return true
		}
		return strings.HasPrefix(pg.Code, "08")
	}
	var ce *pgconn.ConnectError
	return errors.As(err, &ce) || connectionLost(err) ||
		errors.Is(err, context.DeadlineExceeded) || pgconn.Timeout(err)
}

// connectionLost reports whether err means that an established connection
// was cut: the server went away (or told us it is going) or the network
// failed, so that the pool's other connections have likely gone with it.
func connectionLost(err error) bool {
	var pg *pgconn.PgError
	if errors.As(err, &pg) {
		return pg.Code == "57P01" || pg.Code == "57P02" || strings.HasPrefix(pg.Code, "08")
	}
	var ne net.Error
	return errors.Is(err, pgconn.ErrConnClosed) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, io.EOF) || (errors.As(err, &ne) && !ne.Timeout())
}

// resetOnLoss is the pool's query tracer: when a statement finds its
// connection cut, it resets the pool (pgxpool's Reset, made for this). The
// pool pings only connections idle for over a second before handing them
// out, so without it each of the other connections to the dead server would
// fail one more request, after the server is back too.
type resetOnLoss struct {
	pool atomic.Pointer[pgxpool.Pool]
}

func (r *resetOnLoss) TraceQueryStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceQueryStartData) context.Context {
	return ctx
}

func (r *resetOnLoss) TraceQueryEnd(_ context.Context, _ *pgx.Conn, data pgx.TraceQueryEndData) {
	if data.Err != nil && connectionLost(data.Err) {
		if p := r.pool.Load(); p != nil {
			p.Reset()
		}
	}
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
// An error of fn's is returned as it is: it is translated already, or it is
// the caller's of a unit of work, for the caller to recognise. A failure of
// BEGIN or COMMIT is translated here.
func (db *DB) inTx(ctx context.Context, fn func(tx pgx.Tx) error) error {
	var fnErr error
	err := pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		fnErr = fn(tx)
		return fnErr
	})
	if fnErr == nil && auth.ErrorCode(err) == auth.EInternal && unreachable(err) {
		return dbError("transaction", err)
	}
	return err
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
