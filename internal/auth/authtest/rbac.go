package authtest

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/talentforge/authd/internal/auth"
)

// Roles, role grants, and the last-admin rule.

// newRole returns a valid, not yet stored role with the given permissions,
// passed as they are (not sorted).
func newRole(name string, perms ...auth.Permission) *auth.Role {
	ts := at(now(), -time.Hour)
	return &auth.Role{
		Name:        name,
		Description: "The " + name + " role.",
		Permissions: perms,
		Version:     1,
		CreatedAt:   ts,
		UpdatedAt:   at(ts, time.Second),
	}
}

func createRole(t *testing.T, s Backend, name string, perms ...auth.Permission) *auth.Role {
	t.Helper()
	r := newRole(name, perms...)
	mustOK(t, txCreateRole(context.Background(), s, r, nil))
	return r
}

func getRole(t *testing.T, s Backend, name string) *auth.Role {
	t.Helper()
	r, err := s.Role(context.Background(), name)
	mustOK(t, err)
	wantUTC(t, r.CreatedAt, r.UpdatedAt)
	return r
}

// createAdmin stores an active user holding the admin and user roles.
func createAdmin(t *testing.T, s Backend) *auth.User {
	t.Helper()
	u := newUser(t)
	u.Roles = []string{auth.RoleAdmin, auth.RoleUser}
	mustOK(t, txCreateUser(context.Background(), s, u, nil))
	return u
}

func testBuiltinRoles(t *testing.T, s Backend) {
	ctx := context.Background()
	want := []*auth.Role{
		{Name: auth.RoleAdmin, Permissions: auth.Permissions(), Builtin: true, Version: 1},
		{Name: auth.RoleUser, Permissions: nil, Builtin: true, Version: 1},
	}
	// Descriptions and times are the migration's to choose.
	ignore := cmpopts.IgnoreFields(auth.Role{}, "Description", "CreatedAt", "UpdatedAt")
	roles, err := s.Roles(ctx)
	mustOK(t, err)
	if d := cmp.Diff(want, roles, ignore, cmpopts.EquateEmpty()); d != "" {
		t.Errorf("Roles() on a fresh store (-want +got):\n%s", d)
	}
	for _, r := range roles {
		wantUTC(t, r.CreatedAt, r.UpdatedAt)
		if d := diff(r, getRole(t, s, r.Name)); d != "" {
			t.Errorf("Role(%q) differs from its Roles() entry (-Roles +Role):\n%s", r.Name, d)
		}
	}
}

func testCreateRole(t *testing.T, s Backend) {
	ctx := context.Background()
	support := newRole("support", auth.PermUsersRead, auth.PermSessionsManage) // unsorted
	mustOK(t, txCreateRole(ctx, s, support, nil))
	auditor := newRole("auditor") // no permissions
	mustOK(t, txCreateRole(ctx, s, auditor, nil))

	wantSupport := *support
	wantSupport.Permissions = []auth.Permission{auth.PermSessionsManage, auth.PermUsersRead}
	if d := diff(&wantSupport, getRole(t, s, "support")); d != "" {
		t.Errorf("Role(support) (-want +got):\n%s", d)
	}
	if d := diff(auditor, getRole(t, s, "auditor")); d != "" {
		t.Errorf("Role(auditor) (-want +got):\n%s", d)
	}
	roles, err := s.Roles(ctx)
	mustOK(t, err)
	want := []*auth.Role{getRole(t, s, auth.RoleAdmin), auditor, &wantSupport, getRole(t, s, auth.RoleUser)}
	if d := diff(want, roles); d != "" {
		t.Errorf("Roles() (-want +got):\n%s", d)
	}

	// A taken name, built-in or not, changes nothing.
	wantCode(t, txCreateRole(ctx, s, newRole("support", auth.PermUsersWrite), nil), auth.EConflict)
	wantCode(t, txCreateRole(ctx, s, newRole(auth.RoleAdmin), nil), auth.EConflict)
	if d := diff(&wantSupport, getRole(t, s, "support")); d != "" {
		t.Errorf("Role(support) after a duplicate CreateRole (-want +got):\n%s", d)
	}
	if got := getRole(t, s, auth.RoleAdmin); !got.Builtin || !slices.Equal(got.Permissions, auth.Permissions()) {
		t.Errorf("admin after a duplicate CreateRole: %+v", got)
	}

	// The new role can be held.
	u := newUser(t)
	u.Roles = []string{"support", auth.RoleUser}
	mustOK(t, txCreateUser(ctx, s, u, nil))
	if d := diff([]string{"support", auth.RoleUser}, getUser(t, s, u.ID).Roles); d != "" {
		t.Errorf("roles of a user created with a new role (-want +got):\n%s", d)
	}
}

