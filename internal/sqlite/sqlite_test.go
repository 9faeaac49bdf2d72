package sqlite_test

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/talentforge/authd/internal/auth"
	"github.com/talentforge/authd/internal/auth/authtest"
	"github.com/talentforge/authd/internal/sqlite"
)

// mustOpen opens and migrates a new database file in a temporary directory.
func mustOpen(tb testing.TB, opts ...sqlite.Option) *sqlite.DB {
	tb.Helper()
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(tb.TempDir(), "authd.db"), opts...)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	if err := db.MigrateUp(ctx); err != nil {
		tb.Fatal(err)
	}
	return db
}

func TestStore(t *testing.T) {
	authtest.TestStore(t, func(t *testing.T, now func() time.Time) authtest.Backend {
		if now == nil {
			return mustOpen(t)
		}
		return mustOpen(t, sqlite.WithClock(now))
	})
}

func TestMigrations(t *testing.T) {
	ctx := context.Background()
	db := mustOpen(t)

	status := func() string {
		t.Helper()
		var buf bytes.Buffer
		if err := db.MigrationStatus(ctx, &buf); err != nil {
			t.Fatal(err)
		}
		return buf.String()
	}
	out := status()
	t.Logf("status after up:\n%s", out)
	if !strings.HasPrefix(out, "VERSION") || !strings.Contains(out, "00001_init.sql") ||
		!strings.Contains(out, "00002_rbac_audit_clients.sql") || !strings.Contains(out, "00003_write_versions.sql") ||
		!strings.Contains(out, "00004_normalize_emails.go") || !strings.Contains(out, "00005_session_retention.sql") ||
		!strings.Contains(out, "00006_email_outbox.sql") || !strings.Contains(out, "00007_social_login.sql") ||
		!strings.Contains(out, "00008_oauth_link.sql") || strings.Contains(out, "pending") {
		t.Errorf("status after up:\n%s", out)
	}
	// Up again is a no-op.
	if err := db.MigrateUp(ctx); err != nil {
		t.Fatal(err)
	}

	for i := range 8 {
		if err := db.MigrateDown(ctx); err != nil {
			t.Fatal(err)
		}
		if out := status(); !strings.Contains(out, "pending") {
			t.Errorf("status after down has no pending migration:\n%s", out)
		}
		if i == 0 {
			// Down from 00008 drops the link's user of a state, and only that.
			var cols, tables int
			err := db.SQL().QueryRowContext(ctx, `SELECT
				(SELECT count(*) FROM pragma_table_info('oauth_states') WHERE name = 'link_user_id'),
				(SELECT count(*) FROM sqlite_schema WHERE name = 'oauth_states')`).Scan(&cols, &tables)
			if err != nil || cols != 0 || tables != 1 {
				t.Errorf("after migrating down once: %d link_user_id columns, %d oauth_states tables, want 0 and 1 (err %v)", cols, tables, err)
			}
		}
		if i == 1 {
			// Down from 00007 drops the identities, states and codes.
			var n int
			err := db.SQL().QueryRowContext(ctx, `SELECT count(*) FROM sqlite_schema
				WHERE name IN ('identities', 'oauth_states', 'oauth_codes')`).Scan(&n)
			if err != nil || n != 0 {
				t.Errorf("%d tables of 00007 left after migrating down twice (err %v)", n, err)
			}
		}
		if i == 2 {
			// Down from 00006 drops the one-time tokens and the outbox.
			var n int
			err := db.SQL().QueryRowContext(ctx, `SELECT count(*) FROM sqlite_schema
				WHERE name IN ('one_time_tokens', 'outbox')`).Scan(&n)
			if err != nil || n != 0 {
				t.Errorf("%d tables of 00006 left after migrating down three times (err %v)", n, err)
			}
		}
	}
	if err := db.Ping(ctx); err != nil {
		t.Errorf("Ping on an empty schema: %v", err)
	}
	// Every migration is rolled back: the schema is empty now.
	if err := db.MigrateDown(ctx); err == nil {
		t.Error("MigrateDown with nothing applied succeeded")
	}

	if err := db.MigrateUp(ctx); err != nil {
		t.Fatal(err)
	}
	if out := status(); strings.Contains(out, "pending") {
		t.Errorf("status after down and up:\n%s", out)
	}
	// The schema works again, seeded roles included.
	id, err := uuid.NewV7()
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC().Truncate(time.Microsecond)
	u := &auth.User{ID: id.String(), Email: "a@example.com", Status: auth.StatusActive,
		Roles: []string{auth.RoleAdmin, auth.RoleUser}, CreatedAt: now, UpdatedAt: now}
	storeUser(t, db, u)
}

func TestOpenRejectsMemory(t *testing.T) {
	if _, err := sqlite.Open(context.Background(), ":memory:"); err == nil {
		t.Error("Open(:memory:) succeeded")
	}
}
