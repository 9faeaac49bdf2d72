package postgres_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/talentforge/authd/internal/auth"
	"github.com/talentforge/authd/internal/auth/authtest"
	"github.com/talentforge/authd/internal/postgres"
	"github.com/talentforge/authd/internal/postgres/pgtest"
)

// mustOpen opens and migrates a fresh schema; it returns its URL too.
func mustOpen(tb testing.TB, opts ...postgres.Option) (*postgres.DB, string) {
	tb.Helper()
	url := pgtest.URL(tb)
	ctx := context.Background()
	db, err := postgres.Open(ctx, url, opts...)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	if err := db.MigrateUp(ctx); err != nil {
		tb.Fatal(err)
	}
	return db, url
}

func TestStore(t *testing.T) {
	authtest.TestStore(t, func(t *testing.T, now func() time.Time) authtest.Backend {
		if now == nil {
			db, _ := mustOpen(t)
			return db
		}
		db, _ := mustOpen(t, postgres.WithClock(now))
		return db
	})
}

func TestMigrations(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, url := mustOpen(t)

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
		!strings.Contains(out, "00002_rbac_audit_clients.sql") || !strings.Contains(out, "00003_user_listing_indexes.sql") ||
		!strings.Contains(out, "00004_write_versions.sql") || !strings.Contains(out, "00005_normalize_emails.go") ||
		!strings.Contains(out, "00006_session_retention.sql") || !strings.Contains(out, "00007_email_outbox.sql") ||
		!strings.Contains(out, "00008_social_login.sql") || !strings.Contains(out, "00009_oauth_link.sql") ||
		strings.Contains(out, "pending") {
		t.Errorf("status after up:\n%s", out)
	}
	// Roles that existed before they became editable were last updated when
	// they were created.
	if n := count(t, url, `SELECT count(*) FROM roles WHERE updated_at <> created_at`); n != 0 {
		t.Errorf("%d roles with updated_at <> created_at after migrating up", n)
	}
	if err := db.MigrateUp(ctx); err != nil { // a no-op
		t.Fatal(err)
	}

	if err := db.MigrateDown(ctx); err != nil {
		t.Fatal(err)
	}
	if out := status(); !strings.Contains(out, "pending") {
		t.Errorf("status after down has no pending migration:\n%s", out)
	}
	// Down from 00009 drops the link's user of a state, and only that.
	if n := count(t, url, `SELECT count(*) FROM information_schema.columns
		WHERE table_schema = current_schema() AND table_name = 'oauth_states' AND column_name = 'link_user_id'`); n != 0 {
		t.Error("oauth_states.link_user_id left after migrating down once")
	}
	if n := count(t, url, `SELECT count(*) FROM pg_tables WHERE schemaname = current_schema()
		AND tablename = 'oauth_states'`); n != 1 {
		t.Error("oauth_states gone after migrating down once")
	}
	if err := db.MigrateDown(ctx); err != nil {
		t.Fatal(err)
	}
	// Down from 00008 drops the identities, states and codes.
	if n := count(t, url, `SELECT count(*) FROM pg_tables WHERE schemaname = current_schema()
		AND tablename IN ('identities', 'oauth_states', 'oauth_codes')`); n != 0 {
		t.Errorf("%d tables of 00008 left after migrating down twice", n)
	}
	if err := db.MigrateDown(ctx); err != nil {
		t.Fatal(err)
	}
	// Down from 00007 drops the one-time tokens and the outbox.
	if n := count(t, url, `SELECT count(*) FROM pg_tables WHERE schemaname = current_schema()
		AND tablename IN ('one_time_tokens', 'outbox')`); n != 0 {
		t.Errorf("%d tables of 00007 left after migrating down three times", n)
	}
	if err := db.MigrateDown(ctx); err != nil {
		t.Fatal(err)
	}
	// Down from 00006 restores the session index of 00001 and drops the rest.
	if n := count(t, url, `SELECT count(*) FROM information_schema.columns
		WHERE table_schema = current_schema() AND table_name = 'refresh_tokens' AND column_name = 'grace_until'`); n != 0 {
		t.Error("refresh_tokens.grace_until left after migrating down four times")
	}
	if n := count(t, url, `SELECT count(*) FROM pg_indexes WHERE schemaname = current_schema()
		AND indexname IN ('refresh_tokens_successor', 'refresh_tokens_expires_at', 'sessions_expires_at',
		                  'sessions_revoked_at', 'sessions_user_id_id')`); n != 0 {
		t.Errorf("%d indexes of 00006 left after migrating down four times", n)
	}
	if n := count(t, url, `SELECT count(*) FROM pg_indexes WHERE schemaname = current_schema()
		AND indexname = 'sessions_user_id_created_at'`); n != 1 {
		t.Error("sessions_user_id_created_at not restored by migrating down")
	}
	if err := db.MigrateDown(ctx); err != nil {
		t.Fatal(err)
	}
	if n := count(t, url, `SELECT count(*) FROM information_schema.columns
		WHERE table_schema = current_schema() AND table_name = 'users' AND column_name = 'email_flag'`); n != 0 {
		t.Error("users.email_flag left after migrating down five times")
	}
	if err := db.MigrateDown(ctx); err != nil {
		t.Fatal(err)
	}
	if n := count(t, url, `SELECT count(*) FROM information_schema.columns
		WHERE table_schema = current_schema() AND column_name IN ('version', 'password_version')`); n != 0 {
		t.Errorf("%d version columns of 00004 left after migrating down six times", n)
	}
	if err := db.MigrateDown(ctx); err != nil {
		t.Fatal(err)
	}
	if n := count(t, url, `SELECT count(*) FROM pg_indexes WHERE schemaname = current_schema()
		AND indexname IN ('users_email_prefix', 'users_disabled')`); n != 0 {
		t.Errorf("%d indexes of 00003 left after migrating down seven times", n)
	}
	if err := db.MigrateDown(ctx); err != nil {
		t.Fatal(err)
	}
	// Down from 00002 leaves exactly the schema of 00001.
	if n := count(t, url, `SELECT count(*) FROM pg_tables WHERE schemaname = current_schema()
		AND tablename IN ('audit_events', 'clients', 'revoked_tokens')`); n != 0 {
		t.Errorf("%d tables of 00002 left after migrating down eight times", n)
	}
	if n := count(t, url, `SELECT count(*) FROM information_schema.columns
		WHERE table_schema = current_schema() AND table_name = 'roles' AND column_name = 'updated_at'`); n != 0 {
		t.Error("roles.updated_at left after migrating down eight times")
	}
	if err := db.MigrateDown(ctx); err != nil {
		t.Fatal(err)
	}
	if n := count(t, url, `SELECT count(*) FROM pg_tables WHERE schemaname = current_schema() AND tablename <> 'goose_db_version'`); n != 0 {
		t.Errorf("%d tables left after migrating all the way down", n)
	}
	if err := db.MigrateDown(ctx); err == nil {
		t.Error("MigrateDown with nothing applied succeeded")
	}

	if err := db.MigrateUp(ctx); err != nil {
		t.Fatal(err)
	}
	if out := status(); strings.Contains(out, "pending") {
		t.Errorf("status after down and up:\n%s", out)
	}
	// The schema works again through the same pool, seeded roles included.
	id, err := uuid.NewV7()
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC().Truncate(time.Microsecond)
	u := &auth.User{ID: id.String(), Email: "a@example.com", Status: auth.StatusActive,
		Roles: []string{auth.RoleAdmin, auth.RoleUser}, CreatedAt: now, UpdatedAt: now}
	if err := createUser(ctx, db, u); err != nil {
		t.Fatal(err)
	}
	if _, err := db.User(ctx, u.ID); err != nil {
		t.Fatal(err)
	}
}

