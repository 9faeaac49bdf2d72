package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"
	"time"

	"modernc.org/sqlite" // registers the "sqlite" database/sql driver
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/talentforge/authd/internal/auth"
	"github.com/talentforge/authd/internal/token"
)

var (
	_ auth.Store     = (*DB)(nil)
	_ token.KeyStore = (*DB)(nil)
	_ auth.UserTx    = (*userTx)(nil)
	_ auth.GlobalTx  = (*globalTx)(nil)
)

// DB is an open SQLite database. It is safe for concurrent use.
//
// Every method that needs the database returns EUnavailable, with a
// RetryAfter, when the file can't be used for now: another connection or
// process holds the lock it needs past the busy timeout, or the file can't
// be opened (its directory or volume is gone).
type DB struct {
	db  *sql.DB
	now func() time.Time // the database's clock; see WithClock
}

// Option configures Open.
type Option func(*DB)

// WithClock replaces the database's clock, which decides for how long a
// retired refresh token's successor stays available (see
// RotateRefreshToken), with now: for tests that move time. Without it the
// clock is the system's, which every user of an embedded database shares.
func WithClock(now func() time.Time) Option {
	return func(db *DB) { db.now = now }
}

// Open opens (creating if missing) the SQLite database file at path; the
// directory must exist. It does not migrate: call MigrateUp. The connection
// runs in WAL mode with foreign keys on, waits up to 10 s for a lock instead of
// failing with SQLITE_BUSY, and starts every transaction with BEGIN IMMEDIATE,
// so that a transaction that will write holds the write lock from its first
// statement and can't deadlock upgrading a read lock. path must name a file (not
// ":memory:", which would give every pooled connection its own database) and
// must not contain '?'.
func Open(ctx context.Context, path string, opts ...Option) (*DB, error) {
	if path == "" || path == ":memory:" || strings.Contains(path, "?") {
		return nil, fmt.Errorf("sqlite: open %q: path must name a file and not contain '?'", path)
	}
	// The file holds password hashes and sealed keys: create it private.
	// SQLite gives the -wal and -shm files the same mode.
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %q: %w", path, err)
	}
	f.Close()
	q := url.Values{}
	q.Set("_busy_timeout", "10000")
	q.Set("_journal_mode", "WAL")
	q.Set("_foreign_keys", "1")
	// NORMAL is durable in WAL mode except for the last transactions before a
	// power loss, and avoids an fsync per commit.
	q.Set("_synchronous", "NORMAL")
	q.Set("_txlock", "immediate")
	db, err := sql.Open("sqlite", path+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %q: %w", path, err)
	}
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("sqlite: open %q: %w", path, err)
	}
	d := &DB{db: db, now: time.Now}
	for _, o := range opts {
		o(d)
	}
	return d, nil
}

// Close waits for the calls in flight and closes the database; later calls fail.
func (db *DB) Close() error {
	return db.db.Close()
}

