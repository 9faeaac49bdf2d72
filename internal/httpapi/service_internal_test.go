package httpapi

import (
	"testing"

	"github.com/talentforge/authd/internal/auth"
	"github.com/talentforge/authd/internal/auth/authtest"
	"github.com/talentforge/authd/internal/token"
	"github.com/talentforge/authd/internal/wiringtest"
)

// newTestService returns a service wired as w on a fresh store, with its
// token manager and the store.
func newTestService(t testing.TB, w wiringtest.Wiring) (*auth.Service, *token.Manager, wiringtest.Store) {
	t.Helper()
	db := w.Open(t, nil)
	svc, tokens := authtest.NewService(t, db, w.Options(t, authtest.Options{}))
	return svc, tokens, db
}