// TestMigrationsStayInSchema checks that the tables, goose's version table
// included, land in the per-test schema and nowhere else, which is what lets
// tests migrate in parallel.
func TestMigrationsStayInSchema(t *testing.T) {
	t.Parallel()
	_, url := mustOpen(t)
	var schema string
	query(t, url, `SELECT current_schema()`, &schema)
	if !strings.HasPrefix(schema, "t_") {
		t.Fatalf("current_schema() = %q, want a per-test schema", schema)
	}
	for _, table := range []string{"goose_db_version", "users", "roles", "user_roles", "sessions", "refresh_tokens",
		"signing_keys", "audit_events", "clients", "revoked_tokens", "one_time_tokens", "outbox"} {
		var where []string
		query(t, url, `SELECT coalesce(array_agg(schemaname::text), '{}') FROM pg_tables
			WHERE tablename = $1 AND schemaname IN ($2, 'public')`, &where, table, schema)
		if len(where) != 1 || where[0] != schema {
			t.Errorf("table %s is in schemas %q, want only %q", table, where, schema)
		}
	}
}

func TestOpenBadURL(t *testing.T) {
	_, err := postgres.Open(context.Background(), "postgres://user:secret@127.0.0.1:1/x?sslmode=disable&connect_timeout=1")
	if err == nil {
		t.Fatal("Open of an unreachable server succeeded")
	}
	if strings.Contains(err.Error(), "secret") {
		t.Errorf("error shows the password: %v", err)
	}
}

