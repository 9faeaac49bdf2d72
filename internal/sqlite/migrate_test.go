package sqlite_test

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/talentforge/authd/internal/auth"
	"github.com/talentforge/authd/internal/auth/authtest"
	"github.com/talentforge/authd/internal/sqlite"
)

// TestMigrateRBACOverData applies 00002 and 00003 to a database that already
// holds users, and rolls them back: existing roles get updated_at =
// created_at, existing users and roles version 1, and both directions keep
// the users and their roles.
func TestMigrateRBACOverData(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := mustOpen(t)
	if err := db.MigrateDownTo(ctx, 1); err != nil {
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
		if r.CreatedAt.IsZero() || !r.UpdatedAt.Equal(r.CreatedAt) || !r.Builtin || r.Version != 1 {
			t.Errorf("role %s: created %v, updated %v, builtin %v, version %d; want updated = created, builtin, version 1",
				r.Name, r.CreatedAt, r.UpdatedAt, r.Builtin, r.Version)
		}
	}
	// The seeded admin list is stored unsorted; it reads back sorted.
	if got, want := roles[0].Permissions, auth.Permissions(); !slices.Equal(got, want) {
		t.Errorf("admin permissions = %v, want %v", got, want)
	}
	u, err := db.User(ctx, admin)
	if err != nil || !slices.Equal(u.Roles, []string{auth.RoleAdmin, auth.RoleUser}) || u.Version != 1 || u.PasswordVersion != 1 {
		t.Fatalf("user after migrating: %+v (err %v)", u, err)
	}
	// The new tables work.
	ev := event(t, auth.EventUserUpdated, admin)
	if err := db.AppendEvent(ctx, ev); err != nil {
		t.Fatal(err)
	}

	if err := db.MigrateDownTo(ctx, 1); err != nil {
		t.Fatal(err)
	}
	// The code reads columns of later migrations: look at the rows directly.
	var held string
	err = db.SQL().QueryRowContext(ctx, `SELECT group_concat(role, ',') FROM
		(SELECT role FROM user_roles WHERE user_id = ? ORDER BY role)`, admin).Scan(&held)
	if err != nil || held != strings.Join([]string{auth.RoleAdmin, auth.RoleUser}, ",") {
		t.Fatalf("user roles after rolling back: %q (err %v)", held, err)
	}
	if err := db.AppendEvent(ctx, event(t, auth.EventUserUpdated, admin)); err == nil {
		t.Error("AppendEvent succeeded after rolling back 00002")
	}
}

// TestMigrateNormalizeEmails stores emails in the forms earlier versions
// wrote (fullwidth, Kelvin sign, upper case, Unicode domains, colliding
// look-alikes) under 00003 and applies 00004: the contract suite checks the
// emails, events and logins; this checks the flag column, and that rolling
// back drops it and keeps the rewritten emails.
func TestMigrateNormalizeEmails(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := mustOpen(t)
	ids := authtest.TestEmailMigration(t, func(t *testing.T) (authtest.Backend, func(context.Context) error) {
		if err := db.MigrateDownTo(ctx, 3); err != nil {
			t.Fatal(err)
		}
		return db, db.MigrateUp
	})

	for _, r := range authtest.EmailMigrationRows() {
		var flag sql.NullString
		if err := db.SQL().QueryRowContext(ctx, `SELECT email_flag FROM users WHERE id = ?`, ids[r.Name]).Scan(&flag); err != nil {
			t.Fatal(err)
		}
		if flag.Valid != (r.Flag != "") || r.Holder != "" && !strings.Contains(flag.String, ids[r.Holder]) {
			t.Errorf("%s: email_flag %+v, want flagged %q (holder %s)", r.Name, flag, r.Flag, ids[r.Holder])
		}
	}

	if err := db.MigrateDownTo(ctx, 3); err != nil {
		t.Fatal(err)
	}
	if _, err := db.SQL().ExecContext(ctx, `SELECT email_flag FROM users`); err == nil {
		t.Error("users.email_flag left after rolling back 00004")
	}
	if u, err := db.UserByEmail(ctx, "kate@example.com"); err != nil || u.ID != ids["kelvin"] {
		t.Errorf("the rewritten email after rolling back: %+v, %v", u, err)
	}
}

// TestMigrateSessionRetentionOverData: a successor stored before 00005 has
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
	if err := db.MigrateDownTo(ctx, 4); err != nil {
		t.Fatal(err)
	}
	userID := createUser(t, db)
	sess, tok := newSession(t, userID)
	err = db.InUserTx(ctx, userID, func(tx auth.UserTx) error { return tx.CreateSession(ctx, sess, tok, 1) })
	if err != nil {
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