// Ping reports whether the database file can be read.
func (db *DB) Ping(ctx context.Context) error {
	// A query, not PingContext: the driver's ping doesn't touch the file.
	var n int
	if err := db.db.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_schema`).Scan(&n); err != nil {
		return fmt.Errorf("sqlite: ping: %w", err)
	}
	return nil
}

// inTx runs fn in a write transaction, committing if fn returns nil. fn's
// errors are returned as they are; BEGIN's (where a write waits for the
// lock) and COMMIT's are translated.
func (db *DB) inTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := db.db.BeginTx(ctx, nil)
	if err != nil {
		return dbError("begin", err)
	}
	// Deferred, so that a panic in fn (the domain's code, in a unit of work)
	// rolls back too: a transaction left open would keep its connection and
	// the write lock, and every later write would wait for them in vain.
	// After Commit it does nothing.
	defer tx.Rollback()
	if err := fn(tx); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return dbError("commit", err)
	}
	return nil
}

// inReadTx runs fn in a read-only transaction, so that its statements read
// one snapshot. It begins DEFERRED (not IMMEDIATE), so it takes no write lock.
func (db *DB) inReadTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := db.db.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return dbError("begin", err)
	}
	defer tx.Rollback()
	if err := fn(tx); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return dbError("commit", err)
	}
	return nil
}

// unavailableRetryAfter is the retry hint of EUnavailable.
const unavailableRetryAfter = 5 * time.Second

// dbError wraps err, a failure of op, for the logs. When err means that the
// database can't be used now it is EUnavailable, whose client-facing message
// says nothing of the driver; otherwise it stays a plain (internal) error, or
// keeps the code of the *auth.Error it already carries.
func dbError(op string, err error) error {
	wrapped := fmt.Errorf("sqlite: %s: %w", op, err)
	if auth.ErrorCode(err) == auth.EInternal && unavailable(err) {
		return auth.Unavailable(unavailableRetryAfter, wrapped)
	}
	return wrapped
}

// unavailable reports whether err means that the database file can't be
// used now but may be shortly: a lock still held by another connection or
// process when the busy timeout ran out (SQLITE_BUSY, SQLITE_LOCKED), or a
// file that can't be opened (SQLITE_CANTOPEN).
func unavailable(err error) bool {
	switch errCode(err) & 0xff { // the primary code of an extended one
	case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED, sqlite3.SQLITE_CANTOPEN:
		return true
	}
	return false
}

// execer is a transaction, or the database for a single statement: what the
// write helpers (insertEvent, revokeSessions) run on.
type execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// timeLayout is fixed-width so that the text order of stored times is their
// chronological order, which the expires_at comparisons rely on.
const timeLayout = "2006-01-02T15:04:05.000000Z"

func formatTime(t time.Time) string {
	return t.UTC().Format(timeLayout)
}

// formatNullTime stores the zero time (the domain's "never") as NULL.
func formatNullTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return formatTime(t)
}

func parseTime(s string) (time.Time, error) {
	t, err := time.Parse(timeLayout, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("sqlite: bad stored time %q: %w", s, err)
	}
	return t, nil
}

func parseNullTime(s sql.NullString) (time.Time, error) {
	if !s.Valid {
		return time.Time{}, nil
	}
	return parseTime(s.String)
}

// errCode returns the extended SQLite result code of err, or 0.
func errCode(err error) int {
	var e *sqlite.Error
	if errors.As(err, &e) {
		return e.Code()
	}
	return 0
}

func isUnique(err error) bool {
	c := errCode(err)
	return c == sqlite3.SQLITE_CONSTRAINT_UNIQUE || c == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
}

func isForeignKey(err error) bool {
	return errCode(err) == sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY
}

func isCheck(err error) bool {
	return errCode(err) == sqlite3.SQLITE_CONSTRAINT_CHECK
}

// nullBytes turns an empty blob back into nil, so that a value that was never
// set reads back the way the domain wrote it.
func nullBytes(b []byte) []byte {
	if len(b) == 0 {
		return nil
	}
	return b
}

// nonNilBytes turns nil into an empty blob, for NOT NULL blob columns.
func nonNilBytes(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

// where builds the WHERE clause of a list query from the filters that are
// set. Building it, rather than writing every condition so that it holds
// when its filter is empty, leaves the planner only real conditions: a
// keyset bound like "id > ?" then seeks in the index instead of filtering
// from its start.
type where struct {
	conds []string
	args  []any
}

// add adds a condition and the arguments of its placeholders.
func (w *where) add(cond string, args ...any) {
	w.conds = append(w.conds, cond)
	w.args = append(w.args, args...)
}

// String returns the conditions joined with AND, or TRUE when there are none.
func (w *where) String() string {
	if len(w.conds) == 0 {
		return "TRUE"
	}
	return strings.Join(w.conds, " AND ")
}
