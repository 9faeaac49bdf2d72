package auth

import (
	"context"
	"time"
)

// Store is the persistence the Service needs: the small stores below, one per
// aggregate, composed (a backend implements them all; package authtest has a
// contract group for each). Every method that touches rows a
// user owns takes that user's id, so that a sharded backend can route the call
// by user. Implementations refuse with the domain's error values (ErrUserNotFound,
// ErrStale, ErrLastAdmin, … in error.go; the codes documented per method are
// theirs) and word nothing themselves; with Unavailable when the database
// can't be reached for now; and with plain (EInternal) errors otherwise.
// The contract suite in package authtest pins this behaviour for every backend.
//
// Ids are canonical UUID strings: a malformed id is ENotFound on lookups and
// EInvalid on inserts.
//
// A method that takes an *Event appends it to the audit log in the same
// transaction as the change, and only if the change happened (a method that
// returns an error records nothing); a nil *Event records nothing. The
// caller fills every field of the event, its ID and At included; an event
// whose ID or (non-empty) UserID is not a UUID is EInvalid and undoes the
// change.
//
// The last-admin check (ELastAdmin) must hold under concurrency: two
// transactions that each take admin from a different one of the last two
// admins can't both succeed.
type Store interface {
	UserStore
	RoleStore
	SessionStore
	RefreshTokenStore
	ClientStore
	AuditStore
	RetentionStore
	// Ping reports whether the database is reachable.
	Ping(ctx context.Context) error
}

// UserStore keeps accounts: their profile, password hash and lifecycle.
type UserStore interface {
	// CreateUser inserts u with its roles, at Version and PasswordVersion 1
	// (whatever u says). Returns EEmailTaken if another user
	// has the same email, EConflict if the id is taken, and EInvalid if a role
	// or the status does not exist.
	CreateUser(ctx context.Context, u *User, ev *Event) error
	// User returns the user with the given id, or ENotFound.
	User(ctx context.Context, id string) (*User, error)
	// UserByEmail returns the user with the given normalised email, or ENotFound.
	UserByEmail(ctx context.Context, email string) (*User, error)
	// UpdateUser writes the fields of up that are set, and nothing else, if
	// the user's Version still equals up.Version (the one the change was
	// decided on); it then increments Version and sets UpdatedAt to up.At.
	// With up.EndSessions, every unrevoked session of the user is revoked at
	// up.At in the same transaction. Returns ENotFound if the user does not
	// exist, EConflict if it changed since up.Version (nothing is written),
	// EInvalid for an unknown status, and ELastAdmin if up disables the last
	// active user holding the admin role.
	UpdateUser(ctx context.Context, up *UserUpdate, ev *Event) error
	// UpgradePasswordHash replaces the user's password hash with newHash if
	// it is still oldHash. A rehash of the same password is no change of the
	// account: Version, PasswordVersion, UpdatedAt and sessions are left
	// alone. Returns ENotFound for an unknown user and EConflict if the hash
	// is no longer oldHash.
	UpgradePasswordHash(ctx context.Context, userID, oldHash, newHash string) error
	// ChangePassword replaces the password hash, increments Version and
	// PasswordVersion and sets UpdatedAt to at, if the user's
	// PasswordVersion still equals passwordVersion (the one the current
	// password was checked against), and in the same transaction revokes
	// every active session of the user except keepSessionID (all of them
	// when keepSessionID is empty). Returns ENotFound, and EConflict if the
	// password changed since passwordVersion.
	ChangePassword(ctx context.Context, userID, hash, keepSessionID string, passwordVersion int64, at time.Time, ev *Event) error
	// DeleteUser removes the user with its sessions and refresh tokens, freeing
	// the email. Returns ENotFound, and ELastAdmin if the user is the last
	// active user holding the admin role.
	//
	// With a non-zero version, it deletes only if the user's Version still
	// equals it (EConflict otherwise): the caller decided on that state.
	DeleteUser(ctx context.Context, userID string, version int64, ev *Event) error
	// ListUsers returns the users f selects, ordered by id, with their roles.
	ListUsers(ctx context.Context, f UserFilter) ([]*User, error)
}

