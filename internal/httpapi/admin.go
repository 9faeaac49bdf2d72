package httpapi

import (
	"net/http"
	"strconv"
	"time"

	"github.com/talentforge/authd/internal/auth"
)

// Administration endpoints (v1, and the v2 listings that share handlers).
// Every permission check is the domain's; these handlers only translate.

type usersQuery struct {
	Email  string `query:"email" doc:"Only users whose email starts with this (normalised like emails)."`
	Role   string `query:"role" doc:"Only users holding this role."`
	Status string `query:"status" doc:"active or disabled."`
	Limit  int    `query:"limit" doc:"Page size, 1 to 100 (default 50)."`
	Cursor string `query:"cursor" doc:"The next_cursor of the previous page."`
}

type usersPageJSON struct {
	Users      []userJSON `json:"users"`
	NextCursor string     `json:"next_cursor" doc:"Pass as cursor for the next page; empty on the last page."`
}

type adminUserPatch struct {
	Name          *string `json:"name,omitempty"`
	Status        *string `json:"status,omitempty" doc:"active or disabled; disabling ends every session at once."`
	EmailVerified *bool   `json:"email_verified,omitempty"`
}

type roleJSON struct {
	Name        string    `json:"name"`
	Description string    `json:"description"`
	Permissions []string  `json:"permissions"`
	Builtin     bool      `json:"builtin"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
}

type rolesJSON struct {
	Roles []roleJSON `json:"roles"`
}

type roleRequest struct {
	Name        string   `json:"name" jsonschema:"required" doc:"1 to 64 characters: a-z first, then a-z 0-9 _ . : -"`
	Description string   `json:"description,omitempty"`
	Permissions []string `json:"permissions,omitempty" doc:"users:read, users:write, roles:manage, sessions:manage, audit:read, clients:manage"`
}

type rolePatchRequest struct {
	Description *string   `json:"description,omitempty"`
	Permissions *[]string `json:"permissions,omitempty"`
}

type auditQuery struct {
	UserID string `query:"user_id" doc:"Only events caused by or concerning this user."`
	Type   string `query:"type" doc:"Only events of this type, e.g. login.failed."`
	Since  string `query:"since" doc:"RFC 3339 time; only events at or after it."`
	Until  string `query:"until" doc:"RFC 3339 time; only events before it."`
	Limit  int    `query:"limit" doc:"Page size, 1 to 100 (default 50)."`
	Cursor string `query:"cursor" doc:"The next_cursor of the previous page."`
}

type eventJSON struct {
	ID        string    `json:"id"`
	At        time.Time `json:"at"`
	Type      string    `json:"type"`
	ActorType string    `json:"actor_type" doc:"user, client, system or anonymous"`
	ActorID   string    `json:"actor_id,omitempty"`
	UserID    string    `json:"user_id,omitempty" doc:"The user the event concerns."`
	Resource  string    `json:"resource,omitempty" doc:"The session id, role name, client id or key id concerned."`
	IP        string    `json:"ip,omitempty"`
	UserAgent string    `json:"user_agent,omitempty"`
	Outcome   string    `json:"outcome" doc:"success or failure"`
	Reason    string    `json:"reason,omitempty"`
}

type auditPageJSON struct {
	Events     []eventJSON `json:"events"`
	NextCursor string      `json:"next_cursor" doc:"Pass as cursor for the next page; empty on the last page."`
}

func toRoleJSON(r *auth.Role) roleJSON {
	perms := r.Permissions
	if perms == nil {
		perms = []string{}
	}
	return roleJSON{
		Name: r.Name, Description: r.Description, Permissions: perms, Builtin: r.Builtin,
		CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt,
	}
}

func toSessionsJSON(list []*auth.Session, current, next string) sessionsJSON {
	out := make([]sessionJSON, 0, len(list))
	for _, x := range list {
		out = append(out, sessionJSON{
			ID: x.ID, CreatedAt: x.CreatedAt, LastSeenAt: x.LastSeenAt, ExpiresAt: x.ExpiresAt,
			IP: x.IP, UserAgent: x.UserAgent, Current: x.ID == current,
		})
	}
	return sessionsJSON{Sessions: out, NextCursor: next}
}

// sessionQuery reads the paging parameters of a session listing.
func sessionQuery(r *http.Request) (auth.SessionQuery, error) {
	limit, err := queryInt(r, "limit")
	if err != nil {
		return auth.SessionQuery{}, err
	}
	return auth.SessionQuery{Cursor: r.URL.Query().Get("cursor"), Limit: limit}, nil
}

// queryInt reads an optional integer query parameter.
func queryInt(r *http.Request, name string) (int, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		return 0, auth.Errorf(auth.EInvalid, "%s must be an integer", name)
	}
	return n, nil
}

// queryTime reads an optional RFC 3339 query parameter.
func queryTime(r *http.Request, name string) (time.Time, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		return time.Time{}, auth.Errorf(auth.EInvalid, "%s must be an RFC 3339 time", name)
	}
	return t, nil
}

func (s *server) listUsers(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	limit, err := queryInt(r, "limit")
	if err != nil {
		return err
	}
	q := r.URL.Query()
	users, next, err := s.admin.ListUsers(r.Context(), p, auth.UserQuery{
		EmailPrefix: q.Get("email"), Role: q.Get("role"), Status: auth.UserStatus(q.Get("status")),
		Cursor: q.Get("cursor"), Limit: limit,
	})
	if err != nil {
		return err
	}
	out := usersPageJSON{Users: make([]userJSON, 0, len(users)), NextCursor: next}
	for _, u := range users {
		out.Users = append(out.Users, toUserJSON(u))
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *server) getUser(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	u, err := s.admin.User(r.Context(), p, r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, toUserJSON(u))
	return nil
}

func (s *server) patchUser(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	var in adminUserPatch
	if err := decode(w, r, &in, false); err != nil {
		return err
	}
	patch := auth.UserPatch{Name: in.Name, EmailVerified: in.EmailVerified}
	if in.Status != nil {
		st := auth.UserStatus(*in.Status)
		patch.Status = &st
	}
	u, err := s.admin.UpdateUser(r.Context(), p, r.PathValue("id"), patch)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, toUserJSON(u))
	return nil
}

func (s *server) deleteUser(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	if err := s.admin.DeleteUser(r.Context(), p, r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *server) grantRole(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	if err := s.admin.GrantRole(r.Context(), p, r.PathValue("id"), r.PathValue("role")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *server) revokeRole(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	if err := s.admin.RevokeRole(r.Context(), p, r.PathValue("id"), r.PathValue("role")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *server) userSessions(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	q, err := sessionQuery(r)
	if err != nil {
		return err
	}
	list, next, err := s.admin.UserSessions(r.Context(), p, r.PathValue("id"), q)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, toSessionsJSON(list, p.SessionID, next))
	return nil
}

func (s *server) revokeUserSession(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	if err := s.admin.RevokeUserSession(r.Context(), p, r.PathValue("id"), r.PathValue("sid")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *server) listRoles(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	roles, err := s.admin.Roles(r.Context(), p)
	if err != nil {
		return err
	}
	out := rolesJSON{Roles: make([]roleJSON, 0, len(roles))}
	for _, x := range roles {
		out.Roles = append(out.Roles, toRoleJSON(x))
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *server) createRole(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	var in roleRequest
	if err := decode(w, r, &in, false); err != nil {
		return err
	}
	role, err := s.admin.CreateRole(r.Context(), p, auth.RoleInput{
		Name: in.Name, Description: in.Description, Permissions: in.Permissions,
	})
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/api/v1/roles/"+role.Name)
	writeJSON(w, http.StatusCreated, toRoleJSON(role))
	return nil
}

func (s *server) getRole(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	role, err := s.admin.Role(r.Context(), p, r.PathValue("name"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, toRoleJSON(role))
	return nil
}

func (s *server) patchRole(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	var in rolePatchRequest
	if err := decode(w, r, &in, false); err != nil {
		return err
	}
	role, err := s.admin.UpdateRole(r.Context(), p, r.PathValue("name"), auth.RolePatch{
		Description: in.Description, Permissions: in.Permissions,
	})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, toRoleJSON(role))
	return nil
}

func (s *server) deleteRole(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	if err := s.admin.DeleteRole(r.Context(), p, r.PathValue("name")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *server) listAudit(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	limit, err := queryInt(r, "limit")
	if err != nil {
		return err
	}
	since, err := queryTime(r, "since")
	if err != nil {
		return err
	}
	until, err := queryTime(r, "until")
	if err != nil {
		return err
	}
	q := r.URL.Query()
	events, next, err := s.admin.Audit(r.Context(), p, auth.AuditQuery{
		UserID: q.Get("user_id"), Type: auth.EventType(q.Get("type")), Since: since, Until: until,
		Cursor: q.Get("cursor"), Limit: limit,
	})
	if err != nil {
		return err
	}
	out := auditPageJSON{Events: make([]eventJSON, 0, len(events)), NextCursor: next}
	for _, e := range events {
		out.Events = append(out.Events, eventJSON{
			ID: e.ID, At: e.At, Type: string(e.Type), ActorType: string(e.ActorType), ActorID: e.ActorID,
			UserID: e.UserID, Resource: e.Resource, IP: e.IP, UserAgent: e.UserAgent,
			Outcome: string(e.Outcome), Reason: e.Reason,
		})
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}
