package sqlite_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/talentforge/authd/internal/auth"
	"github.com/talentforge/authd/internal/sqlite"
)

// TestMigrateRBACOverData applies 00002 to a database that already holds
// users, and rolls it back: existing roles get updated_at = created_at, and
// both directions keep the users and their roles.
func TestMigrateRBACOverData(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "authd.db")
	db, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.MigrateUp(ctx); err != nil {
		t.Fatal(err)
	}
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

	if err := db.MigrateDown(ctx); err != nil { // 00003: versions
		t.Fatal(err)
	}
	if err := db.MigrateUp(ctx); err != nil {
		t.Fatal(err)
	}
	if u, err := db.User(ctx, admin); err != nil || u.Version != 1 || u.PasswordVersion != 1 {
		t.Fatalf("user after migrating down and up: %+v (err %v), want versions 1", u, err)
	}
	for range 2 { // back to 00001 again
		if err := db.MigrateDown(ctx); err != nil {
			t.Fatal(err)
		}
	}
	// The code reads columns of later migrations: look at the rows directly.
	raw, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	var held string
	err = raw.QueryRowContext(ctx, `SELECT group_concat(role, ',') FROM
		(SELECT role FROM user_roles WHERE user_id = ? ORDER BY role)`, admin).Scan(&held)
	if err != nil || held != strings.Join([]string{auth.RoleAdmin, auth.RoleUser}, ",") {
		t.Fatalf("user roles after rolling back: %q (err %v)", held, err)
	}
	if err := db.AppendEvent(ctx, event(t, auth.EventUserUpdated, admin)); err == nil {
		t.Error("AppendEvent succeeded after rolling back 00002")
	}
}
