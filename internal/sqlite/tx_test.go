package sqlite

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/talentforge/authd/internal/auth"
)

// TestTxPanic: a panic in a unit of work's fn (the domain's code) rolls the
// transaction back and lets go of its connection and the write lock, so the
// next call neither waits for them nor sees what was written before the
// panic.
func TestTxPanic(t *testing.T) {
	ctx := context.Background()
	db, err := Open(ctx, filepath.Join(t.TempDir(), "authd.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.MigrateUp(ctx); err != nil {
		t.Fatal(err)
	}
	// With one connection, a transaction left open blocks every later call
	// until the context below expires.
	db.db.SetMaxOpenConns(1)
	u := newTestUser("a@example.com")

	func() {
		defer func() {
			if recover() == nil {
				t.Error("InUserTx returned instead of passing on fn's panic")
			}
		}()
		_ = db.InUserTx(ctx, u.ID, func(tx auth.UserTx) error {
			if err := tx.CreateUser(ctx, u); err != nil {
				return err
			}
			panic("fn fails")
		})
	}()

	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if _, err := db.User(ctx, u.ID); !errors.Is(err, auth.ErrUserNotFound) {
		t.Errorf("User after the panic: %v, want ErrUserNotFound (the insert rolled back)", err)
	}
	if err := insertUser(ctx, db, u); err != nil {
		t.Errorf("CreateUser after the panic: %v", err)
	}
}
