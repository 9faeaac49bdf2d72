package sqlite_test

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/talentforge/authd/internal/auth"
	"github.com/talentforge/authd/internal/sqlite"
)

// TestMigrateRBACOverData applies 00002 to a database that already holds
// users, and rolls it back: existing roles get updated_at = created_at, and
// both directions keep the users and their roles.
func TestMigrateRBACOverData(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := mustOpen(t)
	for range 2 { // back to 00001
		if err := db.MigrateDown(ctx); err != nil {
			t.Fatal(err)
		}
	}
	admin := createUser(t, db, auth.RoleAdmin)

	if err := db.MigrateUp(ctx); err != nil {
		t.Fatal(err)
	}
	roles, err := db.Roles(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(roles) != 2 || roles[0].Name != auth.RoleAdmin || roles[1].Name != auth.RoleUser {
		t.Fatalf("roles after migrating: %+v", roles)
	}
	for _, r := range roles {
		if r.CreatedAt.IsZero() || !r.UpdatedAt.Equal(r.CreatedAt) || !r.Builtin {
			t.Errorf("role %s: created %v, updated %v, builtin %v; want updated = created, builtin",
				r.Name, r.CreatedAt, r.UpdatedAt, r.Builtin)
		}
	}
	// The seeded admin list is stored unsorted; it reads back sorted.
	if got, want := roles[0].Permissions, auth.Permissions(); !slices.Equal(got, want) {
		t.Errorf("admin permissions = %v, want %v", got, want)
	}
	u, err := db.User(ctx, admin)
	if err != nil || !slices.Equal(u.Roles, []string{auth.RoleAdmin, auth.RoleUser}) {
		t.Fatalf("user after migrating: %+v (err %v)", u, err)
	}
	// The new tables work.
	ev := event(t, auth.EventUserUpdated, admin)
	if err := db.AppendEvent(ctx, ev); err != nil {
		t.Fatal(err)
	}

	for range 2 {
		if err := db.MigrateDown(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if u, err := db.User(ctx, admin); err != nil || !slices.Equal(u.Roles, []string{auth.RoleAdmin, auth.RoleUser}) {
		t.Fatalf("user after rolling back: %+v (err %v)", u, err)
	}
	if err := db.AppendEvent(ctx, event(t, auth.EventUserUpdated, admin)); err == nil {
		t.Error("AppendEvent succeeded after rolling back 00002")
	}
}

// TestMigrateSessionRetentionOverData: a successor stored before 00003 has
// no grace deadline, so it is never handed out again and the retention job
// clears it.
func TestMigrateSessionRetentionOverData(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "authd.db")
	db, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.MigrateUp(ctx); err != nil {
		t.Fatal(err)
	}
	if err := db.MigrateDown(ctx); err != nil { // back to 00002
		t.Fatal(err)
	}
	userID := createUser(t, db)
	sess, tok := newSession(t, userID)
	if err := db.CreateSession(ctx, sess, tok, nil); err != nil {
		t.Fatal(err)
	}
	raw, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	if _, err := raw.ExecContext(ctx, `UPDATE refresh_tokens SET rotated_at = created_at, successor = x'0102'`); err != nil {
		t.Fatal(err)
	}

	if err := db.MigrateUp(ctx); err != nil {
		t.Fatal(err)
	}
	rt, _, _, err := db.RefreshState(ctx, userID, tok.Hash)
	if err != nil {
		t.Fatal(err)
	}
	if rt.Successor != nil {
		t.Errorf("RefreshState hands out a successor stored before grace deadlines: %x", rt.Successor)
	}
	if n, err := db.ClearStaleSuccessors(ctx, 10); n != 1 || err != nil {
		t.Errorf("ClearStaleSuccessors = %d, %v; want 1", n, err)
	}
	if rt, err := db.RefreshToken(ctx, userID, tok.Hash); err != nil || rt.Successor != nil {
		t.Errorf("after the job: Successor = %x (err %v), want nil", rt.Successor, err)
	}
}

// newSession returns a valid, unstored session of userID and its first
// refresh token.
func newSession(t *testing.T, userID string) (*auth.Session, *auth.RefreshToken) {
	t.Helper()
	ts := now()
	s := &auth.Session{ID: newID(t), UserID: userID, CreatedAt: ts, LastSeenAt: ts,
		ExpiresAt: ts.Add(time.Hour), RefreshGeneration: 1}
	hash := sha256.Sum256([]byte(s.ID))
	return s, &auth.RefreshToken{Hash: hash[:], UserID: userID, SessionID: s.ID, Generation: 1,
		CreatedAt: ts, ExpiresAt: s.ExpiresAt}
}
