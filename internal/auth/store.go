package auth

import (
	"context"
	"time"
)

// Store is the persistence the Service needs: the small stores below, one per
// aggregate, composed (a backend implements them all; package authtest has a
// contract group for each), and the units of work every audited write goes
// through. Every method that touches rows a user owns takes that user's id
// (or runs in a unit of work scoped to it), so that a sharded backend can
// route the call by user. Implementations refuse with the domain's error
// values (ErrUserNotFound, ErrStale, ErrLastAdmin, … in error.go; the codes
// documented per method are theirs) and word nothing themselves; with
// Unavailable when the database can't be reached for now; and with plain
// (EInternal) errors otherwise. The contract suite in package authtest pins
// this behaviour for every backend.
//
// Ids are canonical UUID strings: a malformed id is ENotFound on lookups and
// EInvalid on inserts.
type Store interface {
	UserStore
	RoleStore
	SessionStore
	RefreshTokenStore
	ClientStore
	AuditStore
	RetentionStore
	OutboxStore
	IdentityStore
	OAuthStateStore
	Transactor
	// Ping reports whether the database is reachable.
	Ping(ctx context.Context) error
}

// Transactor runs units of work: the writes that must be atomic with their
// audit event (and, later, the mail they send). A change and its event are
// one transaction, so the log records exactly the changes that happened.
//
// fn must use only tx (no other store method, no other I/O that may wait
// on the database) and must not keep tx after it returns. If fn returns an
// error, nothing it wrote through tx is kept and that error is returned as
// it is. A method of tx that fails leaves the transaction unusable: fn must
// return an error then (usually that one).
type Transactor interface {
	// InUserTx runs fn in one transaction on the rows of one user: the
	// account, its roles, sessions and audit events. Scoping it to one user
	// keeps it on one shard. A malformed userID is ENotFound, before fn runs.
	InUserTx(ctx context.Context, userID string, fn func(tx UserTx) error) error
	// InGlobalTx runs fn in one transaction on the rows no user owns:
	// roles, service clients, signing keys.
	InGlobalTx(ctx context.Context, fn func(tx GlobalTx) error) error
}

// UserTx is a unit of work on one user's rows (Transactor.InUserTx). Its
// methods act on that user only.
type UserTx interface {
	AccountTx
	SessionTx
	OneTimeTokenTx
	OutboxTx
	IdentityTx
	OAuthCodeTx
	AuditTx
}

// GlobalTx is a unit of work on the rows no user owns (Transactor.InGlobalTx).
type GlobalTx interface {
	RoleTx
	ClientTx
	// CreateSigningKey inserts k. Returns EConflict if a key with k.ID
	// exists.
	CreateSigningKey(ctx context.Context, k *SigningKey) error
	// DeleteSigningKey deletes the key with id, withdrawing it from every
	// replica at its next key reload. Returns ErrSigningKeyNotFound if
	// there is none.
	DeleteSigningKey(ctx context.Context, id string) error
	AuditTx
}

// AuditTx appends to the audit log within a unit of work.
type AuditTx interface {
	// AppendEvent appends ev. The caller fills every field, its ID and At
	// included. Returns EInvalid if ev.ID or (a non-empty) ev.UserID is not
	// a UUID, and, in a UserTx, if ev.UserID is set to another user.
	AppendEvent(ctx context.Context, ev *Event) error
}

