package authtest

import (
	"context"
	"testing"
	"time"

	"github.com/talentforge/authd/internal/auth"
)

// Writes decided on a state that has since moved on: each compare-and-set
// write fails with EConflict and writes nothing (its unit of work fails, so
// no event is recorded either), so that a request that read before
// another's write can never undo it.

// fullUpdate is the UserUpdate that writes every profile field of u, with
// up.At = u.UpdatedAt, decided on the stored user's current version.
func fullUpdate(s Backend, u *auth.User, endSessions bool) *auth.UserUpdate {
	version := u.Version
	if cur, err := s.User(context.Background(), u.ID); err == nil {
		version = cur.Version
	}
	name, verified, status := u.Name, u.EmailVerified, u.Status
	return &auth.UserUpdate{
		Name: &name, EmailVerified: &verified, Status: &status,
		Version: version, At: u.UpdatedAt, EndSessions: endSessions,
	}
}

// fullRoleUpdate is the RoleUpdate that writes r's description and
// permissions, with up.At = r.UpdatedAt, decided on the stored role's
// current version.
func fullRoleUpdate(s Backend, r *auth.Role) *auth.RoleUpdate {
	version := r.Version
	if cur, err := s.Role(context.Background(), r.Name); err == nil {
		version = cur.Version
	}
	desc, perms := r.Description, r.Permissions
	return &auth.RoleUpdate{Name: r.Name, Description: &desc, Permissions: &perms, Version: version, At: r.UpdatedAt}
}

func testUpdateUserWritesOnlyItsFields(t *testing.T, s Backend) {
	ctx := context.Background()
	u := createUser(t, s)
	// Another writer disabled the user and verified the email; a name change
	// decided on that state writes the name and nothing else.
	off := disabled(u)
	off.EmailVerified = true
	off.UpdatedAt = at(u.UpdatedAt, time.Second)
	mustOK(t, txUpdateUser(ctx, s, off.ID, fullUpdate(s, off, false), nil))

	name := "Only The Name"
	when := at(u.UpdatedAt, time.Minute)
	mustOK(t, txUpdateUser(ctx, s, u.ID, &auth.UserUpdate{Name: &name, Version: 2, At: when}, nil))
	want := *off
	want.Name, want.UpdatedAt, want.Version = name, when, 3
	if d := diff(&want, getUser(t, s, u.ID)); d != "" {
		t.Errorf("after a name-only UpdateUser (-want +got):\n%s", d)
	}
}

func testUpdateUserStale(t *testing.T, s Backend) {
	ctx := context.Background()
	log := &auditLog{t: t, s: s}
	u := createUser(t, s)
	sess, _ := createSession(t, s, u.ID, now())
	u = getUser(t, s, u.ID)

	// An admin disables the user, at the same instant as the user's own
	// write below: versions, not clocks, tell the two apart...
	off := disabled(u)
	mustOK(t, txUpdateUser(ctx, s, off.ID, fullUpdate(s, off, true), nil))
	want := getUser(t, s, u.ID)

	// ...while a request that read the user before that (still active)
	// writes its change: it must not land, whatever it sets.
	active := auth.StatusActive
	name := "Re-enabled Myself"
	for _, up := range []*auth.UserUpdate{
		{Name: &name, Version: u.Version, At: u.UpdatedAt},
		{Status: &active, Version: u.Version, At: u.UpdatedAt},
	} {
		log.unchanged(txUpdateUser(ctx, s, u.ID, up, newEvent(t, auth.EventUserUpdated, u.ID, "")), auth.EConflict)
	}
	up := fullUpdate(s, disabled(u), true)
	up.Version = u.Version
	log.unchanged(txUpdateUser(ctx, s, u.ID, up, newEvent(t, auth.EventUserDisabled, u.ID, "")), auth.EConflict)
	if d := diff(want, getUser(t, s, u.ID)); d != "" {
		t.Errorf("a stale UpdateUser changed the user (-want +got):\n%s", d)
	}
	if r := getSession(t, s, u.ID, sess.ID).RevokedAt; !r.Equal(off.UpdatedAt) {
		t.Errorf("session RevokedAt = %v, want %v (from the disable)", r, off.UpdatedAt)
	}
	// Role changes move the version too: an edit decided before a grant
	// fails.
	mustOK(t, txGrantRole(ctx, s, u.ID, auth.RoleAdmin, now(), nil))
	log.unchanged(txUpdateUser(ctx, s, u.ID, &auth.UserUpdate{Name: &name, Version: want.Version, At: now()}, nil), auth.EConflict)
}

func testUpgradePasswordHash(t *testing.T, s Backend) {
	ctx := context.Background()
	u := createUser(t, s)
	sess, _ := createSession(t, s, u.ID, now())
	before := getUser(t, s, u.ID)

	mustOK(t, s.UpgradePasswordHash(ctx, u.ID, u.PasswordHash, "upgraded-hash"))
	want := *before
	want.PasswordHash = "upgraded-hash"
	if d := diff(&want, getUser(t, s, u.ID)); d != "" {
		t.Errorf("after UpgradePasswordHash (-want +got):\n%s", d)
	}
	if !getSession(t, s, u.ID, sess.ID).RevokedAt.IsZero() {
		t.Error("UpgradePasswordHash revoked a session")
	}

	// The hash moved on (a password change): an upgrade of the old one must
	// not put it back.
	wantCode(t, s.UpgradePasswordHash(ctx, u.ID, u.PasswordHash, "rehash-of-old"), auth.EConflict)
	if got := getUser(t, s, u.ID).PasswordHash; got != "upgraded-hash" {
		t.Errorf("PasswordHash = %q after a stale upgrade, want %q", got, "upgraded-hash")
	}
	wantCode(t, s.UpgradePasswordHash(ctx, newID(t), "a", "b"), auth.ENotFound)
}