// RoleStore keeps roles and who holds them.
type RoleStore interface {
	// Roles returns every role, ordered by name.
	Roles(ctx context.Context) ([]*Role, error)
	// Role returns the named role, or ENotFound.
	Role(ctx context.Context, name string) (*Role, error)
	// CreateRole inserts r at Version 1. Returns EConflict if the name is taken.
	CreateRole(ctx context.Context, r *Role, ev *Event) error
	// UpdateRole writes the fields of up that are set, and nothing else, if
	// the role's Version still equals up.Version; it then increments Version
	// and sets UpdatedAt to up.At. Returns ENotFound, and EConflict if the
	// role changed since up.Version (nothing is written).
	UpdateRole(ctx context.Context, up *RoleUpdate, ev *Event) error
	// DeleteRole removes the role and takes it from every user holding it,
	// returning their ids (their cached state must be dropped). Returns
	// ENotFound.
	DeleteRole(ctx context.Context, name string, ev *Event) (holders []string, err error)
	// GrantRole gives the user a role, increments the user's Version and sets
	// its UpdatedAt to at.
	// Granting a role the user holds changes nothing and records no event.
	// Returns ENotFound for an unknown user and EInvalid for an unknown role.
	GrantRole(ctx context.Context, userID, role string, at time.Time, ev *Event) error
	// RevokeRole takes a role from the user, increments the user's Version
	// and sets its UpdatedAt to at. Revoking a role the user does not hold changes nothing and records
	// no event. Returns ENotFound for an unknown user, and ELastAdmin when it
	// would take admin from the last active user holding it.
	RevokeRole(ctx context.Context, userID, role string, at time.Time, ev *Event) error
}

// SessionStore keeps the users' sessions (one per signed-in device).
type SessionStore interface {
	// CreateSession inserts s and its first refresh token in one transaction
	// and sets the user's LastLoginAt to s.CreatedAt, if the user's
	// PasswordVersion still equals passwordVersion (the one the sign-in's
	// password was checked against): a sign-in checked against a password
	// that has changed since must not outlive the change. Returns ENotFound
	// for an unknown user, EInvalid if first does not belong to s, and
	// EConflict if the password changed since passwordVersion or the session
	// id or token hash is taken (nothing is written).
	CreateSession(ctx context.Context, s *Session, first *RefreshToken, passwordVersion int64, ev *Event) error
	// Session returns the user's session, revoked or not, or ENotFound (also
	// when the session belongs to another user).
	Session(ctx context.Context, userID, sessionID string) (*Session, error)
	// SessionWithUser returns, in one consistent read, the user's session
	// (revoked or not) and the user (with roles): what authenticating a
	// request decides on. Returns ENotFound if either is missing.
	SessionWithUser(ctx context.Context, userID, sessionID string) (*Session, *User, error)
	// ListSessions returns the sessions f selects, newest (greatest id)
	// first. An unknown or malformed user id selects none. Returns EInvalid
	// for a limit that is not positive or a malformed cursor.
	ListSessions(ctx context.Context, f SessionFilter) ([]*Session, error)
	// RevokeSession marks one active session of the user revoked at at.
	// Returns ENotFound if the user has no such unrevoked session.
	RevokeSession(ctx context.Context, userID, sessionID string, at time.Time, ev *Event) error
	// RevokeSessions marks every unrevoked session of the user revoked at at,
	// except exceptSessionID when it is not empty. It records ev even when no
	// session was left to revoke: the request to end them all is the event.
	RevokeSessions(ctx context.Context, userID, exceptSessionID string, at time.Time, ev *Event) error
}

