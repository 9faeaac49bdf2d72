package main

import (
	"path/filepath"
	"testing"

	"github.com/talentforge/authd/internal/postgres/pgtest"
	"github.com/talentforge/authd/internal/redisconn/redistest"
)

// backends are the deployments the end-to-end tests run on: the embedded
// default, and PostgreSQL with Redis as production runs it.
var backends = []string{"sqlite", "postgres"}

// backendVars returns the AUTH_* variables of an authd over a fresh
// database of backend: SQLite in a data directory of its own, or a migrated
// PostgreSQL schema of its own with Redis (under a key prefix of the
// test's). Password hashing is cheap: these tests are about something
// else than argon2id. extra is added on top, before the migration.
func backendVars(t *testing.T, backend string, extra map[string]string) map[string]string {
	t.Helper()
	vars := map[string]string{
		"AUTH_ARGON2_MEMORY_KIB": "64",
		"AUTH_ARGON2_ITERATIONS": "1",
	}
	for k, v := range extra {
		vars[k] = v
	}
	switch backend {
	case "sqlite":
		vars["AUTH_DATA_DIR"] = filepath.Join(t.TempDir(), "data")
	case "postgres":
		redisURL := redistest.URL(t)
		vars["AUTH_DATABASE_URL"] = pgtest.URL(t)
		vars["AUTH_SECRET_KEY"] = "0123456789abcdef0123456789abcdef-e2e-" + backend
		vars["AUTH_REDIS_URL"] = redisURL
		vars["AUTH_REDIS_KEY_PREFIX"] = redistest.Prefix(t, redisURL)
		if out, err := cli(t, vars, "", "migrate", "up"); err != nil {
			t.Fatalf("migrate: %v\n%s", err, out)
		}
	default:
		t.Fatalf("unknown backend %q", backend)
	}
	return vars
}
