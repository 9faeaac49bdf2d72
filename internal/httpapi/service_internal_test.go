package httpapi

import (
	"path/filepath"
	"testing"

	"github.com/talentforge/authd/internal/auth"
	"github.com/talentforge/authd/internal/auth/authtest"
	"github.com/talentforge/authd/internal/sqlite"
	"github.com/talentforge/authd/internal/token"
)

// newTestService returns a service over a fresh SQLite database in a
// temporary directory, with its token manager and the database.
func newTestService(t testing.TB) (*auth.Service, *token.Manager, *sqlite.DB) {
	t.Helper()
	db, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "authd.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.MigrateUp(t.Context()); err != nil {
		t.Fatal(err)
	}
	svc, tokens := authtest.NewService(t, db, authtest.Options{})
	return svc, tokens, db
}