// RefreshTokenStore keeps each session's chain of refresh tokens.
type RefreshTokenStore interface {
	// RefreshToken returns the user's refresh token with the given hash, or
	// ENotFound.
	RefreshToken(ctx context.Context, userID string, hash []byte) (*RefreshToken, error)
	// RefreshState returns, in one consistent read, the user's refresh token
	// with the given hash, its session (revoked or not) and the user (with
	// roles): what a refresh decides on. The token's Successor is returned
	// only until the database's clock passes its GraceUntil (nil after),
	// so that whether the grace interval is open is decided on one clock,
	// however the replicas' clocks disagree. Returns ENotFound if any of the
	// three is missing.
	RefreshState(ctx context.Context, userID string, hash []byte) (*RefreshToken, *Session, *User, error)
	// RotateRefreshToken atomically retires old (setting RotatedAt to at),
	// inserts next, and advances the session's RefreshGeneration to
	// next.Generation, its LastSeenAt to at and its ExpiresAt to
	// next.ExpiresAt. Old keeps sealedSuccessor with a GraceUntil of the
	// database's clock plus grace (none when sealedSuccessor is nil or grace
	// is not positive), and the generation before old loses its successor,
	// so that only the most recently retired token holds one (successors
	// stored before grace deadlines existed are the retention job's). It
	// succeeds only if the session is unrevoked and its RefreshGeneration
	// still equals old.Generation; otherwise it changes nothing and returns
	// EConflict, so that of many concurrent rotations of one token exactly
	// one wins. Returns EInvalid if next belongs to another user or session
	// or does not advance the generation.
	RotateRefreshToken(ctx context.Context, old *RefreshToken, sealedSuccessor []byte, grace time.Duration, next *RefreshToken, at time.Time) error
}

// ClientStore keeps service clients and the access tokens revoked before their expiry.
type ClientStore interface {
	// CreateClient inserts c. Returns EConflict if the id is taken.
	CreateClient(ctx context.Context, c *ServiceClient, ev *Event) error
	// Client returns the client with the given id, or ENotFound.
	Client(ctx context.Context, id string) (*ServiceClient, error)
	// ListClients returns every client, ordered by id.
	ListClients(ctx context.Context) ([]*ServiceClient, error)
	// DeleteClient removes the client. Its revoked-token records stay until
	// they expire (the Service refuses a deleted client's tokens anyway).
	// Returns ENotFound.
	DeleteClient(ctx context.Context, id string, ev *Event) error
	// RevokeToken records that the access token with the given jti, valid
	// until expiresAt, is revoked. Revoking it again changes nothing and
	// records no event. Each call forgets the records of tokens that expired
	// more than an hour ago, so the table holds live revocations only.
	RevokeToken(ctx context.Context, jti string, expiresAt time.Time, ev *Event) error
	// TokenRevoked reports whether RevokeToken recorded jti.
	TokenRevoked(ctx context.Context, jti string) (bool, error)
}

// AuditStore keeps the audit log.
type AuditStore interface {
	// AppendEvent appends ev to the audit log on its own, for events that
	// change nothing else (a failed login).
	AppendEvent(ctx context.Context, ev *Event) error
	// ListEvents returns the audit events f selects, newest (greatest id)
	// first.
	ListEvents(ctx context.Context, f EventFilter) ([]*Event, error)
	// DeleteEventsBefore removes audit events with At before before and
	// returns how many it removed.
	DeleteEventsBefore(ctx context.Context, before time.Time) (int64, error)
}

// RetentionStore forgets what no decision needs any more, in bounded batches.
type RetentionStore interface {
	// ClearStaleSuccessors clears Successor and GraceUntil of up to limit
	// refresh tokens whose GraceUntil the database's clock has passed
	// (successors stored without one, before deadlines existed, included)
	// and returns how many it cleared.
	ClearStaleSuccessors(ctx context.Context, limit int) (int64, error)
	// DeleteExpiredRefreshTokens deletes up to limit refresh tokens whose
	// ExpiresAt is before before, of any session, and returns how many it
	// deleted. (An expired token decides nothing a missing one doesn't: both
	// are refused, and neither counts as reuse.)
	DeleteExpiredRefreshTokens(ctx context.Context, before time.Time, limit int) (int64, error)
	// DeleteEndedSessions deletes the sessions that were revoked, or expired,
	// before before, with their refresh tokens, touching at most limit rows:
	// first the tokens of such sessions, then, once none is left, with what
	// is left of limit, such sessions. It returns how many sessions and
	// tokens it deleted; fewer than limit rows in all means none is left.
	DeleteEndedSessions(ctx context.Context, before time.Time, limit int) (sessions, tokens int64, err error)
}

