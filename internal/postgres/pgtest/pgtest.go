package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// URL returns a connection string for a fresh, empty schema on the server
// named by AUTH_TEST_POSTGRES_URL. Every connection made with it has that
// schema alone on its search_path, so tables, including goose's version table,
// are created there. The schema is dropped with everything in it when tb
// finishes; cleanups run last-in-first-out, so a pool opened after calling URL
// and closed in its own tb.Cleanup is closed before the schema is dropped.
//
// Without AUTH_TEST_POSTGRES_URL the test is skipped, or fails when
// AUTH_TEST_REQUIRE_SERVERS=1 (CI sets it so that no test is silently lost).
func URL(tb testing.TB) string {
	tb.Helper()
	base := os.Getenv("AUTH_TEST_POSTGRES_URL")
	if base == "" {
		if os.Getenv("AUTH_TEST_REQUIRE_SERVERS") == "1" {
			tb.Fatal("AUTH_TEST_POSTGRES_URL is not set and AUTH_TEST_REQUIRE_SERVERS=1")
		}
		tb.Skip("set AUTH_TEST_POSTGRES_URL to run PostgreSQL tests")
	}

	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		tb.Fatal(err)
	}
	schema := "t_" + hex.EncodeToString(b[:])
	exec(tb, base, "CREATE SCHEMA "+pgx.Identifier{schema}.Sanitize())
	tb.Cleanup(func() {
		exec(tb, base, "DROP SCHEMA IF EXISTS "+pgx.Identifier{schema}.Sanitize()+" CASCADE")
	})
	return withSearchPath(tb, base, schema)
}

// exec runs one statement on its own connection. It doesn't use the test's
// context: cleanups run after that context is cancelled.
func exec(tb testing.TB, connString, sql string) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, connString)
	if err != nil {
		tb.Fatalf("pgtest: connect to AUTH_TEST_POSTGRES_URL: %v", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, sql); err != nil {
		tb.Fatalf("pgtest: %s: %v", sql, err)
	}
}

// withSearchPath adds search_path=schema to a URL or keyword/value connection
// string; pgx sends unknown parameters to the server as run-time parameters.
func withSearchPath(tb testing.TB, connString, schema string) string {
	tb.Helper()
	if strings.HasPrefix(connString, "postgres://") || strings.HasPrefix(connString, "postgresql://") {
		u, err := url.Parse(connString)
		if err != nil {
			tb.Fatalf("pgtest: AUTH_TEST_POSTGRES_URL: %v", err)
		}
		q := u.Query()
		q.Set("search_path", schema)
		u.RawQuery = q.Encode()
		return u.String()
	}
	return connString + " search_path=" + schema
}
