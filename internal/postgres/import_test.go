package postgres_test

import (
	"testing"

	"github.com/talentforge/authd/internal/auth/authtest"
)

// AUTH_TEST_POSTGRES_URL=… go test -run '^$' -bench ImportUsers ./internal/postgres
func BenchmarkImportUsers(b *testing.B) {
	db, _ := mustOpen(b)
	authtest.BenchmarkImportUsers(b, db)
}
