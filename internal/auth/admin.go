package auth

import (
	"context"
	"strings"
)

// Administration of other users' accounts. Every method checks its
// permission before it looks anything up, so a caller without it can't tell
// an existing user from a missing one.

// UserQuery selects users for ListUsers. Cursor is the NextCursor of the
// previous page ("" for the first).
type UserQuery struct {
	EmailPrefix string
	Role        string
	Status      UserStatus
	Cursor      string
	Limit       int // 1..100; 0 means DefaultPageSize
}

// ListUsers returns one page of users in creation order and the cursor of
// the next page ("" on the last). Users created during a walk appear at its
// end; none is skipped or repeated. Needs users:read. Returns EInvalid for a
// malformed filter, cursor or limit.
func (s *Admin) ListUsers(ctx context.Context, p *Principal, q UserQuery) ([]*User, string, error) {
	if err := s.require(ctx, p, PermUsersRead); err != nil {
		return nil, "", err
	}
	limit, err := pageLimit(q.Limit)
	if err != nil {
		return nil, "", err
	}
	after, err := decodeCursor(q.Cursor, cursorUsers)
	if err != nil {
		return nil, "", err
	}
	if q.Status != "" && q.Status != StatusActive && q.Status != StatusDisabled {
		return nil, "", Errorf(EInvalid, "status must be active or disabled")
	}
	if q.Role != "" && !ValidRoleName(q.Role) {
		return nil, "", Errorf(EInvalid, "role is not a role name")
	}
	prefix := q.EmailPrefix
	if prefix != "" {
		// Normalised like stored emails, so "Ada@" finds ada@….
		if prefix, err = NormalizeEmailPrefix(prefix); err != nil {
			return nil, "", err
		}
	}
	users, err := s.store.ListUsers(ctx, UserFilter{
		EmailPrefix: prefix, Role: q.Role, Status: q.Status, After: after, Limit: limit + 1,
	})
	if err != nil {
		return nil, "", err
	}
	next := ""
	if len(users) > limit {
		users = users[:limit]
		next = encodeCursor(cursorUsers, users[limit-1].ID)
	}
	for i, u := range users {
		users[i] = u.Redacted()
	}
	return users, next, nil
}

// User returns a user's account. Needs users:read. Returns ENotFound.
func (s *Admin) User(ctx context.Context, p *Principal, id string) (*User, error) {
	if err := s.require(ctx, p, PermUsersRead); err != nil {
		return nil, err
	}
	return s.user(ctx, id)
}

func (s *core) user(ctx context.Context, id string) (*User, error) {
	if !ValidID(id) {
		return nil, ErrUserNotFound
	}
	u, err := s.store.User(ctx, id)
	if err != nil {
		return nil, notFoundAs(err, ErrUserNotFound)
	}
	return u.Redacted(), nil
}

// UserPatch lists what an administrator may change on an account; nil
// leaves a field unchanged.
type UserPatch struct {
	Name          *string
	Status        *UserStatus
	EmailVerified *bool
}

// UpdateUser applies an administrator's patch, writing only the fields that
// change. Disabling a user ends every session in the same transaction,
// effective at once. Needs users:write and every permission the user's roles
// grant (see requireOver). Returns ENotFound, EInvalid, EForbidden,
// ELastAdmin when it would disable the last active admin, and EConflict when
// the user changed between our read and our write (a concurrent edit or role
// change, which the patch must not undo).
func (s *Admin) UpdateUser(ctx context.Context, p *Principal, id string, patch UserPatch) (*User, error) {
	if err := s.require(ctx, p, PermUsersWrite); err != nil {
		return nil, err
	}
	u, err := s.user(ctx, id)
	if err != nil {
		return nil, err
	}
	if err := s.requireOver(ctx, p, u); err != nil {
		return nil, err
	}
	up := &UserUpdate{Version: u.Version}
	typ := EventUserUpdated
	var changed []string // recorded as the event's reason
	if patch.Name != nil {
		name, err := NormalizeName(*patch.Name)
		if err != nil {
			return nil, err
		}
		if name != u.Name {
			up.Name, changed = &name, append(changed, "name")
		}
	}
	if patch.EmailVerified != nil && *patch.EmailVerified != u.EmailVerified {
		up.EmailVerified, changed = patch.EmailVerified, append(changed, "email_verified")
	}
	if patch.Status != nil && *patch.Status != u.Status {
		switch *patch.Status {
		case StatusDisabled:
			typ, up.EndSessions = EventUserDisabled, true
		case StatusActive:
			typ = EventUserEnabled
		default:
			return nil, Errorf(EInvalid, "status must be active or disabled")
		}
		up.Status, changed = patch.Status, append(changed, "status")
	}
	up.At = s.now()
	ev := newEvent(typ, up.At, Origin{}).byPrincipal(p).about(u.ID, "")
	ev.Reason = strings.Join(changed, ",")
	switch err := s.inUser(ctx, u.ID, ev, func(tx UserTx) error { return tx.UpdateUser(ctx, up) }); ErrorCode(err) {
	case "":
	case ENotFound:
		return nil, ErrUserNotFound
	case ELastAdmin:
		return nil, ErrLastAdmin
	case EConflict:
		return nil, errChangedMeanwhile
	default:
		return nil, err
	}
	s.invalidate(ctx, u.ID)
	if up.Name != nil {
		u.Name = *up.Name
	}
	if up.EmailVerified != nil {
		u.EmailVerified = *up.EmailVerified
	}
	if up.Status != nil {
		u.Status = *up.Status
	}
	u.Version, u.UpdatedAt = u.Version+1, up.At
	return u, nil
}

