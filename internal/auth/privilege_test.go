package auth_test

import (
	"testing"

	"github.com/talentforge/authd/internal/auth"
	"github.com/talentforge/authd/internal/auth/authtest"
)

// Acting on an account is acting with its powers: a caller needs every
// permission the target's roles grant, on top of the permission of the
// action itself.

func TestHelpdeskCantActOnAdmins(t *testing.T) {
	forEachWiring(t, authtest.Options{}, func(t *testing.T, e *env) {
		_, adm := e.admin(t, "root@example.com")
		other, err := e.svc.CreateUser(t.Context(), "root2@example.com", pw, []string{auth.RoleAdmin})
		if err != nil {
			t.Fatal(err)
		}
		otherP := e.login(t, "root2@example.com")
		_, helpdesk, _ := e.userWithRole(t, adm, "help@example.com", "helpdesk",
			auth.PermUsersRead, auth.PermUsersWrite, auth.PermSessionsManage)
		plain, _ := e.register(t, "ada@example.com")

		off, yes, name := auth.StatusDisabled, true, "Pwned"
		for _, p := range []auth.UserPatch{{Status: &off}, {EmailVerified: &yes}, {Name: &name}} {
			_, err := e.svc.UpdateUser(t.Context(), helpdesk, other.ID, p)
			wantCode(t, err, auth.EForbidden)
		}
		wantCode(t, e.svc.DeleteUser(t.Context(), helpdesk, other.ID), auth.EForbidden)
		_, _, err = e.svc.UserSessions(t.Context(), helpdesk, other.ID, auth.SessionQuery{})
		wantCode(t, err, auth.EForbidden)
		wantCode(t, e.svc.RevokeUserSession(t.Context(), helpdesk, other.ID, otherP.SessionID), auth.EForbidden)
		if got := currentUser(t, e, other.ID); got.Status != auth.StatusActive || got.EmailVerified != other.EmailVerified || got.Name != other.Name {
			t.Errorf("the admin was changed: %+v", got)
		}
		if sess, err := e.store.Session(t.Context(), other.ID, otherP.SessionID); err != nil || !sess.RevokedAt.IsZero() {
			t.Errorf("the admin's session was ended: %+v, %v", sess, err)
		}

		// The same powers on an account with fewer of them work.
		if _, err := e.svc.UpdateUser(t.Context(), helpdesk, plain.ID, auth.UserPatch{Status: &off}); err != nil {
			t.Errorf("disable a plain user: %v", err)
		}
		if _, _, err := e.svc.UserSessions(t.Context(), helpdesk, plain.ID, auth.SessionQuery{}); err != nil {
			t.Errorf("list a plain user's sessions: %v", err)
		}
		if err := e.svc.DeleteUser(t.Context(), helpdesk, plain.ID); err != nil {
			t.Errorf("delete a plain user: %v", err)
		}
		// An admin acts on another admin.
		if _, err := e.svc.UpdateUser(t.Context(), adm, other.ID, auth.UserPatch{Name: &name}); err != nil {
			t.Errorf("admin renames admin: %v", err)
		}
	})
}

// The check and the write can't be split by a role grant: a deletion decided
// while the target was a plain user fails once the target became an admin.
func TestDeleteUserDuringPromotion(t *testing.T) {
	forEachBackendHooked(t, func(t *testing.T, e *env, hs *hookedStore) {
		_, adm := e.admin(t, "root@example.com")
		_, helpdesk, _ := e.userWithRole(t, adm, "help@example.com", "helpdesk", auth.PermUsersRead, auth.PermUsersWrite)
		u, _ := e.register(t, "ada@example.com")
		hs.afterUser = func() {
			if err := e.svc.GrantRole(t.Context(), adm, u.ID, auth.RoleAdmin); err != nil {
				t.Errorf("promote: %v", err)
			}
		}
		wantCode(t, e.svc.DeleteUser(t.Context(), helpdesk, u.ID), auth.EConflict)
		currentUser(t, e, u.ID) // still there
	})
}

// roles:manage can't widen a role its holder shares with others — the
// default role every account holds, or one of its own — which would grant
// by proxy what it can't grant directly.
func TestRoleManagerCantWidenSharedRoles(t *testing.T) {
	forEachWiring(t, authtest.Options{}, func(t *testing.T, e *env) {
		_, adm := e.admin(t, "root@example.com")
		_, rm, token := e.userWithRole(t, adm, "rm@example.com", "role-manager", auth.PermRolesManage)
		if _, err := e.svc.CreateRole(t.Context(), adm, auth.RoleInput{Name: "reader", Permissions: []string{auth.PermUsersRead}}); err != nil {
			t.Fatal(err)
		}
		if err := e.svc.GrantRole(t.Context(), adm, rm.UserID, "reader"); err != nil {
			t.Fatal(err)
		}
		rm = e.refreshed(t, rm, token)

		for _, c := range []struct {
			role  string
			perms []string
		}{
			{auth.RoleUser, []string{auth.PermRolesManage}},
			{auth.RoleUser, []string{auth.PermUsersRead}},
			{"role-manager", []string{auth.PermRolesManage, auth.PermUsersRead}},
			{"reader", []string{auth.PermUsersRead, auth.PermRolesManage}},
		} {
			_, err := e.svc.UpdateRole(t.Context(), rm, c.role, auth.RolePatch{Permissions: &c.perms})
			wantCode(t, err, auth.EForbidden)
		}
		// A fresh sign-up still holds no permission.
		_, pair := e.register(t, "new@example.com")
		perms, err := e.svc.Permissions(t.Context(), e.principal(t, pair))
		if err != nil || len(perms) != 0 {
			t.Errorf("a fresh sign-up's permissions: %v, %v; want none", perms, err)
		}

		// Narrowing a held role, and editing a role it doesn't hold within its
		// powers, stay allowed; so does an admin widening the default role.
		none := []string{}
		if _, err := e.svc.UpdateRole(t.Context(), rm, "reader", auth.RolePatch{Permissions: &none}); err != nil {
			t.Errorf("narrow a held role: %v", err)
		}
		if _, err := e.svc.CreateRole(t.Context(), adm, auth.RoleInput{Name: "auditor"}); err != nil {
			t.Fatal(err)
		}
		rmPerm := []string{auth.PermRolesManage}
		if _, err := e.svc.UpdateRole(t.Context(), rm, "auditor", auth.RolePatch{Permissions: &rmPerm}); err != nil {
			t.Errorf("widen a role it doesn't hold: %v", err)
		}
		read := []string{auth.PermUsersRead}
		if _, err := e.svc.UpdateRole(t.Context(), adm, auth.RoleUser, auth.RolePatch{Permissions: &read}); err != nil {
			t.Errorf("admin widens the default role: %v", err)
		}
	})
}