// PasswordHasher hashes and verifies passwords and enforces the password
// policy. Implementations bound the number of concurrent hashes: when no slot
// frees up in time, Hash and Verify return EUnavailable with a RetryAfter.
type PasswordHasher interface {
	// Check returns EWeakPassword (or EInvalid for a length violation) when
	// password may not be set as a new password.
	Check(password string) error
	// Hash returns the PHC-encoded argon2id hash of password.
	Hash(ctx context.Context, password string) (string, error)
	// Verify reports whether password matches encoded, and whether encoded
	// should be replaced by a fresh Hash (older algorithm or parameters).
	// An empty encoded runs a dummy comparison that costs as much as a real
	// one and reports false, so unknown accounts can't be told apart by timing.
	Verify(ctx context.Context, password, encoded string) (ok, rehash bool, err error)
}

// TokenIssuer signs and verifies access tokens.
type TokenIssuer interface {
	// Issue signs an access token for c (ID, IssuedAt and ExpiresAt are filled
	// in by the issuer and returned).
	Issue(ctx context.Context, c AccessClaims) (string, AccessClaims, error)
	// Verify checks the signature, algorithm, issuer, audience and lifetime of
	// token and returns its claims, or EUnauthorized.
	Verify(ctx context.Context, token string) (*AccessClaims, error)
}

// Cache is a read-through cache of small entries (session state, profile),
// shared by every replica. Entries belong to a group (authd uses one group
// per user) that Invalidate drops at once, on every replica, so a write made
// through one replica is seen by the next read on any other.
//
// The database stays the source of truth: losing the cache (a flush, a
// restart, an outage) costs only database reads, never correctness.
type Cache interface {
	// Get returns the entry stored under key in group. On a miss it calls
	// load and caches the value load returns for the TTL load returns (0:
	// don't cache); a value loaded concurrently with an Invalidate of the
	// group is never cached. Errors of load are returned as they are; errors
	// of the cache itself are not returned: the value is then loaded.
	Get(ctx context.Context, group, key string, load func(context.Context) ([]byte, time.Duration, error)) ([]byte, error)
	// Invalidate drops every entry of group. Call it after the database
	// write it reflects has committed. An invalidation that can't be
	// delivered now (cache unreachable) is retried by the cache itself.
	Invalidate(ctx context.Context, group string) error
}

// Limiter counts attempts per key (rate limits, login lockouts). It is
// atomic: concurrent attempts on one key never get more than the rule allows.
type Limiter interface {
	// Allow records cost attempts against key under rule and reports whether
	// they are allowed. A cost of 0 only asks; a negative cost gives
	// attempts back (never beyond a full allowance).
	Allow(ctx context.Context, rule Rule, key string, cost int) (Decision, error)
	// Reset forgets key's attempts and lockouts under rule.
	Reset(ctx context.Context, rule Rule, key string) error
}

// UserUpdate is a change of an account's profile fields (Store.UpdateUser).
// A nil field is left as it is, so a change of one field never writes back
// a stale copy of another.
type UserUpdate struct {
	ID            string
	Name          *string
	EmailVerified *bool
	Status        *UserStatus
	Version       int64     // the user's Version the change was decided on
	At            time.Time // the new UpdatedAt
	EndSessions   bool      // revoke every unrevoked session at At
}

// RoleUpdate is a change of a role (Store.UpdateRole); a nil field is left
// as it is.
type RoleUpdate struct {
	Name        string
	Description *string
	Permissions *[]Permission // stored sorted, without duplicates
	Version     int64         // the role's Version the change was decided on
	At          time.Time     // the new UpdatedAt
}