func testRoleNotFound(t *testing.T, s Backend) {
	ctx := context.Background()
	createRole(t, s, "support")
	for _, name := range []string{"no-such-role", "Support", "support ", ""} {
		_, err := s.Role(ctx, name)
		if got := auth.ErrorCode(err); got != auth.ENotFound {
			t.Errorf("Role(%q): error code %q, want %q", name, got, auth.ENotFound)
		}
	}
}

func testUpdateRole(t *testing.T, s Backend) {
	ctx := context.Background()
	r := createRole(t, s, "support", auth.PermUsersRead)
	upd := *r
	upd.Description = "Changed: writes users, reads the audit log."
	upd.Permissions = []auth.Permission{auth.PermUsersWrite, auth.PermAuditRead} // unsorted
	upd.UpdatedAt = at(r.UpdatedAt, time.Minute)
	// Fields UpdateRole does not write.
	upd.CreatedAt = upd.UpdatedAt
	upd.Builtin = true
	mustOK(t, txUpdateRole(ctx, s, fullRoleUpdate(s, &upd), nil))

	want := *r
	want.Description = upd.Description
	want.Permissions = []auth.Permission{auth.PermAuditRead, auth.PermUsersWrite}
	want.UpdatedAt = upd.UpdatedAt
	want.Version = 2
	if d := diff(&want, getRole(t, s, r.Name)); d != "" {
		t.Errorf("after UpdateRole (-want +got):\n%s", d)
	}

	// Down to no permissions.
	upd.Permissions = nil
	upd.UpdatedAt = at(upd.UpdatedAt, time.Minute)
	mustOK(t, txUpdateRole(ctx, s, fullRoleUpdate(s, &upd), nil))
	if got := getRole(t, s, r.Name); len(got.Permissions) != 0 || !got.UpdatedAt.Equal(upd.UpdatedAt) {
		t.Errorf("Permissions, UpdatedAt = %q, %v; want none, %v", got.Permissions, got.UpdatedAt, upd.UpdatedAt)
	}

	wantCode(t, txUpdateRole(ctx, s, fullRoleUpdate(s, newRole("no-such-role", auth.PermUsersRead)), nil), auth.ENotFound)
	if _, err := s.Role(ctx, "no-such-role"); auth.ErrorCode(err) != auth.ENotFound {
		t.Errorf("UpdateRole of an unknown role created it (Role: %v)", err)
	}
}

