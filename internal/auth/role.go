package auth

import (
	"regexp"
	"slices"
	"time"
)

// Permission names one administrative power. Roles grant permissions; authd's
// own endpoints check them against the caller's current roles.
type Permission = string

// The permissions authd knows. The string values are part of the public API.
const (
	PermUsersRead      Permission = "users:read"
	PermUsersWrite     Permission = "users:write"
	PermRolesManage    Permission = "roles:manage"
	PermSessionsManage Permission = "sessions:manage"
	PermAuditRead      Permission = "audit:read"
	PermClientsManage  Permission = "clients:manage"
)

// Permissions returns every permission authd knows, sorted. The built-in
// admin role holds all of them, whatever its stored list says.
func Permissions() []Permission {
	return []Permission{
		PermAuditRead, PermClientsManage, PermRolesManage,
		PermSessionsManage, PermUsersRead, PermUsersWrite,
	}
}

// defaultRolePermissions returns the permissions the default role (RoleUser)
// ships with: none. Only an admin may give it more (see Service.UpdateRole).
func defaultRolePermissions() []Permission { return nil }

// KnownPermission reports whether p is one of Permissions.
func KnownPermission(p string) bool { return slices.Contains(Permissions(), p) }

// Role is a named set of permissions. Built-in roles (admin, user) can't be
// deleted.
type Role struct {
	Name        string
	Description string
	Permissions []Permission // sorted, without duplicates
	Builtin     bool
	Version     int64 // counts changes, from 1; see User.Version
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

var roleName = regexp.MustCompile(`^[a-z][a-z0-9_.:-]{0,63}$`)

// ValidRoleName reports whether name may name a role: 1 to 64 characters of
// lower-case ASCII letters, digits and _ . : -, starting with a letter.
func ValidRoleName(name string) bool { return roleName.MatchString(name) }