// AccountTx writes the account of a UserTx's user.
//
// The last-admin check (ELastAdmin) must hold under concurrency: two
// transactions that each take admin from a different one of the last two
// admins can't both succeed.
type AccountTx interface {
	// CreateUser inserts u, the transaction's user, with its roles, at
	// Version and PasswordVersion 1 (whatever u says). Returns EEmailTaken
	// if another user has the same email, EConflict if the id is taken, and
	// EInvalid if u is another user than the transaction's, or a role or
	// the status does not exist.
	CreateUser(ctx context.Context, u *User) error
	// UpdateUser writes the fields of up that are set, and nothing else, if
	// the user's Version still equals up.Version (the one the change was
	// decided on); it then increments Version and sets UpdatedAt to up.At.
	// With up.EndSessions, every unrevoked session of the user is revoked at
	// up.At too. Returns ENotFound if the user does not exist, EConflict if
	// it changed since up.Version (nothing is written), EInvalid for an
	// unknown status, and ELastAdmin if up disables the last active user
	// holding the admin role.
	UpdateUser(ctx context.Context, up *UserUpdate) error
	// ChangePassword replaces the password hash, increments Version and
	// PasswordVersion and sets UpdatedAt to at, if the user's
	// PasswordVersion still equals passwordVersion (the one the current
	// password was checked against), and revokes every active session of
	// the user except keepSessionID (all of them when keepSessionID is
	// empty). A passwordVersion of 0 replaces the password whatever it is
	// (a reset: the mailed token, not the current password, is the proof).
	// Returns ENotFound, and EConflict if the password changed since
	// passwordVersion.
	ChangePassword(ctx context.Context, hash, keepSessionID string, passwordVersion int64, at time.Time) error
	// DeleteUser removes the user with its sessions and refresh tokens,
	// freeing the email (its audit events stay). Returns ENotFound, and
	// ELastAdmin if the user is the last active user holding the admin role.
	//
	// With a non-zero version, it deletes only if the user's Version still
	// equals it (EConflict otherwise): the caller decided on that state.
	DeleteUser(ctx context.Context, version int64) error
	// GrantRole gives the user a role, increments the user's Version and
	// sets its UpdatedAt to at, and reports whether anything changed:
	// granting a role the user holds changes nothing. Returns ENotFound for
	// an unknown user and EInvalid for an unknown role.
	GrantRole(ctx context.Context, role string, at time.Time) (changed bool, err error)
	// RevokeRole takes a role from the user, increments the user's Version
	// and sets its UpdatedAt to at, and reports whether anything changed:
	// revoking a role the user does not hold changes nothing. Returns
	// ENotFound for an unknown user, and ELastAdmin when it would take admin
	// from the last active user holding it.
	RevokeRole(ctx context.Context, role string, at time.Time) (changed bool, err error)
	// VerifyEmail marks the user's email verified, if it is still email
	// (the address a verification token was mailed to) and not verified
	// yet, incrementing Version and setting UpdatedAt to at, and reports
	// whether it did. Returns ENotFound for an unknown user.
	VerifyEmail(ctx context.Context, email string, at time.Time) (changed bool, err error)
	// ChangeEmail replaces the user's email with email, verified (the
	// caller has proof of control), incrementing Version and setting
	// UpdatedAt to at. Returns ENotFound, and EEmailTaken if another user
	// has email.
	ChangeEmail(ctx context.Context, email string, at time.Time) error
}

// OneTimeTokenTx keeps the single-use tokens mailed to a UserTx's user:
// email verification, password reset, email change. Only their hash is
// stored.
type OneTimeTokenTx interface {
	// CreateOneTimeToken inserts t and deletes the user's other tokens of
	// t.Purpose: a newer token supersedes the older ones. Returns EInvalid
	// (ErrOtherUser) if t belongs to another user, ENotFound for an unknown
	// user, and EConflict if its hash is taken.
	CreateOneTimeToken(ctx context.Context, t *OneTimeToken) error
	// ConsumeOneTimeToken deletes and returns the user's token with the
	// given hash if its purpose is one of purposes, expired or not (the
	// caller judges expiry; a presented token is spent either way). Of
	// concurrent consumptions of one token exactly one gets it. Returns
	// ENotFound if the user has no such token.
	ConsumeOneTimeToken(ctx context.Context, hash []byte, purposes ...TokenPurpose) (*OneTimeToken, error)
	// DeleteOneTimeTokens deletes the user's tokens of the given purposes,
	// or all of them when none is given.
	DeleteOneTimeTokens(ctx context.Context, purposes ...TokenPurpose) error
}

