package auth

import (
	"context"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// The role catalog (every role with its permissions) is cached as one entry
// in its own cache group, so a permission check reads no database on a warm
// cache and a role change reaches every replica at its next request.
const (
	rolesGroup = "roles" // never a user id: those are UUIDs
	rolesKey   = "catalog"
	rolesTTL   = 10 * time.Minute
)

var errForbidden = Errorf(EForbidden, "You don't have the permission this needs.")

// roleCatalog returns every role by name, through the cache.
func (s *core) roleCatalog(ctx context.Context) (map[string]*Role, error) {
	roles, err := cached(ctx, s, rolesGroup, rolesKey, func(ctx context.Context) ([]*Role, time.Duration, error) {
		roles, err := s.store.Roles(ctx)
		return roles, rolesTTL, err
	})
	if err != nil {
		return nil, err
	}
	byName := make(map[string]*Role, len(roles))
	for _, r := range roles {
		byName[r.Name] = r
	}
	return byName, nil
}

// permissionsOf returns the permissions that holding roles grants. The admin
// role grants every permission whatever its stored list says, so a
// permission added in a later release reaches admins without a migration.
func permissionsOf(catalog map[string]*Role, roles []string) map[Permission]bool {
	perms := map[Permission]bool{}
	for _, name := range roles {
		if name == RoleAdmin {
			for _, p := range Permissions() {
				perms[p] = true
			}
			continue
		}
		if r := catalog[name]; r != nil {
			for _, p := range r.Permissions {
				perms[p] = true
			}
		}
	}
	return perms
}

// Permissions returns the caller's current permissions, sorted.
func (s *Accounts) Permissions(ctx context.Context, p *Principal) ([]Permission, error) {
	perms, err := s.permissions(ctx, p)
	if err != nil {
		return nil, err
	}
	out := make([]Permission, 0, len(perms))
	for perm := range perms {
		out = append(out, perm)
	}
	slices.Sort(out)
	return out, nil
}

func (s *core) permissions(ctx context.Context, p *Principal) (map[Permission]bool, error) {
	catalog, err := s.roleCatalog(ctx)
	if err != nil {
		return nil, err
	}
	return permissionsOf(catalog, p.Roles), nil
}

// require returns EForbidden unless the caller's current roles grant perm.
// The roles are those Authenticate loaded for this request, so a role taken
// away stops working at the caller's next request.
func (s *core) require(ctx context.Context, p *Principal, perm Permission) error {
	perms, err := s.permissions(ctx, p)
	if err != nil {
		return err
	}
	if !perms[perm] {
		return errForbidden
	}
	return nil
}

// requireAll returns EForbidden unless the caller holds every permission in
// want: nobody hands out (or takes away) powers they don't have themselves,
// which is what keeps a role manager from raising their own privileges.
func (s *core) requireAll(ctx context.Context, p *Principal, want []Permission) error {
	perms, err := s.permissions(ctx, p)
	if err != nil {
		return err
	}
	for _, perm := range want {
		if !perms[perm] {
			return Errorf(EForbidden, "You can't hand out or take away the permission %q: you don't hold it.", perm)
		}
	}
	return nil
}

// rolePermissions returns the permissions the named role grants (every
// permission for admin).
func rolePermissions(r *Role) []Permission {
	if r.Name == RoleAdmin {
		return Permissions()
	}
	return r.Permissions
}

// Roles returns every role, admin with every permission. Needs
// roles:manage.
func (s *Admin) Roles(ctx context.Context, p *Principal) ([]*Role, error) {
	if err := s.require(ctx, p, PermRolesManage); err != nil {
		return nil, err
	}
	roles, err := s.store.Roles(ctx)
	for _, r := range roles {
		r.Permissions = rolePermissions(r)
	}
	return roles, err
}

// Role returns the named role, admin with every permission. Needs
// roles:manage. Returns ENotFound.
func (s *Admin) Role(ctx context.Context, p *Principal, name string) (*Role, error) {
	if err := s.require(ctx, p, PermRolesManage); err != nil {
		return nil, err
	}
	if !ValidRoleName(name) {
		return nil, ErrRoleNotFound
	}
	r, err := s.store.Role(ctx, name)
	if err != nil {
		return nil, notFoundAs(err, ErrRoleNotFound)
	}
	r.Permissions = rolePermissions(r)
	return r, nil
}

// RoleInput is what a role is created from.
type RoleInput struct {
	Name        string
	Description string
	Permissions []string
}

// RolePatch is an edit of a role; nil leaves a field unchanged.
type RolePatch struct {
	Description *string
	Permissions *[]string
}

const maxRoleDescription = 512

func checkRoleDescription(d string) (string, error) {
	d = strings.TrimSpace(d)
	if !utf8.ValidString(d) || utf8.RuneCountInString(d) > maxRoleDescription || strings.ContainsFunc(d, isControl) {
		return "", Errorf(EInvalid, "description must be at most %d characters of text", maxRoleDescription)
	}
	return d, nil
}

func isControl(r rune) bool { return r < 0x20 || r == 0x7f }

func checkPermissions(perms []string) ([]Permission, error) {
	for _, p := range perms {
		if !KnownPermission(p) {
			return nil, Errorf(EInvalid, "unknown permission %q (known: %s)", truncate(p, 64), strings.Join(Permissions(), ", "))
		}
	}
	return SortedSet(perms), nil
}

// CreateRole creates a role. Needs roles:manage and every permission the role
// grants. Returns EInvalid for a malformed name, description or permission
// and EConflict if the name is taken.
func (s *Admin) CreateRole(ctx context.Context, p *Principal, in RoleInput) (*Role, error) {
	if err := s.require(ctx, p, PermRolesManage); err != nil {
		return nil, err
	}
	if !ValidRoleName(in.Name) {
		return nil, Errorf(EInvalid, "name must be 1 to 64 characters: a-z first, then a-z 0-9 _ . : -")
	}
	desc, err := checkRoleDescription(in.Description)
	if err != nil {
		return nil, err
	}
	perms, err := checkPermissions(in.Permissions)
	if err != nil {
		return nil, err
	}
	if err := s.requireAll(ctx, p, perms); err != nil {
		return nil, err
	}
	now := s.now()
	r := &Role{Name: in.Name, Description: desc, Permissions: perms, Version: 1, CreatedAt: now, UpdatedAt: now}
	ev := newEvent(EventRoleCreated, now, Origin{}).byPrincipal(p).about("", r.Name)
	if err := s.inGlobal(ctx, ev, func(tx GlobalTx) error { return tx.CreateRole(ctx, r) }); err != nil {
		if ErrorCode(err) == EConflict {
			return nil, Errorf(EConflict, "A role named %q exists.", r.Name)
		}
		return nil, err
	}
	s.invalidate(ctx, rolesGroup)
	return r, nil
}

// UpdateRole edits a role's description and permissions, writing only the
// fields the patch sets. Needs roles:manage and every permission the role
// grants before and after the edit. A role that reaches the caller's peers
// wholesale — one the caller holds, or the default role every account holds
// — can't gain permissions from anyone but an admin (see widensShared). The
// admin role's permissions can't be edited (it always has all). Returns
// ENotFound, EInvalid, EForbidden, and EConflict when the role changed
// between our read and our write (the edit must not undo that change).
func (s *Admin) UpdateRole(ctx context.Context, p *Principal, name string, patch RolePatch) (*Role, error) {
	r, err := s.Role(ctx, p, name)
	if err != nil {
		return nil, err
	}
	if err := s.requireAll(ctx, p, rolePermissions(r)); err != nil {
		return nil, err
	}
	up := &RoleUpdate{Name: r.Name, Version: r.Version}
	if patch.Description != nil {
		desc, err := checkRoleDescription(*patch.Description)
		if err != nil {
			return nil, err
		}
		up.Description = &desc
	}
	if patch.Permissions != nil {
		if r.Name == RoleAdmin {
			return nil, Errorf(EInvalid, "The admin role always has every permission.")
		}
		perms, err := checkPermissions(*patch.Permissions)
		if err != nil {
			return nil, err
		}
		if err := s.requireAll(ctx, p, perms); err != nil {
			return nil, err
		}
		if added := widensShared(p, r, perms); added != "" {
			return nil, Errorf(EForbidden, "Only an admin can add %q to the role %q: it would reach every holder of a role you hold, or every account.", added, r.Name)
		}
		up.Permissions = &perms
	}
	up.At = s.now()
	ev := newEvent(EventRoleUpdated, up.At, Origin{}).byPrincipal(p).about("", r.Name)
	switch err := s.inGlobal(ctx, ev, func(tx GlobalTx) error { return tx.UpdateRole(ctx, up) }); ErrorCode(err) {
	case "":
	case EConflict:
		return nil, errChangedMeanwhile
	default:
		return nil, notFoundAs(err, ErrRoleNotFound)
	}
	s.invalidate(ctx, rolesGroup)
	if up.Description != nil {
		r.Description = *up.Description
	}
	if up.Permissions != nil {
		r.Permissions = *up.Permissions
	}
	r.Version, r.UpdatedAt = r.Version+1, up.At
	return r, nil
}

// widensShared returns a permission that perms would add to r beyond what
// the default role ships with, when r is a role the caller holds or the
// default role and the caller is not an admin; "" otherwise. Holding a
// permission is not licence to hand it to a crowd: widening the default role
// gives it to every account and every future sign-up, and widening one's own
// role gives it to every peer holding it — self-grant by proxy.
func widensShared(p *Principal, r *Role, perms []Permission) Permission {
	if slices.Contains(p.Roles, RoleAdmin) || (r.Name != RoleUser && !slices.Contains(p.Roles, r.Name)) {
		return ""
	}
	for _, perm := range perms {
		if !slices.Contains(r.Permissions, perm) && !slices.Contains(defaultRolePermissions(), perm) {
			return perm
		}
	}
	return ""
}

// DeleteRole deletes a role and takes it from every holder, at once. Needs
// roles:manage and every permission the role grants. Built-in roles can't be
// deleted (EConflict). Returns ENotFound.
func (s *Admin) DeleteRole(ctx context.Context, p *Principal, name string) error {
	r, err := s.Role(ctx, p, name)
	if err != nil {
		return err
	}
	if r.Builtin {
		return Errorf(EConflict, "The built-in role %q can't be deleted.", r.Name)
	}
	if err := s.requireAll(ctx, p, rolePermissions(r)); err != nil {
		return err
	}
	ev := newEvent(EventRoleDeleted, s.now(), Origin{}).byPrincipal(p).about("", r.Name)
	var holders []string
	err = s.inGlobal(ctx, ev, func(tx GlobalTx) (err error) {
		holders, err = tx.DeleteRole(ctx, r.Name)
		return err
	})
	if err != nil {
		return notFoundAs(err, ErrRoleNotFound)
	}
	s.invalidate(ctx, rolesGroup)
	for _, id := range holders {
		s.invalidate(ctx, id)
	}
	return nil
}

// GrantRole gives a user a role. Needs roles:manage and every permission the
// role grants; nobody can grant a role to themselves. Granting a held role
// succeeds and changes nothing. Returns ENotFound for an unknown user or
// role.
func (s *Admin) GrantRole(ctx context.Context, p *Principal, userID, role string) error {
	return s.changeRole(ctx, p, userID, role, true)
}

// RevokeRole takes a role from a user, effective at the user's next request.
// Needs roles:manage and every permission the role grants. Returns ENotFound
// for an unknown user or role and ELastAdmin when it would leave no active
// admin.
func (s *Admin) RevokeRole(ctx context.Context, p *Principal, userID, role string) error {
	return s.changeRole(ctx, p, userID, role, false)
}

func (s *Admin) changeRole(ctx context.Context, p *Principal, userID, role string, grant bool) error {
	r, err := s.Role(ctx, p, role)
	if err != nil {
		return err
	}
	if !ValidID(userID) {
		return ErrUserNotFound
	}
	if grant && userID == p.UserID {
		return Errorf(EForbidden, "You can't grant roles to yourself.")
	}
	if err := s.requireAll(ctx, p, rolePermissions(r)); err != nil {
		return err
	}
	now := s.now()
	typ, change := EventRoleRevoked, UserTx.RevokeRole
	if grant {
		typ, change = EventRoleGranted, UserTx.GrantRole
	}
	ev := newEvent(typ, now, Origin{}).byPrincipal(p).about(userID, r.Name)
	err = s.inUser(ctx, userID, ev, func(tx UserTx) error {
		// Granting a held role (revoking one not held) is no change, and no
		// event.
		changed, err := change(tx, ctx, r.Name, now)
		if err == nil && !changed {
			return errUnchanged
		}
		return err
	})
	switch ErrorCode(err) {
	case "":
	case ENotFound:
		return ErrUserNotFound
	case EInvalid: // the role was deleted concurrently
		return ErrRoleNotFound
	case ELastAdmin:
		return ErrLastAdmin
	default:
		return err
	}
	s.invalidate(ctx, userID)
	return nil
}