func testDeleteRole(t *testing.T, s Backend) {
	ctx := context.Background()
	createRole(t, s, "support", auth.PermUsersRead)
	createRole(t, s, "auditor", auth.PermAuditRead)
	holder := newUser(t)
	holder.Roles = []string{auth.RoleUser, "support", "auditor"}
	mustOK(t, txCreateUser(ctx, s, holder, nil))
	onlyHolder := newUser(t)
	onlyHolder.Roles = []string{"support"}
	mustOK(t, txCreateUser(ctx, s, onlyHolder, nil))
	bystander := createUser(t, s)

	holders, err := txDeleteRole(ctx, s, "support", nil)
	mustOK(t, err)
	slices.Sort(holders)
	want := []string{holder.ID, onlyHolder.ID}
	slices.Sort(want)
	if d := diff(want, holders); d != "" {
		t.Errorf("DeleteRole holders (-want +got):\n%s", d)
	}
	for _, c := range []struct {
		u     *auth.User
		roles []string
	}{
		{holder, []string{"auditor", auth.RoleUser}},
		{onlyHolder, nil},
		{bystander, []string{auth.RoleUser}},
	} {
		if d := diff(c.roles, getUser(t, s, c.u.ID).Roles); d != "" {
			t.Errorf("roles of %s after DeleteRole (-want +got):\n%s", c.u.Email, d)
		}
	}
	_, err = s.Role(ctx, "support")
	wantCode(t, err, auth.ENotFound)
	_, err = txDeleteRole(ctx, s, "support", nil)
	wantCode(t, err, auth.ENotFound)
	roles, err := s.Roles(ctx)
	mustOK(t, err)
	var names []string
	for _, r := range roles {
		names = append(names, r.Name)
	}
	if d := diff([]string{auth.RoleAdmin, "auditor", auth.RoleUser}, names); d != "" {
		t.Errorf("Roles() after DeleteRole (-want +got):\n%s", d)
	}

	// A new role of the same name starts without holders.
	createRole(t, s, "support")
	if d := diff([]string{"auditor", auth.RoleUser}, getUser(t, s, holder.ID).Roles); d != "" {
		t.Errorf("a recreated role went back to its former holder (-want +got):\n%s", d)
	}
	holders, err = txDeleteRole(ctx, s, "support", nil)
	mustOK(t, err)
	if len(holders) != 0 {
		t.Errorf("DeleteRole of a role nobody holds returned holders %q", holders)
	}
}

func testGrantRole(t *testing.T, s Backend) {
	ctx := context.Background()
	u := createUser(t, s)
	createRole(t, s, "support")
	when := at(u.UpdatedAt, time.Minute)
	mustOK(t, txGrantRole(ctx, s, u.ID, auth.RoleAdmin, when, nil))
	want := *u
	want.Roles, want.UpdatedAt, want.Version = []string{auth.RoleAdmin, auth.RoleUser}, when, 2
	if d := diff(&want, getUser(t, s, u.ID)); d != "" {
		t.Errorf("after GrantRole(admin) (-want +got):\n%s", d)
	}
	when = at(when, time.Minute)
	mustOK(t, txGrantRole(ctx, s, u.ID, "support", when, nil))
	want.Roles, want.UpdatedAt, want.Version = []string{auth.RoleAdmin, "support", auth.RoleUser}, when, 3
	if d := diff(&want, getUser(t, s, u.ID)); d != "" {
		t.Errorf("after GrantRole(support) (-want +got):\n%s", d)
	}

	// Granting a held role changes nothing, not even UpdatedAt or Version,
	// and says so.
	wantNoChange(t, txGrantRole(ctx, s, u.ID, auth.RoleAdmin, at(when, time.Minute), nil))
	if d := diff(&want, getUser(t, s, u.ID)); d != "" {
		t.Errorf("after granting a held role (-want +got):\n%s", d)
	}

	for _, id := range []string{newID(t), "not-a-uuid"} {
		wantCode(t, txGrantRole(ctx, s, id, auth.RoleAdmin, now(), nil), auth.ENotFound)
	}
	wantCode(t, txGrantRole(ctx, s, u.ID, "no-such-role", at(when, time.Hour), nil), auth.EInvalid)
	if d := diff(&want, getUser(t, s, u.ID)); d != "" {
		t.Errorf("after granting an unknown role (-want +got):\n%s", d)
	}
}