// IdentityTx links a UserTx's user to accounts at social sign-in
// providers, one per provider.
type IdentityTx interface {
	// LinkIdentity links id to the user. Returns EInvalid (ErrOtherUser) if
	// id belongs to another user, ENotFound for an unknown user, and
	// EConflict (ErrIdentityTaken) if (Provider, Subject) is linked to any
	// user or the user has an identity at Provider already.
	LinkIdentity(ctx context.Context, id *Identity) error
	// TouchIdentity records a sign-in with the user's identity at provider:
	// its Email and EmailVerified as the provider gave them now, and
	// LastUsedAt. Returns ENotFound if the user has none there.
	TouchIdentity(ctx context.Context, provider, email string, emailVerified bool, at time.Time) error
	// UnlinkIdentity removes the user's identity at provider, unless it is
	// the user's last way to sign in (no password and no other identity):
	// ELastSignIn (ErrLastSignIn) then, which must hold under concurrency
	// (two unlinks of a password-less user's last two identities can't
	// both succeed). Returns ENotFound if the user has none there.
	UnlinkIdentity(ctx context.Context, provider string) error
	// UnlinkUnverifiedIdentities removes the user's identities whose
	// provider did not verify their address (EmailVerified false) and
	// returns how many it removed. It keeps no last-sign-in guard: the
	// caller has just given the user another way in (a password reset).
	UnlinkUnverifiedIdentities(ctx context.Context) (int64, error)
}

// OAuthCodeTx keeps the one-time codes a social sign-in's callback hands
// the app (redirect_to?code=C), traded for tokens once.
type OAuthCodeTx interface {
	// CreateOAuthCode inserts c. Returns EInvalid (ErrOtherUser) if c
	// belongs to another user, ENotFound for an unknown user, and EConflict
	// if its hash is taken.
	CreateOAuthCode(ctx context.Context, c *OAuthCode) error
	// ConsumeOAuthCode deletes and returns the user's code with the given
	// hash, expired or not (the caller judges expiry). Of concurrent
	// consumptions of one code exactly one gets it. Returns ENotFound.
	ConsumeOAuthCode(ctx context.Context, hash []byte) (*OAuthCode, error)
}

// OutboxTx queues mail in a UserTx: a mail is sent only if the transaction
// that queued it commits, and it is not lost once it did.
type OutboxTx interface {
	// EnqueueMail inserts m, due at m.NextAttemptAt, with its Attempts,
	// LastError and ExpiresAt (zero: none) as given. Returns EInvalid
	// (ErrOtherUser) if m belongs to another user, ENotFound for an unknown
	// user, and EConflict if its id is taken.
	EnqueueMail(ctx context.Context, m *OutboxMail) error
	// DeleteMail removes the user's queued mail with the given id (sent, or
	// given up). Returns ENotFound if there is none.
	DeleteMail(ctx context.Context, id string) error
}

// SessionTx writes the sessions of a UserTx's user.
type SessionTx interface {
	// CreateSession inserts s and its first refresh token and sets the
	// user's LastLoginAt to s.CreatedAt, if the user's PasswordVersion still
	// equals passwordVersion (the one the sign-in's password was checked
	// against): a sign-in checked against a password that has changed since
	// must not outlive the change. Returns ENotFound for an unknown user,
	// EInvalid if s belongs to another user or first does not belong to s,
	// and EConflict if the password changed since passwordVersion or the
	// session id or token hash is taken.
	CreateSession(ctx context.Context, s *Session, first *RefreshToken, passwordVersion int64) error
	// RevokeSession marks one active session of the user revoked at at.
	// Returns ENotFound if the user has no such unrevoked session.
	RevokeSession(ctx context.Context, sessionID string, at time.Time) error
	// RevokeSessions marks every unrevoked session of the user revoked at
	// at, except exceptSessionID when it is not empty. Having none to revoke
	// is no error.
	RevokeSessions(ctx context.Context, exceptSessionID string, at time.Time) error
}

