package auth

import (
	"slices"
	"time"
)

// EventType names an audit event. The string values are part of the public
// API (GET /api/v1/audit).
type EventType string

// Audit event types.
const (
	EventUserRegistered     EventType = "user.registered"          // self sign-up
	EventUserCreated        EventType = "user.created"             // by an operator (authd users create)
	EventUserUpdated        EventType = "user.updated"             // profile or admin edit; Reason lists the fields changed
	EventUserDisabled       EventType = "user.disabled"            // sessions ended with it
	EventUserEnabled        EventType = "user.enabled"             //
	EventUserDeleted        EventType = "user.deleted"             // by the user or an admin
	EventUserEmailFlagged   EventType = "user.email_flagged"       // the email migration left the stored email as it was; Reason says why, Resource names the holder of a collision
	EventLoginSucceeded     EventType = "login.succeeded"          // a session started
	EventLoginFailed        EventType = "login.failed"             // Reason says why
	EventLogout             EventType = "logout"                   // the caller's session(s)
	EventRefreshTokenReused EventType = "refresh_token.reused"     // the session was revoked
	EventPasswordChanged    EventType = "password.changed"         //
	EventPasswordReset      EventType = "password.reset"           //
	EventEmailVerified      EventType = "email.verified"           //
	EventPasswordResetAsked EventType = "password.reset_requested" // a reset mail was queued
	EventEmailChangeAsked   EventType = "email.change_requested"   // Reason = "new address mailed"; the address is not logged
	EventEmailChanged       EventType = "email.changed"            // the new address was verified
	EventMailUndeliverable  EventType = "mail.undeliverable"       // the outbox gave up; Reason = the mail's kind, Resource = its id
	EventIdentityLinked     EventType = "identity.linked"          // a social account joined an existing account; Resource = provider
	EventIdentityUnlinked   EventType = "identity.unlinked"        // Resource = provider
	EventRoleGranted        EventType = "role.granted"             // Resource = role name
	EventRoleRevoked        EventType = "role.revoked"             // Resource = role name
	EventRoleCreated        EventType = "role.created"             // Resource = role name
	EventRoleUpdated        EventType = "role.updated"             // Resource = role name
	EventRoleDeleted        EventType = "role.deleted"             // Resource = role name
	EventSessionRevoked     EventType = "session.revoked"          // Resource = session id
	EventKeyRotated         EventType = "key.rotated"              // Resource = key id
	EventKeyRevoked         EventType = "key.revoked"              // withdrawn before its time (authd keys revoke); Resource = key id
	EventClientCreated      EventType = "client.created"           // Resource = client id
	EventClientDeleted      EventType = "client.deleted"           // Resource = client id
	EventTokenRevoked       EventType = "token.revoked"            // RFC 7009, Resource = jti or session id
)

// EventTypes returns every audit event type, sorted.
func EventTypes() []EventType {
	t := []EventType{
		EventUserRegistered, EventUserCreated, EventUserUpdated, EventUserDisabled,
		EventUserEnabled, EventUserDeleted, EventLoginSucceeded, EventLoginFailed,
		EventLogout, EventRefreshTokenReused, EventPasswordChanged, EventPasswordReset,
		EventEmailVerified, EventRoleGranted, EventRoleRevoked, EventRoleCreated,
		EventRoleUpdated, EventRoleDeleted, EventSessionRevoked, EventKeyRotated,
		EventClientCreated, EventClientDeleted, EventTokenRevoked, EventUserEmailFlagged,
		EventPasswordResetAsked, EventEmailChangeAsked, EventEmailChanged, EventMailUndeliverable,
		EventIdentityLinked, EventIdentityUnlinked,
	}
	slices.Sort(t)
	return t
}

// ActorType says who caused an audit event.
type ActorType string

const (
	ActorUser      ActorType = "user"      // ActorID is a user id
	ActorClient    ActorType = "client"    // ActorID is a service client id
	ActorSystem    ActorType = "system"    // authd itself or an operator command
	ActorAnonymous ActorType = "anonymous" // an unauthenticated request (failed login)
)

// Outcome is whether the audited action succeeded.
type Outcome string

const (
	OutcomeSuccess Outcome = "success"
	OutcomeFailure Outcome = "failure"
)

// Event is one audit-log entry: who did what to whom, when, from where, and
// how it ended. The domain appends it in the unit of work of the change it
// records (write.go), so the log never shows a change that did not happen
// nor misses one that did.
type Event struct {
	ID        string // UUIDv7: ids sort by time
	At        time.Time
	Type      EventType
	ActorType ActorType
	ActorID   string // "" for system and anonymous actors
	UserID    string // the user the event concerns ("" when none)
	Resource  string // the other object concerned: a session id, a role name, a client or key id
	IP        string
	UserAgent string
	Outcome   Outcome
	Reason    string // a short machine-readable detail, e.g. the error code of a failure
}

// EventFilter selects audit events for ListEvents, newest first.
type EventFilter struct {
	UserID string    // the actor or the concerned user ("" for any)
	Type   EventType // "" for any
	Since  time.Time // At >= Since (zero for no bound)
	Until  time.Time // At < Until (zero for no bound)
	Before string    // only ids less than this ("" from the newest)
	Limit  int       // at most this many (> 0)
}
