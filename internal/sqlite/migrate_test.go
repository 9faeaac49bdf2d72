package sqlite_test

import (
	"context"
	"slices"
	"testing"

	"github.com/talentforge/authd/internal/auth"
)

// TestMigrateRBACOverData applies 00002 to a database that already holds
// users, and rolls it back: existing roles get updated_at = created_at, and
// both directions keep the users and their roles.
func TestMigrateRBACOverData(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := mustOpen(t)
	if err := db.MigrateDown(ctx); err != nil { // back to 00001
		t.Fatal(err)
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

	if err := db.MigrateDown(ctx); err != nil {
		t.Fatal(err)
	}
	if u, err := db.User(ctx, admin); err != nil || !slices.Equal(u.Roles, []string{auth.RoleAdmin, auth.RoleUser}) {
		t.Fatalf("user after rolling back: %+v (err %v)", u, err)
	}
	if err := db.AppendEvent(ctx, event(t, auth.EventUserUpdated, admin)); err == nil {
		t.Error("AppendEvent succeeded after rolling back 00002")
	}
}