func testRevokeRole(t *testing.T, s Backend) {
	ctx := context.Background()
	createRole(t, s, "support")
	u := newUser(t)
	u.Roles = []string{auth.RoleUser, "support"}
	mustOK(t, txCreateUser(ctx, s, u, nil))

	when := at(u.UpdatedAt, time.Minute)
	mustOK(t, txRevokeRole(ctx, s, u.ID, "support", when, nil))
	want := *u
	want.Roles, want.UpdatedAt, want.Version = []string{auth.RoleUser}, when, 2
	if d := diff(&want, getUser(t, s, u.ID)); d != "" {
		t.Errorf("after RevokeRole (-want +got):\n%s", d)
	}

	// Revoking a role the user does not hold, known or not, changes nothing,
	// and says so.
	for _, role := range []string{"support", auth.RoleAdmin, "no-such-role"} {
		wantNoChange(t, txRevokeRole(ctx, s, u.ID, role, at(when, time.Minute), nil))
		if d := diff(&want, getUser(t, s, u.ID)); d != "" {
			t.Errorf("after revoking unheld role %q (-want +got):\n%s", role, d)
		}
	}

	for _, id := range []string{newID(t), "not-a-uuid"} {
		wantCode(t, txRevokeRole(ctx, s, id, auth.RoleUser, now(), nil), auth.ENotFound)
	}

	// The last role too.
	when = at(when, time.Hour)
	mustOK(t, txRevokeRole(ctx, s, u.ID, auth.RoleUser, when, nil))
	want.Roles, want.UpdatedAt, want.Version = nil, when, 3
	if d := diff(&want, getUser(t, s, u.ID)); d != "" {
		t.Errorf("after revoking the last role (-want +got):\n%s", d)
	}
}

func testLastAdminRevokeRole(t *testing.T, s Backend) {
	ctx := context.Background()
	log := &auditLog{t: t, s: s}
	a := createAdmin(t, s)
	createUser(t, s) // a user without admin doesn't count

	log.unchanged(txRevokeRole(ctx, s, a.ID, auth.RoleAdmin, at(now(), 0),
		newEvent(t, auth.EventRoleRevoked, a.ID, auth.RoleAdmin)), auth.ELastAdmin)
	if d := diff(a, getUser(t, s, a.ID)); d != "" {
		t.Errorf("a failed RevokeRole changed the user (-want +got):\n%s", d)
	}
	// Other roles of the last admin can go.
	mustOK(t, txRevokeRole(ctx, s, a.ID, auth.RoleUser, at(now(), 0), nil))

	b := createAdmin(t, s)
	ev := newEvent(t, auth.EventRoleRevoked, a.ID, auth.RoleAdmin)
	log.recorded(ev, txRevokeRole(ctx, s, a.ID, auth.RoleAdmin, at(now(), 0), ev))
	if roles := getUser(t, s, a.ID).Roles; len(roles) != 0 {
		t.Errorf("roles after revoking admin = %q, want none", roles)
	}
	// Now b is the last.
	log.unchanged(txRevokeRole(ctx, s, b.ID, auth.RoleAdmin, at(now(), 0),
		newEvent(t, auth.EventRoleRevoked, b.ID, auth.RoleAdmin)), auth.ELastAdmin)
	if d := diff(b, getUser(t, s, b.ID)); d != "" {
		t.Errorf("a failed RevokeRole changed the user (-want +got):\n%s", d)
	}
}

// disabled returns a copy of u disabled at a later time.
func disabled(u *auth.User) *auth.User {
	d := *u
	d.Status = auth.StatusDisabled
	d.UpdatedAt = at(now(), time.Minute)
	return &d
}