// requireOver returns EForbidden unless the caller holds every permission
// that target's roles grant. Acting on an account (editing, disabling,
// deleting it, seeing or ending its sessions) is acting with its powers: a
// helpdesk role must not be able to take over or lock out an administrator.
func (s *core) requireOver(ctx context.Context, p *Principal, target *User) error {
	catalog, err := s.roleCatalog(ctx)
	if err != nil {
		return err
	}
	mine := permissionsOf(catalog, p.Roles)
	for perm := range permissionsOf(catalog, target.Roles) {
		if !mine[perm] {
			return Errorf(EForbidden, "This user's roles grant permissions you don't hold, so you can't act on this account.")
		}
	}
	return nil
}

// DeleteUser deletes an account with every session, freeing its email.
// Needs users:write and every permission the user's roles grant. Returns
// ENotFound, EForbidden, ELastAdmin for the last active admin, and EConflict
// when the user changed (a role granted, say) after our check.
func (s *Admin) DeleteUser(ctx context.Context, p *Principal, id string) error {
	if err := s.require(ctx, p, PermUsersWrite); err != nil {
		return err
	}
	u, err := s.user(ctx, id)
	if err != nil {
		return err
	}
	if err := s.requireOver(ctx, p, u); err != nil {
		return err
	}
	ev := newEvent(EventUserDeleted, s.now(), Origin{}).byPrincipal(p).about(id, "")
	switch err := s.inUser(ctx, id, ev, func(tx UserTx) error { return tx.DeleteUser(ctx, u.Version) }); ErrorCode(err) {
	case "":
	case ENotFound:
		return ErrUserNotFound
	case ELastAdmin:
		return ErrLastAdmin
	case EConflict:
		return errChangedMeanwhile
	default:
		return err
	}
	s.invalidate(ctx, id)
	return nil
}

// UserSessions returns one page of a user's active sessions, newest first,
// and the cursor of the next page ("" on the last). Needs sessions:manage
// and every permission the user's roles grant. Returns ENotFound for an
// unknown user, EForbidden, and EInvalid for a malformed cursor or limit.
func (s *Admin) UserSessions(ctx context.Context, p *Principal, userID string, q SessionQuery) ([]*Session, string, error) {
	if err := s.require(ctx, p, PermSessionsManage); err != nil {
		return nil, "", err
	}
	u, err := s.user(ctx, userID)
	if err != nil {
		return nil, "", err
	}
	if err := s.requireOver(ctx, p, u); err != nil {
		return nil, "", err
	}
	return s.listSessions(ctx, userID, q)
}

// RevokeUserSession ends one of a user's sessions, effective at once. Needs
// sessions:manage and every permission the user's roles grant. Returns
// ENotFound for an unknown user or session, or one that already ended, and
// EForbidden.
func (s *Admin) RevokeUserSession(ctx context.Context, p *Principal, userID, sessionID string) error {
	if err := s.require(ctx, p, PermSessionsManage); err != nil {
		return err
	}
	if !ValidID(userID) || !ValidID(sessionID) {
		return Errorf(ENotFound, "session not found")
	}
	u, err := s.user(ctx, userID)
	if err != nil {
		return notFoundAs(err, Errorf(ENotFound, "session not found"))
	}
	if err := s.requireOver(ctx, p, u); err != nil {
		return err
	}
	now := s.now()
	ev := newEvent(EventSessionRevoked, now, Origin{}).byPrincipal(p).about(userID, sessionID)
	if err := s.inUser(ctx, userID, ev, func(tx UserTx) error { return tx.RevokeSession(ctx, sessionID, now) }); err != nil {
		return notFoundAs(err, Errorf(ENotFound, "session not found"))
	}
	s.invalidate(ctx, userID)
	return nil
}
