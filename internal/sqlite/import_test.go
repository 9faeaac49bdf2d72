package sqlite_test

import (
	"testing"

	"github.com/talentforge/authd/internal/auth/authtest"
)

// go test -run '^$' -bench ImportUsers ./internal/sqlite
func BenchmarkImportUsers(b *testing.B) { authtest.BenchmarkImportUsers(b, mustOpen(b)) }
