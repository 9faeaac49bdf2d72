package auth_test

import (
	"context"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"github.com/talentforge/authd/internal/auth"
	"github.com/talentforge/authd/internal/auth/authtest"
	"github.com/talentforge/authd/internal/wiringtest"
)

// Races between a request's read and its write, driven deterministically:
// the store runs the other request's write at a fixed point — right after
// the read — on the same goroutine, so the interleaving is the same on
// every run.

// hookedStore runs a hook once, right after the next read of the kind it is
// set for returns.
type hookedStore struct {
	authtest.Backend
	afterUser, afterUserByEmail, afterRole func()
}

func (s *hookedStore) User(ctx context.Context, id string) (*auth.User, error) {
	u, err := s.Backend.User(ctx, id)
	runOnce(&s.afterUser)
	return u, err
}

func (s *hookedStore) UserByEmail(ctx context.Context, email string) (*auth.User, error) {
	u, err := s.Backend.UserByEmail(ctx, email)
	runOnce(&s.afterUserByEmail)
	return u, err
}

func (s *hookedStore) Role(ctx context.Context, name string) (*auth.Role, error) {
	r, err := s.Backend.Role(ctx, name)
	runOnce(&s.afterRole)
	return r, err
}

func runOnce(hook *func()) {
	if h := *hook; h != nil {
		*hook = nil
		h()
	}
}

// forEachBackendHooked runs f on each backend behind a hookedStore.
func forEachBackendHooked(t *testing.T, f func(t *testing.T, e *env, hs *hookedStore)) {
	for _, w := range wiringtest.All() {
		t.Run(w.Name, func(t *testing.T) {
			hs := &hookedStore{Backend: w.Open(t, nil)}
			f(t, newEnvOn(t, w, hs, authtest.Options{}), hs)
		})
	}
}