// RoleTx writes roles in a GlobalTx.
type RoleTx interface {
	// CreateRole inserts r at Version 1. Returns EConflict if the name is
	// taken.
	CreateRole(ctx context.Context, r *Role) error
	// UpdateRole writes the fields of up that are set, and nothing else, if
	// the role's Version still equals up.Version; it then increments Version
	// and sets UpdatedAt to up.At. Returns ENotFound, and EConflict if the
	// role changed since up.Version (nothing is written).
	UpdateRole(ctx context.Context, up *RoleUpdate) error
	// DeleteRole removes the role and takes it from every user holding it,
	// returning their ids (their cached state must be dropped once the
	// transaction commits). Returns ENotFound.
	DeleteRole(ctx context.Context, name string) (holders []string, err error)
}

// ClientTx writes service clients and token revocations in a GlobalTx.
type ClientTx interface {
	// CreateClient inserts c. Returns EConflict if the id is taken.
	CreateClient(ctx context.Context, c *ServiceClient) error
	// DeleteClient removes the client. Its revoked-token records stay until
	// they expire (the Service refuses a deleted client's tokens anyway).
	// Returns ENotFound.
	DeleteClient(ctx context.Context, id string) error
	// RevokeToken records that the access token with the given jti, valid
	// until expiresAt, is revoked, and reports whether it was not recorded
	// before. Each call forgets the records of tokens that expired more
	// than an hour ago, so the table holds live revocations only.
	RevokeToken(ctx context.Context, jti string, expiresAt time.Time) (revoked bool, err error)
}

// UserStore reads accounts.
type UserStore interface {
	// User returns the user with the given id, or ENotFound.
	User(ctx context.Context, id string) (*User, error)
	// UserByEmail returns the user with the given normalised email, or ENotFound.
	UserByEmail(ctx context.Context, email string) (*User, error)
	// ListUsers returns the users f selects, ordered by id, with their roles.
	ListUsers(ctx context.Context, f UserFilter) ([]*User, error)
	// UpgradePasswordHash replaces the user's password hash with newHash if
	// it is still oldHash. A rehash of the same password is no change of the
	// account (nothing is audited): Version, PasswordVersion, UpdatedAt and
	// sessions are left alone. Returns ENotFound for an unknown user and
	// EConflict if the hash is no longer oldHash.
	UpgradePasswordHash(ctx context.Context, userID, oldHash, newHash string) error
}

// RoleStore reads roles (RoleTx writes them; AccountTx grants them).
type RoleStore interface {
	// Roles returns every role, ordered by name.
	Roles(ctx context.Context) ([]*Role, error)
	// Role returns the named role, or ENotFound.
	Role(ctx context.Context, name string) (*Role, error)
}