// createUser stores u in a unit of work of its own.
func createUser(ctx context.Context, db *postgres.DB, u *auth.User) error {
	return db.InUserTx(ctx, u.ID, func(tx auth.UserTx) error { return tx.CreateUser(ctx, u) })
}

func count(t *testing.T, url, sql string) int {
	t.Helper()
	var n int
	query(t, url, sql, &n)
	return n
}

func query(t *testing.T, url, sql string, dest any, args ...any) {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if err := conn.QueryRow(ctx, sql, args...).Scan(dest); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

// TestMigrateSessionRetentionOverData: a successor stored before 00006 has
// no grace deadline, so it is never handed out again and the retention job
// clears it.
func TestMigrateSessionRetentionOverData(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, url := mustOpen(t)
	if err := db.MigrateDownTo(ctx, 5); err != nil {
		t.Fatal(err)
	}
	ts := time.Now().UTC().Truncate(time.Microsecond)
	u := &auth.User{ID: uuid.Must(uuid.NewV7()).String(), Email: "a@example.com", Status: auth.StatusActive,
		Roles: []string{auth.RoleUser}, CreatedAt: ts, UpdatedAt: ts}
	if err := createUser(ctx, db, u); err != nil {
		t.Fatal(err)
	}
	sess := &auth.Session{ID: uuid.Must(uuid.NewV7()).String(), UserID: u.ID, CreatedAt: ts, LastSeenAt: ts,
		ExpiresAt: ts.Add(time.Hour), RefreshGeneration: 1}
	hash := sha256.Sum256([]byte(sess.ID))
	tok := &auth.RefreshToken{Hash: hash[:], UserID: u.ID, SessionID: sess.ID, Generation: 1,
		CreatedAt: ts, ExpiresAt: sess.ExpiresAt}
	err := db.InUserTx(ctx, u.ID, func(tx auth.UserTx) error { return tx.CreateSession(ctx, sess, tok, 1) })
	if err != nil {
		t.Fatal(err)
	}
	if n := count(t, url, `WITH u AS (UPDATE refresh_tokens SET rotated_at = created_at, successor = '\x0102'
		RETURNING 1) SELECT count(*) FROM u`); n != 1 {
		t.Fatalf("stored %d old-style successors, want 1", n)
	}

	if err := db.MigrateUp(ctx); err != nil {
		t.Fatal(err)
	}
	rt, _, _, err := db.RefreshState(ctx, u.ID, tok.Hash)
	if err != nil {
		t.Fatal(err)
	}
	if rt.Successor != nil {
		t.Errorf("RefreshState hands out a successor stored before grace deadlines: %x", rt.Successor)
	}
	if n, err := db.ClearStaleSuccessors(ctx, 10); n != 1 || err != nil {
		t.Errorf("ClearStaleSuccessors = %d, %v; want 1", n, err)
	}
	if rt, err := db.RefreshToken(ctx, u.ID, tok.Hash); err != nil || rt.Successor != nil {
		t.Errorf("after the job: Successor = %x (err %v), want nil", rt.Successor, err)
	}
}
