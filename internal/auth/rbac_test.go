package auth_test

import (
	"slices"
	"testing"

	"github.com/talentforge/authd/internal/auth"
	"github.com/talentforge/authd/internal/auth/authtest"
)

// admin creates an administrator through the operator path and signs it in.
func (e *env) admin(t *testing.T, email string) (*auth.User, *auth.Principal) {
	t.Helper()
	u, err := e.svc.CreateUser(t.Context(), email, pw, []string{auth.RoleAdmin})
	if err != nil {
		t.Fatalf("create admin: %v", err)
	}
	return u, e.login(t, email)
}

func (e *env) login(t *testing.T, email string) *auth.Principal {
	t.Helper()
	_, pair, err := e.svc.Login(t.Context(), auth.LoginInput{Email: email, Password: pw})
	if err != nil {
		t.Fatalf("login %s: %v", email, err)
	}
	return e.principal(t, pair)
}

// refreshed re-authenticates p's token: what the next request sees.
func (e *env) refreshed(t *testing.T, p *auth.Principal, token string) *auth.Principal {
	t.Helper()
	np, err := e.svc.Authenticate(t.Context(), token)
	if err != nil {
		t.Fatalf("authenticate: %v", err)
	}
	return np
}

// userWithRole registers a user, gives it a custom role with perms (created
// by adm) and returns its principal and access token.
func (e *env) userWithRole(t *testing.T, adm *auth.Principal, email, role string, perms ...string) (*auth.User, *auth.Principal, string) {
	t.Helper()
	if _, err := e.svc.CreateRole(t.Context(), adm, auth.RoleInput{Name: role, Permissions: perms}); err != nil && auth.ErrorCode(err) != auth.EConflict {
		t.Fatalf("create role %s: %v", role, err)
	}
	u, pair := e.register(t, email)
	if err := e.svc.GrantRole(t.Context(), adm, u.ID, role); err != nil {
		t.Fatalf("grant %s: %v", role, err)
	}
	return u, e.principal(t, pair), pair.AccessToken
}

func TestPrivilegeChangesApplyAtNextRequest(t *testing.T) {
	forEachCache(t, func(t *testing.T, e *env, _ *authtest.CountingStore) {
		ctx := t.Context()
		_, adm := e.admin(t, "root@example.com")
		u, pair := e.register(t, "ada@example.com")
		p := e.principal(t, pair)
		wantCode(t, auditErr(e, t, p), auth.EForbidden)

		// Grant: the same access token gains the permission at once.
		if _, err := e.svc.CreateRole(ctx, adm, auth.RoleInput{Name: "auditor", Permissions: []string{auth.PermAuditRead}}); err != nil {
			t.Fatal(err)
		}
		if err := e.svc.GrantRole(ctx, adm, u.ID, "auditor"); err != nil {
			t.Fatal(err)
		}
		p = e.refreshed(t, p, pair.AccessToken)
		if !slices.Contains(p.Roles, "auditor") {
			t.Fatalf("roles after grant = %v", p.Roles)
		}
		wantCode(t, auditErr(e, t, p), "")

		// Editing the role's permissions applies at once too.
		none := []string{}
		if _, err := e.svc.UpdateRole(ctx, adm, "auditor", auth.RolePatch{Permissions: &none}); err != nil {
			t.Fatal(err)
		}
		wantCode(t, auditErr(e, t, e.refreshed(t, p, pair.AccessToken)), auth.EForbidden)
		all := []string{auth.PermAuditRead}
		if _, err := e.svc.UpdateRole(ctx, adm, "auditor", auth.RolePatch{Permissions: &all}); err != nil {
			t.Fatal(err)
		}
		wantCode(t, auditErr(e, t, e.refreshed(t, p, pair.AccessToken)), "")

		// Revoke: gone at the next request.
		if err := e.svc.RevokeRole(ctx, adm, u.ID, "auditor"); err != nil {
			t.Fatal(err)
		}
		wantCode(t, auditErr(e, t, e.refreshed(t, p, pair.AccessToken)), auth.EForbidden)

		// Deleting a role takes it from its holders at once.
		if err := e.svc.GrantRole(ctx, adm, u.ID, "auditor"); err != nil {
			t.Fatal(err)
		}
		wantCode(t, auditErr(e, t, e.refreshed(t, p, pair.AccessToken)), "")
		if err := e.svc.DeleteRole(ctx, adm, "auditor"); err != nil {
			t.Fatal(err)
		}
		p = e.refreshed(t, p, pair.AccessToken)
		if slices.Contains(p.Roles, "auditor") {
			t.Fatalf("roles after role deletion = %v", p.Roles)
		}
		wantCode(t, auditErr(e, t, p), auth.EForbidden)

		// Disable: every session ends at once.
		disabled := auth.StatusDisabled
		if _, err := e.svc.UpdateUser(ctx, adm, u.ID, auth.UserPatch{Status: &disabled}); err != nil {
			t.Fatal(err)
		}
		_, err := e.svc.Authenticate(ctx, pair.AccessToken)
		wantCode(t, err, auth.EUnauthorized)
		_, err = e.svc.Refresh(ctx, pair.RefreshToken, auth.Origin{})
		wantCode(t, err, auth.EInvalidRefreshToken)
	})
}