func testChangePasswordStale(t *testing.T, s Backend) {
	ctx := context.Background()
	log := &auditLog{t: t, s: s}
	u := createUser(t, s)
	mustOK(t, txChangePassword(ctx, s, u.ID, "first-change", "", 1, now(), nil))
	sess, _ := createSession(t, s, u.ID, at(now(), 2*time.Second))
	want := getUser(t, s, u.ID)

	// A second change checked against the password before the first one.
	log.unchanged(txChangePassword(ctx, s, u.ID, "stale-change", "", 1, now(),
		newEvent(t, auth.EventPasswordChanged, u.ID, "")), auth.EConflict)
	if d := diff(want, getUser(t, s, u.ID)); d != "" {
		t.Errorf("a stale ChangePassword changed the user (-want +got):\n%s", d)
	}
	if !getSession(t, s, u.ID, sess.ID).RevokedAt.IsZero() {
		t.Error("a stale ChangePassword revoked a session")
	}
	// A profile edit is no password change.
	name := "Renamed"
	mustOK(t, txUpdateUser(ctx, s, u.ID, &auth.UserUpdate{Name: &name, Version: want.Version, At: now()}, nil))
	mustOK(t, txChangePassword(ctx, s, u.ID, "second-change", "", 2, now(), nil))
}

func testCreateSessionAfterPasswordChange(t *testing.T, s Backend) {
	ctx := context.Background()
	log := &auditLog{t: t, s: s}
	u := createUser(t, s)
	checked := getUser(t, s, u.ID) // a login checks the password here...
	mustOK(t, txChangePassword(ctx, s, u.ID, "new-hash", "", checked.PasswordVersion, now(), nil))
	want := getUser(t, s, u.ID)

	// ...and stores its session after the change ended every session.
	sess, rt := newSession(t, u.ID, at(now(), time.Minute))
	log.unchanged(txCreateSession(ctx, s, sess, rt, checked.PasswordVersion,
		newEvent(t, auth.EventLoginSucceeded, u.ID, sess.ID)), auth.EConflict)
	if _, err := s.Session(ctx, u.ID, sess.ID); auth.ErrorCode(err) != auth.ENotFound {
		t.Errorf("Session after a stale CreateSession: %v, want ENotFound", err)
	}
	if _, err := s.RefreshToken(ctx, u.ID, rt.Hash); auth.ErrorCode(err) != auth.ENotFound {
		t.Errorf("RefreshToken after a stale CreateSession: %v, want ENotFound", err)
	}
	if d := diff(want, getUser(t, s, u.ID)); d != "" {
		t.Errorf("a stale CreateSession changed the user (-want +got):\n%s", d)
	}
	// A profile edit meanwhile doesn't fail a sign-in; checked against the
	// current password, it succeeds.
	name := "Renamed"
	mustOK(t, txUpdateUser(ctx, s, u.ID, &auth.UserUpdate{Name: &name, Version: want.Version, At: now()}, nil))
	mustOK(t, txCreateSession(ctx, s, sess, rt, want.PasswordVersion, nil))
}

func testDeleteUserStale(t *testing.T, s Backend) {
	ctx := context.Background()
	log := &auditLog{t: t, s: s}
	u := createUser(t, s)
	mustOK(t, txGrantRole(ctx, s, u.ID, auth.RoleAdmin, at(now(), time.Second), nil))
	createAdmin(t, s) // so that u is not the last admin

	log.unchanged(txDeleteUser(ctx, s, u.ID, u.Version, newEvent(t, auth.EventUserDeleted, u.ID, "")), auth.EConflict)
	mustOK(t, txDeleteUser(ctx, s, u.ID, getUser(t, s, u.ID).Version, nil))
	wantCode(t, txDeleteUser(ctx, s, u.ID, u.Version, nil), auth.ENotFound)
}

func testUpdateRoleFieldsAndStale(t *testing.T, s Backend) {
	ctx := context.Background()
	log := &auditLog{t: t, s: s}
	r := createRole(t, s, "support", auth.PermUsersRead, auth.PermSessionsManage)
	if got := getRole(t, s, r.Name).Version; got != 1 {
		t.Fatalf("a new role's Version = %d, want 1", got)
	}

	// One admin removes a permission...
	narrowed := []auth.Permission{auth.PermUsersRead}
	removedAt := at(r.UpdatedAt, time.Second)
	mustOK(t, txUpdateRole(ctx, s, &auth.RoleUpdate{Name: r.Name, Permissions: &narrowed, Version: 1, At: removedAt}, nil))
	// ...another's description edit, read before, must not restore it.
	desc := "Edited."
	log.unchanged(txUpdateRole(ctx, s, &auth.RoleUpdate{Name: r.Name, Description: &desc, Version: 1, At: removedAt},
		newEvent(t, auth.EventRoleUpdated, "", r.Name)), auth.EConflict)
	got := getRole(t, s, r.Name)
	if len(got.Permissions) != 1 || got.Description != r.Description || !got.UpdatedAt.Equal(removedAt) || got.Version != 2 {
		t.Errorf("after a stale UpdateRole: %+v", got)
	}
	// Decided on the current version, a description edit keeps the
	// permissions.
	mustOK(t, txUpdateRole(ctx, s, &auth.RoleUpdate{Name: r.Name, Description: &desc, Version: 2, At: removedAt}, nil))
	got = getRole(t, s, r.Name)
	if got.Description != desc || len(got.Permissions) != 1 || got.Permissions[0] != auth.PermUsersRead || got.Version != 3 {
		t.Errorf("after a description-only UpdateRole: %+v", got)
	}
}