// SessionStore reads the users' sessions (one per signed-in device).
type SessionStore interface {
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

// ClientStore reads service clients and the access tokens revoked before
// their expiry.
type ClientStore interface {
	// Client returns the client with the given id, or ENotFound.
	Client(ctx context.Context, id string) (*ServiceClient, error)
	// ListClients returns every client, ordered by id.
	ListClients(ctx context.Context) ([]*ServiceClient, error)
	// TokenRevoked reports whether RevokeToken recorded jti.
	TokenRevoked(ctx context.Context, jti string) (bool, error)
}

// IdentityStore reads the users' social identities.
type IdentityStore interface {
	// IdentityBySubject returns the identity of the account subject at
	// provider, whoever it is linked to, or ENotFound.
	IdentityBySubject(ctx context.Context, provider, subject string) (*Identity, error)
	// Identities returns the user's identities, ordered by provider (none
	// for an unknown or malformed user id).
	Identities(ctx context.Context, userID string) ([]*Identity, error)
}

// OAuthStateStore keeps the social sign-ins and links in flight, between
// start and callback. They belong to no user: a link's state only names
// the user who started it (LinkUserID), and outlives neither its expiry
// nor the retention job, whether that user still exists or not.
type OAuthStateStore interface {
	// CreateOAuthState inserts st. Returns EInvalid if st.LinkUserID is
	// set and not a canonical UUID, and EConflict if its hash is taken.
	CreateOAuthState(ctx context.Context, st *OAuthState) error
	// ConsumeOAuthState deletes and returns the state with the given hash,
	// expired or not (the caller judges expiry). Of concurrent
	// consumptions of one state exactly one gets it. Returns ENotFound.
	ConsumeOAuthState(ctx context.Context, hash []byte) (*OAuthState, error)
}

// OutboxStore is what the outbox's senders use outside units of work.
// Every replica runs a sender; they share the queue through it.
type OutboxStore interface {
	// ClaimMail leases up to limit due mails (NextAttemptAt not after now),
	// the earliest due first, to the caller: in one atomic step each one's
	// NextAttemptAt becomes leaseUntil and its Attempts grows by one, so
	// that a concurrent claim (another replica) never gets a mail while its
	// lease lasts, and a mail whose sender died mid-send is due again once
	// the lease runs out. Each mail comes whole, ExpiresAt included (the
	// zero time for none), its times in UTC. An expired mail is claimed
	// like any other: the sender gives it up.
	ClaimMail(ctx context.Context, now, leaseUntil time.Time, limit int) ([]*OutboxMail, error)
	// RetryMail makes the user's mail id due at next and records lastError.
	// Returns ENotFound if there is no such mail.
	RetryMail(ctx context.Context, userID, id string, next time.Time, lastError string) error
	// OutboxStats returns how many mails are queued and when the oldest of
	// them was queued (the zero time when none is).
	OutboxStats(ctx context.Context) (queued int64, oldest time.Time, err error)
}

// AuditStore keeps the audit log.
type AuditStore interface {
	// AppendEvent appends ev to the audit log on its own, for events that
	// change nothing else (a failed login); AuditTx.AppendEvent says what
	// ev must hold.
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
	// DeleteExpiredOneTimeTokens deletes up to limit one-time tokens whose
	// ExpiresAt is before before, of any user, and returns how many it
	// deleted.
	DeleteExpiredOneTimeTokens(ctx context.Context, before time.Time, limit int) (int64, error)
	// DeleteExpiredOAuth deletes up to limit social sign-in states and
	// exchange codes (each) whose ExpiresAt is before before and returns
	// how many it deleted.
	DeleteExpiredOAuth(ctx context.Context, before time.Time, limit int) (int64, error)
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
	// AllowAll makes the attempts of ops (Allows; Reset must be unset) in
	// order, all or nothing and atomically where the store allows it: at the
	// first one refused, the ones made before it are given back and the
	// ones after it are not made, so a refused attempt costs the other
	// counts nothing. It returns the decisions of the ops made: all of them,
	// or up to the refused one, which is then last.
	AllowAll(ctx context.Context, ops []LimitOp) ([]Decision, error)
	// Batch applies ops in order, each exactly as Allow or Reset alone
	// would and as atomic on its own key, but in one round trip to a shared
	// store: a login's counts live under different keys (on Redis Cluster,
	// different nodes), so the ops are not atomic together. It returns one
	// Decision per op (a Reset's is Allowed). After an error, any of ops
	// may or may not have been applied.
	Batch(ctx context.Context, ops []LimitOp) ([]Decision, error)
}

// LimitOp is one operation of Limiter.Batch and AllowAll:
// Allow(Rule, Key, Cost), or Reset(Rule, Key) when Reset is set (Cost is
// then ignored).
type LimitOp struct {
	Rule  Rule
	Key   string
	Cost  int
	Reset bool
}

// UserUpdate is a change of an account's profile fields (AccountTx.UpdateUser).
// A nil field is left as it is, so a change of one field never writes back
// a stale copy of another.
type UserUpdate struct {
	Name          *string
	EmailVerified *bool
	Status        *UserStatus
	Version       int64     // the user's Version the change was decided on
	At            time.Time // the new UpdatedAt
	EndSessions   bool      // revoke every unrevoked session at At
}

// RoleUpdate is a change of a role (RoleTx.UpdateRole); a nil field is left
// as it is.
type RoleUpdate struct {
	Name        string
	Description *string
	Permissions *[]Permission // stored sorted, without duplicates
	Version     int64         // the role's Version the change was decided on
	At          time.Time     // the new UpdatedAt
}