func testLastAdminDisable(t *testing.T, s Backend) {
	ctx := context.Background()
	log := &auditLog{t: t, s: s}
	a := createAdmin(t, s)
	sess, _ := createSession(t, s, a.ID, now())
	a = getUser(t, s, a.ID) // with its LastLoginAt

	log.unchanged(txUpdateUser(ctx, s, a.ID, fullUpdate(s, disabled(a), true),
		newEvent(t, auth.EventUserDisabled, a.ID, "")), auth.ELastAdmin)
	if d := diff(a, getUser(t, s, a.ID)); d != "" {
		t.Errorf("a failed UpdateUser changed the user (-want +got):\n%s", d)
	}
	if !getSession(t, s, a.ID, sess.ID).RevokedAt.IsZero() {
		t.Error("a failed UpdateUser ended the user's sessions")
	}

	// An update that leaves the last admin active is allowed.
	renamed := *a
	renamed.Name, renamed.UpdatedAt = "Renamed", at(now(), 0)
	mustOK(t, txUpdateUser(ctx, s, renamed.ID, fullUpdate(s, &renamed, false), nil))

	b := createAdmin(t, s)
	ev := newEvent(t, auth.EventUserDisabled, a.ID, "")
	off := disabled(&renamed)
	log.recorded(ev, txUpdateUser(ctx, s, off.ID, fullUpdate(s, off, true), ev))
	if got := getUser(t, s, a.ID).Status; got != auth.StatusDisabled {
		t.Errorf("Status = %q, want %q", got, auth.StatusDisabled)
	}
	if r := getSession(t, s, a.ID, sess.ID).RevokedAt; !r.Equal(off.UpdatedAt) {
		t.Errorf("session RevokedAt = %v, want %v", r, off.UpdatedAt)
	}
	// a, disabled, no longer counts: b is the last active admin.
	log.unchanged(txUpdateUser(ctx, s, b.ID, fullUpdate(s, disabled(b), false),
		newEvent(t, auth.EventUserDisabled, b.ID, "")), auth.ELastAdmin)
	if d := diff(b, getUser(t, s, b.ID)); d != "" {
		t.Errorf("a failed UpdateUser changed the user (-want +got):\n%s", d)
	}
}

func testLastAdminDelete(t *testing.T, s Backend) {
	ctx := context.Background()
	log := &auditLog{t: t, s: s}
	a := createAdmin(t, s)
	sess, _ := createSession(t, s, a.ID, now())
	a = getUser(t, s, a.ID) // with its LastLoginAt

	log.unchanged(txDeleteUser(ctx, s, a.ID, 0, newEvent(t, auth.EventUserDeleted, a.ID, "")), auth.ELastAdmin)
	if d := diff(a, getUser(t, s, a.ID)); d != "" {
		t.Errorf("a failed DeleteUser changed the user (-want +got):\n%s", d)
	}
	getSession(t, s, a.ID, sess.ID)

	b := createAdmin(t, s)
	ev := newEvent(t, auth.EventUserDeleted, a.ID, "")
	log.recorded(ev, txDeleteUser(ctx, s, a.ID, 0, ev))
	_, err := s.User(ctx, a.ID)
	wantCode(t, err, auth.ENotFound)
	log.unchanged(txDeleteUser(ctx, s, b.ID, 0, newEvent(t, auth.EventUserDeleted, b.ID, "")), auth.ELastAdmin)
	getUser(t, s, b.ID)
}