func currentUser(t *testing.T, e *env, id string) *auth.User {
	t.Helper()
	u, err := e.store.User(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// A user whose profile edit read the account before an admin disabled it
// must not re-enable it by writing the edit.
func TestUpdateMeDuringDisableDoesNotReenable(t *testing.T) {
	forEachBackendHooked(t, func(t *testing.T, e *env, hs *hookedStore) {
		_, adm := e.admin(t, "root@example.com")
		u, pair := e.register(t, "ada@example.com")
		p := e.principal(t, pair)

		off := auth.StatusDisabled
		hs.afterUser = func() {
			if _, err := e.svc.UpdateUser(t.Context(), adm, u.ID, auth.UserPatch{Status: &off}); err != nil {
				t.Errorf("disable: %v", err)
			}
		}
		name := "Ada"
		_, err := e.svc.UpdateMe(t.Context(), p, auth.ProfilePatch{Name: &name})
		wantCode(t, err, auth.EConflict)
		if got := currentUser(t, e, u.ID); got.Status != auth.StatusDisabled || got.Name == name {
			t.Errorf("after the race: status %q, name %q; want disabled, unchanged", got.Status, got.Name)
		}
	})
}

// Two administrators' edits of one account: the one decided on a stale copy
// gets EConflict instead of silently undoing the other.
func TestAdminEditDuringAnotherAdminsDisable(t *testing.T) {
	forEachBackendHooked(t, func(t *testing.T, e *env, hs *hookedStore) {
		_, a := e.admin(t, "root@example.com")
		_, b := e.admin(t, "root2@example.com")
		u, _ := e.register(t, "ada@example.com")

		off := auth.StatusDisabled
		hs.afterUser = func() {
			if _, err := e.svc.UpdateUser(t.Context(), b, u.ID, auth.UserPatch{Status: &off}); err != nil {
				t.Errorf("disable: %v", err)
			}
		}
		yes := true
		_, err := e.svc.UpdateUser(t.Context(), a, u.ID, auth.UserPatch{EmailVerified: &yes})
		wantCode(t, err, auth.EConflict)
		if got := currentUser(t, e, u.ID); got.Status != auth.StatusDisabled || got.EmailVerified {
			t.Errorf("after the race: status %q, email_verified %v; want disabled, false", got.Status, got.EmailVerified)
		}
	})
}

// A description edit read before another admin removed a permission must not
// restore the permission.
func TestRoleEditDuringPermissionRemoval(t *testing.T) {
	forEachBackendHooked(t, func(t *testing.T, e *env, hs *hookedStore) {
		_, a := e.admin(t, "root@example.com")
		_, b := e.admin(t, "root2@example.com")
		if _, err := e.svc.CreateRole(t.Context(), a, auth.RoleInput{
			Name: "support", Permissions: []string{auth.PermUsersRead, auth.PermSessionsManage},
		}); err != nil {
			t.Fatal(err)
		}
		narrowed := []string{auth.PermUsersRead}
		hs.afterRole = func() {
			if _, err := e.svc.UpdateRole(t.Context(), b, "support", auth.RolePatch{Permissions: &narrowed}); err != nil {
				t.Errorf("narrow: %v", err)
			}
		}
		desc := "Helpdesk."
		_, err := e.svc.UpdateRole(t.Context(), a, "support", auth.RolePatch{Description: &desc})
		wantCode(t, err, auth.EConflict)
		r, err := e.svc.Role(t.Context(), a, "support")
		if err != nil {
			t.Fatal(err)
		}
		if strings.Join(r.Permissions, ",") != auth.PermUsersRead || r.Description == desc {
			t.Errorf("after the race: permissions %v, description %q", r.Permissions, r.Description)
		}
	})
}

// setBcryptHash gives the user an imported bcrypt hash of pw, which the next
// login upgrades.
func setBcryptHash(t *testing.T, e *env, id string) {
	t.Helper()
	h, err := bcrypt.GenerateFromPassword([]byte(pw), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.store.UpgradePasswordHash(t.Context(), id, currentUser(t, e, id).PasswordHash, string(h)); err != nil {
		t.Fatal(err)
	}
}

// A login whose password check read the account before a password change
// (which ends every other session) must neither leave a session behind nor
// put a hash of the old password back with its hash upgrade.
func TestLoginDuringPasswordChange(t *testing.T) {
	forEachBackendHooked(t, func(t *testing.T, e *env, hs *hookedStore) {
		u, pair := e.register(t, "ada@example.com")
		owner := e.principal(t, pair)
		setBcryptHash(t, e, u.ID) // so that the racing login also upgrades the hash
		const next = "a brand new passphrase"

		hs.afterUserByEmail = func() {
			if err := e.svc.ChangePassword(t.Context(), owner, pw, next); err != nil {
				t.Errorf("change password: %v", err)
			}
		}
		_, _, err := e.svc.Login(t.Context(), auth.LoginInput{Email: "ada@example.com", Password: pw})
		wantCode(t, err, auth.EInvalidCredentials)

		sessions, err := e.store.ListSessions(t.Context(), auth.SessionFilter{UserID: u.ID, ActiveAt: e.clock.Now(), Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		if len(sessions) != 1 || sessions[0].ID != owner.SessionID {
			t.Errorf("active sessions after the race: %d, want only the changer's", len(sessions))
		}
		_, _, err = e.svc.Login(t.Context(), auth.LoginInput{Email: "ada@example.com", Password: pw})
		wantCode(t, err, auth.EInvalidCredentials)
		if _, _, err := e.svc.Login(t.Context(), auth.LoginInput{Email: "ada@example.com", Password: next}); err != nil {
			t.Errorf("login with the new password: %v", err)
		}
	})
}

// A concurrent login that upgrades the hash is not a password change: the
// other login, checked against the pre-upgrade hash, still succeeds.
func TestLoginDuringHashUpgradeSucceeds(t *testing.T) {
	forEachBackendHooked(t, func(t *testing.T, e *env, hs *hookedStore) {
		u, _ := e.register(t, "ada@example.com")
		setBcryptHash(t, e, u.ID)
		hs.afterUserByEmail = func() {
			if _, _, err := e.svc.Login(t.Context(), auth.LoginInput{Email: "ada@example.com", Password: pw}); err != nil {
				t.Errorf("racing login: %v", err)
			}
		}
		if _, _, err := e.svc.Login(t.Context(), auth.LoginInput{Email: "ada@example.com", Password: pw}); err != nil {
			t.Fatalf("login: %v", err)
		}
		if h := currentUser(t, e, u.ID).PasswordHash; !strings.HasPrefix(h, "$argon2id$") {
			t.Errorf("hash not upgraded: %q", h)
		}
	})
}