func TestNoSelfEscalation(t *testing.T) {
	forEachWiring(t, authtest.Options{}, func(t *testing.T, e *env) {
		ctx := t.Context()
		_, adm := e.admin(t, "root@example.com")
		// A role manager without the other permissions.
		mgr, p, _ := e.userWithRole(t, adm, "mgr@example.com", "role-manager", auth.PermRolesManage)
		other, _ := e.register(t, "other@example.com")

		wantCode(t, e.svc.GrantRole(ctx, p, mgr.ID, auth.RoleAdmin), auth.EForbidden)
		wantCode(t, e.svc.GrantRole(ctx, p, other.ID, auth.RoleAdmin), auth.EForbidden)
		wantCode(t, e.svc.GrantRole(ctx, p, mgr.ID, "role-manager"), auth.EForbidden) // never to oneself
		_, err := e.svc.CreateRole(ctx, p, auth.RoleInput{Name: "sneaky", Permissions: []string{auth.PermUsersWrite}})
		wantCode(t, err, auth.EForbidden)
		more := []string{auth.PermRolesManage, auth.PermUsersWrite}
		_, err = e.svc.UpdateRole(ctx, p, "role-manager", auth.RolePatch{Permissions: &more})
		wantCode(t, err, auth.EForbidden)
		// Nor take away what they don't hold.
		wantCode(t, e.svc.RevokeRole(ctx, p, adm.UserID, auth.RoleAdmin), auth.EForbidden)
		// Within their own permissions they can act.
		if _, err := e.svc.CreateRole(ctx, p, auth.RoleInput{Name: "helper", Permissions: []string{auth.PermRolesManage}}); err != nil {
			t.Fatal(err)
		}
		if err := e.svc.GrantRole(ctx, p, other.ID, "helper"); err != nil {
			t.Fatal(err)
		}
		// The admin role's permissions are fixed, and built-ins stay.
		none := []string{}
		_, err = e.svc.UpdateRole(ctx, adm, auth.RoleAdmin, auth.RolePatch{Permissions: &none})
		wantCode(t, err, auth.EInvalid)
		wantCode(t, e.svc.DeleteRole(ctx, adm, auth.RoleAdmin), auth.EConflict)
		wantCode(t, e.svc.DeleteRole(ctx, adm, auth.RoleUser), auth.EConflict)
	})
}

func TestLastAdmin(t *testing.T) {
	forEachWiring(t, authtest.Options{}, func(t *testing.T, e *env) {
		ctx := t.Context()
		root, adm := e.admin(t, "root@example.com")
		disabled := auth.StatusDisabled

		wantCode(t, e.svc.RevokeRole(ctx, adm, root.ID, auth.RoleAdmin), auth.ELastAdmin)
		_, err := e.svc.UpdateUser(ctx, adm, root.ID, auth.UserPatch{Status: &disabled})
		wantCode(t, err, auth.ELastAdmin)
		wantCode(t, e.svc.DeleteUser(ctx, adm, root.ID), auth.ELastAdmin)
		wantCode(t, e.svc.DeleteMe(ctx, adm, pw), auth.ELastAdmin)
		got, err := e.svc.User(ctx, adm, root.ID)
		if err != nil || got.Status != auth.StatusActive || !slices.Contains(got.Roles, auth.RoleAdmin) {
			t.Fatalf("the last admin changed: %+v, %v", got, err)
		}

		// With a second active admin, the first may step down.
		second, err := e.svc.CreateUser(ctx, "second@example.com", pw, []string{auth.RoleAdmin})
		if err != nil {
			t.Fatal(err)
		}
		if err := e.svc.RevokeRole(ctx, adm, root.ID, auth.RoleAdmin); err != nil {
			t.Fatal(err)
		}
		// root no longer administers anything, at once.
		_, err = e.svc.User(ctx, e.login(t, "root@example.com"), second.ID)
		wantCode(t, err, auth.EForbidden)
	})
}

func auditErr(e *env, t *testing.T, p *auth.Principal) error {
	t.Helper()
	_, _, err := e.svc.Audit(t.Context(), p, auth.AuditQuery{})
	return err
}