func testLastAdminDisabledDoesNotCount(t *testing.T, s Backend) {
	ctx := context.Background()
	a := createAdmin(t, s)
	off := newUser(t) // a disabled admin
	off.Roles, off.Status = []string{auth.RoleAdmin}, auth.StatusDisabled
	mustOK(t, txCreateUser(ctx, s, off, nil))

	wantCode(t, txRevokeRole(ctx, s, a.ID, auth.RoleAdmin, now(), nil), auth.ELastAdmin)
	wantCode(t, txUpdateUser(ctx, s, a.ID, fullUpdate(s, disabled(a), false), nil), auth.ELastAdmin)
	wantCode(t, txDeleteUser(ctx, s, a.ID, 0, nil), auth.ELastAdmin)
	if d := diff(a, getUser(t, s, a.ID)); d != "" {
		t.Errorf("failed calls changed the last active admin (-want +got):\n%s", d)
	}

	// The disabled admin is not the last active one: it may be disabled
	// again, lose the role, and be deleted while holding it.
	mustOK(t, txUpdateUser(ctx, s, off.ID, fullUpdate(s, disabled(off), true), nil))
	mustOK(t, txRevokeRole(ctx, s, off.ID, auth.RoleAdmin, now(), nil))
	mustOK(t, txGrantRole(ctx, s, off.ID, auth.RoleAdmin, now(), nil))
	mustOK(t, txDeleteUser(ctx, s, off.ID, 0, nil))
	if d := diff(a, getUser(t, s, a.ID)); d != "" {
		t.Errorf("changes to a disabled admin changed the last active admin (-want +got):\n%s", d)
	}

	// Enabled again, a disabled admin counts again.
	other := newUser(t)
	other.Roles, other.Status = []string{auth.RoleAdmin}, auth.StatusDisabled
	mustOK(t, txCreateUser(ctx, s, other, nil))
	on := *other
	on.Status, on.UpdatedAt = auth.StatusActive, at(now(), 0)
	mustOK(t, txUpdateUser(ctx, s, on.ID, fullUpdate(s, &on, false), nil))
	mustOK(t, txRevokeRole(ctx, s, a.ID, auth.RoleAdmin, now(), nil))
}

// adminOp takes admin from u one way or another, in a unit of work that
// appends ev (of type typ, about resource).
type adminOp struct {
	name     string
	typ      auth.EventType
	resource string
	do       func(s Backend, u *auth.User, ev *auth.Event) error
}

var adminOps = []adminOp{
	{"RevokeRole", auth.EventRoleRevoked, auth.RoleAdmin, func(s Backend, u *auth.User, ev *auth.Event) error {
		return txRevokeRole(context.Background(), s, u.ID, auth.RoleAdmin, ev.At, ev)
	}},
	{"UpdateUser(disabled)", auth.EventUserDisabled, "", func(s Backend, u *auth.User, ev *auth.Event) error {
		return txUpdateUser(context.Background(), s, u.ID, fullUpdate(s, disabled(u), true), ev)
	}},
	{"DeleteUser", auth.EventUserDeleted, "", func(s Backend, u *auth.User, ev *auth.Event) error {
		return txDeleteUser(context.Background(), s, u.ID, 0, ev)
	}},
}

// activeAdmin reports whether the user exists, is active and holds admin.
func activeAdmin(t *testing.T, s Backend, id string) bool {
	t.Helper()
	u, err := s.User(context.Background(), id)
	if auth.ErrorCode(err) == auth.ENotFound {
		return false
	}
	mustOK(t, err)
	return u.Status == auth.StatusActive && slices.Contains(u.Roles, auth.RoleAdmin)
}

// testLastAdminConcurrently takes admin from both of the last two admins at
// once, every pair of ways, many times: exactly one call of each round
// succeeds, and one active admin remains.
func testLastAdminConcurrently(t *testing.T, s Backend) {
	log := &auditLog{t: t, s: s}
	survivor := createAdmin(t, s)
	n := len(adminOps)
	for round := range 3 * n * n {
		opA, opB := adminOps[round%n], adminOps[round/n%n]
		a, b := survivor, createAdmin(t, s)
		evA := newEvent(t, opA.typ, a.ID, opA.resource)
		evB := newEvent(t, opB.typ, b.ID, opB.resource)
		var errA, errB error
		var wg sync.WaitGroup
		start := make(chan struct{})
		wg.Go(func() { <-start; errA = opA.do(s, a, evA) })
		wg.Go(func() { <-start; errB = opB.do(s, b, evB) })
		close(start)
		wg.Wait()

		codeA, codeB := auth.ErrorCode(errA), auth.ErrorCode(errB)
		switch {
		case codeA == "" && codeB == auth.ELastAdmin:
			survivor = b
			log.want = append(log.want, evA)
		case codeB == "" && codeA == auth.ELastAdmin:
			survivor = a
			log.want = append(log.want, evB)
		default:
			t.Fatalf("round %d: %s(a) = %v, %s(b) = %v; want one nil and one %s",
				round, opA.name, errA, opB.name, errB, auth.ELastAdmin)
		}
		winner := a
		if survivor == a {
			winner = b
		}
		if !activeAdmin(t, s, survivor.ID) {
			t.Fatalf("round %d (%s, %s): the admin whose call failed is no longer an active admin", round, opA.name, opB.name)
		}
		if activeAdmin(t, s, winner.ID) {
			t.Fatalf("round %d (%s, %s): the admin whose call succeeded is still an active admin", round, opA.name, opB.name)
		}
	}
	wantEvents(t, s, log.want...)
}

