package sqlite

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/talentforge/authd/internal/auth"
	"github.com/talentforge/authd/internal/auth/authtest"
)

func newTestUser(email string) *auth.User {
	now := time.Now().UTC().Truncate(time.Second)
	return &auth.User{ID: uuid.NewString(), Email: email, PasswordHash: "x",
		Status: auth.StatusActive, CreatedAt: now, UpdatedAt: now}
}

// insertUser creates u through the write path the domain takes: a unit of
// work on u's rows.
func insertUser(ctx context.Context, db *DB, u *auth.User) error {
	return db.InUserTx(ctx, u.ID, func(tx auth.UserTx) error { return tx.CreateUser(ctx, u) })
}

// TestDatabaseLocked: while another process holds the write lock past the
// busy timeout (a long transaction of a CLI, a backup), writes answer
// EUnavailable instead of an internal error, and succeed once it lets go.
func TestDatabaseLocked(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "authd.db")
	db, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.MigrateUp(ctx); err != nil {
		t.Fatal(err)
	}
	// One connection with no busy wait stands for a lock held longer than
	// the 10 s the pool waits, without the test waiting for it.
	db.db.SetMaxOpenConns(1)
	if _, err := db.db.ExecContext(ctx, "PRAGMA busy_timeout = 0"); err != nil {
		t.Fatal(err)
	}
	u := newTestUser("a@example.com")
	if err := insertUser(ctx, db, u); err != nil {
		t.Fatal(err)
	}

	other, err := sql.Open("sqlite", path+"?_txlock=immediate")
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	tx, err := other.BeginTx(ctx, nil) // BEGIN IMMEDIATE: takes the write lock
	if err != nil {
		t.Fatal(err)
	}
	authtest.WantUnavailable(t, "CreateUser", insertUser(ctx, db, newTestUser("b@example.com")))
	role := &auth.Role{Name: "auditor", CreatedAt: u.CreatedAt, UpdatedAt: u.CreatedAt}
	authtest.WantUnavailable(t, "CreateRole", db.InGlobalTx(ctx, func(tx auth.GlobalTx) error { return tx.CreateRole(ctx, role) }))
	authtest.WantUnavailable(t, "UpgradePasswordHash", db.UpgradePasswordHash(ctx, u.ID, u.PasswordHash, "y"))
	authtest.WantUnavailable(t, "DeleteEventsBefore", func() error { _, err := db.DeleteEventsBefore(ctx, time.Now()); return err }())
	authtest.WantUnavailable(t, "ClaimMail", func() error { _, err := db.ClaimMail(ctx, time.Now(), time.Now(), 10); return err }())
	authtest.WantUnavailable(t, "RetryMail", db.RetryMail(ctx, u.ID, uuid.NewString(), time.Now(), "x"))
	authtest.WantUnavailable(t, "DeleteExpiredOneTimeTokens", func() error {
		_, err := db.DeleteExpiredOneTimeTokens(ctx, time.Now(), 10)
		return err
	}())
	// In WAL mode readers don't wait for the writer.
	if _, err := db.User(ctx, u.ID); err != nil {
		t.Errorf("User while another process writes: %v", err)
	}

	if err := tx.Rollback(); err != nil {
		t.Fatal(err)
	}
	if err := insertUser(ctx, db, newTestUser("b@example.com")); err != nil {
		t.Errorf("CreateUser once the lock is released: %v", err)
	}
}

// TestDatabaseUnopenable: when the database's directory goes away (an
// unmounted volume), a call that needs a new connection answers
// EUnavailable.
func TestDatabaseUnopenable(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "data")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	db, err := Open(ctx, filepath.Join(dir, "authd.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.MigrateUp(ctx); err != nil {
		t.Fatal(err)
	}
	db.db.SetMaxIdleConns(0) // every call opens the file anew
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	_, err = db.User(ctx, uuid.NewString())
	authtest.WantUnavailable(t, "User", err)
	authtest.WantUnavailable(t, "CreateUser", insertUser(ctx, db, newTestUser("a@example.com")))
}
