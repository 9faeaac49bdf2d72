package auth

import "time"

// UserStatus is the lifecycle state of an account.
type UserStatus string

const (
	StatusActive   UserStatus = "active"
	StatusDisabled UserStatus = "disabled"
)

// Built-in roles. Every new account gets RoleUser.
const (
	RoleAdmin = "admin"
	RoleUser  = "user"
)

// User is an account. Email is stored normalised (see NormalizeEmail) and is
// unique across all users.
type User struct {
	ID            string // UUIDv7
	Email         string
	EmailVerified bool
	Name          string
	PasswordHash  string // PHC string; empty for social-only accounts and in redacted copies
	HasPassword   bool   // the account has a password hash (kept by redacted copies)
	Status        UserStatus
	Roles         []string // sorted role names
	CreatedAt     time.Time
	UpdatedAt     time.Time
	// LastLoginAt is zero if the user never signed in. A login doesn't
	// invalidate the user's cached entries, so other sessions' cached
	// profiles may show an older one for up to the cache's MaxTTL.
	LastLoginAt time.Time
	// Version counts the changes of the account (profile, status, roles,
	// password), from 1: a change decided on one version is written only if
	// the account is still at it, so no request undoes another's write.
	// PasswordVersion counts password changes alone: a sign-in checked
	// against one password can't outlive its change.
	Version         int64
	PasswordVersion int64
}

// Redacted returns a copy of u without its password hash, for copies that
// leave the database's keeping (the cache, API responses).
func (u *User) Redacted() *User {
	c := *u
	c.HasPassword = u.PasswordHash != "" || u.HasPassword
	c.PasswordHash = ""
	c.Roles = append([]string(nil), u.Roles...)
	return &c
}

// Session is one sign-in on one device. It owns a family of refresh tokens:
// RefreshGeneration is the generation of the family's current token, and
// revoking the session revokes the whole family.
type Session struct {
	ID                string // UUIDv7
	UserID            string
	CreatedAt         time.Time
	LastSeenAt        time.Time
	ExpiresAt         time.Time
	RevokedAt         time.Time // zero while the session is not revoked
	IP                string
	UserAgent         string
	RefreshGeneration int64
}

// Active reports whether the session may still be used at now, as far as
// its own fields tell (the Service also applies its lifetime limits).
func (s *Session) Active(now time.Time) bool {
	return s.RevokedAt.IsZero() && now.Before(s.ExpiresAt)
}

// SessionFilter selects one user's sessions for ListSessions, newest
// (greatest id, a UUIDv7, so latest created) first. Only sessions that are
// unrevoked and expire after ActiveAt are selected.
type SessionFilter struct {
	UserID       string
	ActiveAt     time.Time
	CreatedAfter time.Time // CreatedAt after this (zero for no bound): the maximum lifetime
	SeenAfter    time.Time // LastSeenAt after this (zero for no bound): the idle timeout
	Before       string    // only ids less than this ("" from the newest)
	Limit        int       // at most this many (> 0)
}

// RefreshToken is the stored form of an opaque refresh token: only its
// SHA-256 hash is kept. Once rotated, Successor holds the successor token
// sealed under a key derived from this token, so that only the holder of this
// token can recover it during the reuse grace interval. Only the most
// recently retired token of a session holds one, and only until GraceUntil:
// a copy of the database plus an older token must not lead to a live one.
type RefreshToken struct {
	Hash       []byte // SHA-256 of the raw token bytes
	UserID     string
	SessionID  string
	Generation int64 // 1 for the first token of a session, +1 per rotation
	CreatedAt  time.Time
	ExpiresAt  time.Time
	RotatedAt  time.Time // zero while this is the session's current token
	Successor  []byte    // sealed successor token; nil until rotated and once cleared
	// GraceUntil is the end of the grace interval, set at rotation by the
	// database's clock (not a replica's) and compared with that clock; zero
	// when the token holds no successor.
	GraceUntil time.Time
}

// SigningKey is a JWT signing key as stored in the database. The private key
// is sealed with the service secret; the public key is published in the JWKS
// from CreatedAt on, and the key signs tokens from ActivatesAt on until a newer
// key activates.
type SigningKey struct {
	ID          string // the JWT "kid"
	Algorithm   string // ES256, EdDSA or RS256
	PublicKey   []byte // PKIX, ASN.1 DER
	PrivateKey  []byte // PKCS #8 DER sealed with AES-256-GCM
	CreatedAt   time.Time
	ActivatesAt time.Time
}

// AccessClaims are the claims of an access token that authd issues. A
// service client's token (client_credentials grant) has ClientID and Scope,
// UserID equal to ClientID, and no session.
type AccessClaims struct {
	ID            string // jti
	UserID        string // sub
	SessionID     string // sid
	Roles         []string
	EmailVerified bool
	ClientID      string // client_id
	Scope         string // space-separated scopes of a client token
	IssuedAt      time.Time
	ExpiresAt     time.Time
}

// TokenPair is what a successful sign-in or refresh returns to the client.
type TokenPair struct {
	AccessToken  string
	RefreshToken string
	TokenType    string // always "Bearer"
	ExpiresIn    time.Duration
	SessionID    string

	// DeviceToken, set by Login only, remembers the device that signed in:
	// presented at the next sign-in (LoginInput.DeviceToken) until
	// DeviceExpiresAt, it exempts the device from lockouts that strangers'
	// failures cause. It grants no access by itself.
	DeviceToken     string
	DeviceExpiresAt time.Time
}

// Origin describes where a request came from; it is recorded on sessions.
type Origin struct {
	IP        string
	UserAgent string
}

// UserFilter selects users for ListUsers. Results are ordered by id (UUIDv7,
// so by creation time), which keeps keyset pages stable while users are
// added: a new user sorts after every existing one.
type UserFilter struct {
	EmailPrefix string     // normalised email starts with this ("" for any)
	Role        string     // holds this role ("" for any)
	Status      UserStatus // "" for any
	After       string     // only ids greater than this ("" from the start)
	Limit       int        // at most this many (> 0)
}