// testGrantRoleWhileDeletingIt races granting a role with deleting it: the
// grant either comes first, and its user is among the holders DeleteRole
// returns, or finds the role gone; the role never survives with a holder.
func testGrantRoleWhileDeletingIt(t *testing.T, s Backend) {
	ctx := context.Background()
	u := createUser(t, s)
	for round := range 20 {
		name := fmt.Sprintf("role%d", round)
		createRole(t, s, name)
		var (
			start     = make(chan struct{})
			wg        sync.WaitGroup
			errGrant  error
			errDelete error
			holders   []string
		)
		wg.Go(func() { <-start; errGrant = txGrantRole(ctx, s, u.ID, name, now(), nil) })
		wg.Go(func() { <-start; holders, errDelete = txDeleteRole(ctx, s, name, nil) })
		close(start)
		wg.Wait()
		if errDelete != nil {
			t.Fatalf("round %d: DeleteRole: %v", round, errDelete)
		}
		switch auth.ErrorCode(errGrant) {
		case "":
			if d := diff([]string{u.ID}, holders); d != "" {
				t.Fatalf("round %d: the grant succeeded but DeleteRole returned other holders (-want +got):\n%s", round, d)
			}
		case auth.EInvalid:
			if len(holders) != 0 {
				t.Fatalf("round %d: the grant found no role but DeleteRole returned holders %q", round, holders)
			}
		default:
			t.Fatalf("round %d: GrantRole: %v; want nil or %s", round, errGrant, auth.EInvalid)
		}
		if d := diff([]string{auth.RoleUser}, getUser(t, s, u.ID).Roles); d != "" {
			t.Fatalf("round %d: roles after the race (-want +got):\n%s", round, d)
		}
	}
}

// testGrantAdminWhileDeleting races granting admin to a user with deleting
// that user, which takes the last-admin guard's lock: the grant must never
// deadlock with the deletion, only find the user gone or come first.
func testGrantAdminWhileDeleting(t *testing.T, s Backend) {
	ctx := context.Background()
	admin := createAdmin(t, s) // so that the deletions pass the guard
	for round := range 50 {
		u := createUser(t, s)
		var (
			start               = make(chan struct{})
			wg                  sync.WaitGroup
			errGrant, errDelete error
		)
		wg.Go(func() { <-start; errGrant = txGrantRole(ctx, s, u.ID, auth.RoleAdmin, now(), nil) })
		wg.Go(func() { <-start; errDelete = txDeleteUser(ctx, s, u.ID, 0, nil) })
		close(start)
		wg.Wait()
		if c := auth.ErrorCode(errGrant); c != "" && c != auth.ENotFound {
			t.Fatalf("round %d: GrantRole: %v; want nil or %s", round, errGrant, auth.ENotFound)
		}
		if errDelete != nil {
			t.Fatalf("round %d: DeleteUser: %v", round, errDelete)
		}
		_, err := s.User(ctx, u.ID)
		wantCode(t, err, auth.ENotFound)
	}
	if !activeAdmin(t, s, admin.ID) {
		t.Error("the bystanding admin is no longer an active admin")
	}
}
