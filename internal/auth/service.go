package auth

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
)

// Config holds the Service's tunables.
type Config struct {
	AccessTokenTTL    time.Duration // reported as expires_in; the issuer enforces it
	RefreshTokenTTL   time.Duration // lifetime of each refresh token (default 720h)
	RefreshReuseGrace time.Duration // see Refresh; 0 disables the grace interval
	Now               func() time.Time
	Logger            *slog.Logger

	// SessionMaxLifetime ends every session this long after it began,
	// however often it is refreshed; 0 lets refreshes extend it forever.
	SessionMaxLifetime time.Duration
	// SessionIdleTimeout ends a session that has not been refreshed for this
	// long; 0 turns it off.
	SessionIdleTimeout time.Duration
	// PurgeBatch is the most rows one statement of PurgeSessions touches
	// (0: 1000).
	PurgeBatch int

	// Cache speeds up Authenticate and Me (required).
	Cache Cache
	// Limiter enforces Limits (required).
	Limiter Limiter
	Limits  Limits // the zero value turns every limit off
	// Secret is the service secret; the key of remembered-device tokens is
	// derived from it. Nil: a random key, so devices are remembered only
	// until the process ends.
	Secret []byte

	// Mailer renders the mail the flows queue (required).
	Mailer Mailer
	// VerifyTokenTTL is how long an email verification (or email change)
	// link works (default 24h); ResetTokenTTL the same for a password reset
	// link (default 1h).
	VerifyTokenTTL time.Duration
	ResetTokenTTL  time.Duration
	// RequireVerifiedEmail makes password login answer EEmailNotVerified
	// until the account's address is verified.
	RequireVerifiedEmail bool

	// Social configures social sign-in; its zero value enables none.
	Social SocialConfig

	// Observer is told the outcome of sign-ups, logins and refreshes and
	// every token issued; nil: nobody.
	Observer Observer
}

// core is what the three parts of the service share: the stores and
// collaborators, the configuration and the helpers that use them.
type core struct {
	store   Store
	hasher  PasswordHasher
	tokens  TokenIssuer
	cache   Cache
	limiter Limiter
	limits  Limits
	mailer  Mailer
	observe Observer
	cfg     Config
	log     *slog.Logger

	deviceKey []byte // HMAC key of remembered-device tokens
	emailKey  []byte // HMAC key of emailHash, nil without a secret

	states *decoded[*sessionState] // session states decoded from cache entries
}

// Accounts is what people call for themselves: sign-up, login, refresh,
// their sessions and their profile. It is safe for concurrent use, as are
// Admin and ServiceClients.
type Accounts struct{ *core }

// Admin is what administrators call: users, roles, other users' sessions,
// the audit log, and the retention jobs that keep the last two bounded.
type Admin struct{ *core }

// ServiceClients is what machines call (the client_credentials token,
// introspection, revocation) and the registration of service clients.
type ServiceClients struct{ *core }

// Service bundles the three parts over one core, for callers that use them
// all (cmd/authd's wiring, the tests); each caller otherwise takes the part
// it needs.
type Service struct {
	*Accounts
	*Admin
	*ServiceClients
}

// NewService returns the service over its dependencies.
func NewService(store Store, hasher PasswordHasher, tokens TokenIssuer, cfg Config) *Service {
	if cfg.RefreshTokenTTL <= 0 {
		cfg.RefreshTokenTTL = 720 * time.Hour
	}
	if cfg.AccessTokenTTL <= 0 {
		cfg.AccessTokenTTL = 15 * time.Minute
	}
	// A session's first refresh token, like every later one, must not
	// outlive the session's maximum lifetime.
	if cfg.SessionMaxLifetime > 0 && cfg.RefreshTokenTTL > cfg.SessionMaxLifetime {
		cfg.RefreshTokenTTL = cfg.SessionMaxLifetime
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.PurgeBatch <= 0 {
		cfg.PurgeBatch = 1000
	}
	if cfg.VerifyTokenTTL <= 0 {
		cfg.VerifyTokenTTL = 24 * time.Hour
	}
	if cfg.ResetTokenTTL <= 0 {
		cfg.ResetTokenTTL = time.Hour
	}
	if cfg.Observer == nil {
		cfg.Observer = nopObserver{}
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &core{
		store: store, hasher: hasher, tokens: tokens,
		cache: cfg.Cache, limiter: cfg.Limiter, limits: cfg.Limits, mailer: cfg.Mailer,
		observe: cfg.Observer, cfg: cfg, log: log,
		deviceKey: deviceKey(cfg.Secret),
		emailKey:  emailHashKey(cfg.Secret),
		states:    newDecoded(decodedStates, (*sessionState).clone),
	}
	// No defaults: a Service on a cache or limiter production never runs
	// would be tested on something else than what is deployed.
	if s.cache == nil || s.limiter == nil || s.mailer == nil {
		panic("auth: NewService needs Config.Cache, Config.Limiter and Config.Mailer")
	}
	return &Service{Accounts: &Accounts{s}, Admin: &Admin{s}, ServiceClients: &ServiceClients{s}}
}

// now is UTC at microsecond precision: the precision every backend keeps, so
// a value read back equals the value written.
func (s *core) now() time.Time { return s.cfg.Now().UTC().Truncate(time.Microsecond) }

// Principal is an authenticated caller: the claims of a verified access token
// whose session was active when the request arrived. Roles and
// EmailVerified are the user's current values, not the token's, so that a
// change applies at once to everything authd answers itself.
type Principal struct {
	AccessClaims
	Origin Origin // where the request came from (set by the caller), for the audit log
	user   *User  // the caller's profile, without the password hash
}

// RegisterInput is the input of Register.
type RegisterInput struct {
	Email    string
	Password string
	Name     string
	Origin   Origin
}

// Register creates an account with the default role and signs it in.
// Returns EInvalid for a malformed email or name, EWeakPassword (or EInvalid)
// for a password the policy rejects, EEmailTaken if the email is in use, and
// EUnavailable when hashing capacity is exhausted.
func (s *Accounts) Register(ctx context.Context, in RegisterInput) (u *User, pair *TokenPair, err error) {
	defer func() { s.observe.SignUp(signUpOutcome(err)) }()
	return s.register(ctx, in)
}

func (s *Accounts) register(ctx context.Context, in RegisterInput) (*User, *TokenPair, error) {
	email, err := NormalizeEmail(in.Email)
	if err != nil {
		return nil, nil, err
	}
	name, err := NormalizeName(in.Name)
	if err != nil {
		return nil, nil, err
	}
	if err := s.takeIP(ctx, s.limits.RegisterIP, in.Origin.IP); err != nil {
		return nil, nil, err
	}
	ev := newEvent(EventUserRegistered, time.Time{}, in.Origin)
	u, err := s.createUser(ctx, email, name, in.Password, []string{RoleUser}, false, ev)
	if err != nil {
		return nil, nil, err
	}
	pair, err := s.startSession(ctx, u, in.Origin)
	if err != nil {
		return nil, nil, err
	}
	s.log.InfoContext(ctx, "user registered", "user_id", u.ID)
	return u, pair, nil
}

// CreateUser creates an account with the given roles and a verified email,
// for operators bootstrapping administrators. Errors as Register, plus
// EInvalid for an unknown role.
func (s *Admin) CreateUser(ctx context.Context, email, password string, roles []string) (*User, error) {
	email, err := NormalizeEmail(email)
	if err != nil {
		return nil, err
	}
	// The store would refuse an unknown role too, but without naming it.
	catalog, err := s.roleCatalog(ctx)
	if err != nil {
		return nil, err
	}
	for _, r := range roles {
		if catalog[r] == nil {
			return nil, Errorf(EInvalid, "Unknown role %q.", r)
		}
	}
	// Every account holds the default role, administrators included.
	roles = append(roles, RoleUser)
	ev := newEvent(EventUserCreated, time.Time{}, Origin{})
	ev.ActorType = ActorSystem
	return s.createUser(ctx, email, "", password, roles, true, ev)
}

// createUser hashes password and inserts the user, recording ev (its At,
// concerned user and, for a self sign-up, actor are filled in here). An
// unverified address gets its verification mail, queued with the user.
func (s *core) createUser(ctx context.Context, email, name, password string, roles []string, verified bool, ev *Event) (*User, error) {
	if err := s.hasher.Check(password); err != nil {
		return nil, err
	}
	hash, err := s.hasher.Hash(ctx, password)
	if err != nil {
		return nil, err
	}
	id, err := uuid.NewV7()
	if err != nil {
		return nil, fmt.Errorf("new user id: %w", err)
	}
	roles = SortedSet(roles)
	now := s.now()
	u := &User{
		ID:              id.String(),
		Email:           email,
		EmailVerified:   verified,
		Name:            name,
		PasswordHash:    hash,
		HasPassword:     true,
		Status:          StatusActive,
		Roles:           roles,
		Version:         1,
		PasswordVersion: 1,
		CreatedAt:       now,
		UpdatedAt:       now,
	}
	ev.At, ev.UserID = now, u.ID
	if ev.ActorType != ActorSystem {
		ev.byUser(u.ID)
	}
	err = s.inUser(ctx, u.ID, ev, func(tx UserTx) error {
		if err := tx.CreateUser(ctx, u); err != nil {
			return err
		}
		if verified {
			return nil
		}
		return s.mailToken(ctx, tx, u.ID, PurposeVerifyEmail, u.Email, now)
	})
	if err != nil {
		return nil, err
	}
	return u, nil
}

// LoginInput is the input of Login.
type LoginInput struct {
	Email    string
	Password string
	// DeviceToken is the remembered-device token of an earlier sign-in to
	// the account, if the client has one (see TokenPair.DeviceToken).
	DeviceToken string
	Origin      Origin
}

// errInvalidCredentials is the one answer for an unknown email, a wrong
// password and an account without a password, so none can be told apart.
var errInvalidCredentials = Errorf(EInvalidCredentials, "The email or password is incorrect.")

// Login checks an email and password and starts a session, and remembers
// the device: the pair carries a device token that, presented at later
// sign-ins, exempts the device from the lockouts strangers cause (see
// Limits). An unknown email costs the same password-hash time as a wrong
// password and gets the same error, and is locked out the same way. Returns
// EInvalid for missing fields and a malformed email, ETooManyAttempts (see
// Limits), EInvalidCredentials, EAccountDisabled (only to a caller who
// knows the password) and EUnavailable.
func (s *Accounts) Login(ctx context.Context, in LoginInput) (u *User, pair *TokenPair, err error) {
	defer func() { s.observe.Login(s.loginOutcome(err)) }()
	return s.login(ctx, in)
}

func (s *Accounts) login(ctx context.Context, in LoginInput) (*User, *TokenPair, error) {
	if strings.TrimSpace(in.Email) == "" || in.Password == "" {
		return nil, nil, Errorf(EInvalid, "email and password are required")
	}
	if utf8.RuneCountInString(in.Password) > maxPasswordInput {
		return nil, nil, Errorf(EInvalid, "password is too long")
	}
	// No account has a malformed address, so refusing one reveals nothing;
	// and it never reaches the limiter.
	email, err := NormalizeEmail(in.Email)
	if err != nil {
		return nil, nil, err
	}
	dev := s.checkDevice(in.DeviceToken, email)
	done, err := s.loginAttempt(ctx, email, attempter{ip: in.Origin.IP, device: dev})
	if err != nil {
		return nil, nil, err
	}
	u, err := s.store.UserByEmail(ctx, email)
	if err != nil && ErrorCode(err) != ENotFound {
		done(loginNotJudged)
		return nil, nil, err
	}
	if dev != nil && u != nil && u.ID != dev.userID {
		// The device signed in to an earlier account with this address:
		// to this one it is a stranger.
		done(loginNotJudged)
		dev = nil
		if done, err = s.loginAttempt(ctx, email, attempter{ip: in.Origin.IP}); err != nil {
			return nil, nil, err
		}
	}
	encoded := ""
	if u != nil {
		encoded = u.PasswordHash
	}
	ok, rehash, err := s.hasher.Verify(ctx, in.Password, encoded)
	if err != nil {
		done(loginNotJudged)
		return nil, nil, err
	}
	if !ok || u == nil {
		done(loginFailed)
		s.log.InfoContext(ctx, "login failed", "reason", "invalid_credentials", "email_hash", s.emailHash(email))
		s.recordLoginFailure(ctx, u, EInvalidCredentials, in.Origin)
		return nil, nil, errInvalidCredentials
	}
	done(loginSucceeded)
	if u.Status != StatusActive {
		s.recordLoginFailure(ctx, u, EAccountDisabled, in.Origin)
		return nil, nil, Errorf(EAccountDisabled, "This account is disabled.")
	}
	if s.cfg.RequireVerifiedEmail && !u.EmailVerified {
		s.recordLoginFailure(ctx, u, EEmailNotVerified, in.Origin)
		return nil, nil, Errorf(EEmailNotVerified, "Verify your email address first: follow the link we mailed you.")
	}
	if rehash {
		s.upgradeHash(ctx, u, in.Password)
	}
	pair, err := s.startSession(ctx, u, in.Origin)
	if ErrorCode(err) == EConflict {
		// The password changed while this one was being checked: the
		// password it proved is no longer the account's.
		s.log.InfoContext(ctx, "login failed", "reason", "password_changed_meanwhile", "user_id", u.ID, "email_hash", s.emailHash(email))
		return nil, nil, errInvalidCredentials
	}
	if err != nil {
		return nil, nil, err
	}
	if pair.DeviceToken, pair.DeviceExpiresAt, err = s.rememberDevice(u.ID, email, dev); err != nil {
		return nil, nil, err
	}
	return u, pair, nil
}

// recordLoginFailure audits a login refused after the password check. An
// unknown email is recorded without it: the audit log is no place to collect
// strangers' addresses or typos. Attempts refused by a rate limit are not
// recorded (the rate-limit metric counts them), so a flood can't turn cheap
// refusals into database writes.
func (s *core) recordLoginFailure(ctx context.Context, u *User, reason Code, c Origin) {
	ev := newEvent(EventLoginFailed, s.now(), c)
	ev.Outcome, ev.Reason = OutcomeFailure, string(reason)
	if u != nil {
		ev.UserID = u.ID
	}
	s.record(ctx, ev)
}

// maxPasswordInput caps what Login will hash; the policy's maximum is lower.
const maxPasswordInput = 4096

// upgradeHash replaces an outdated hash (bcrypt import, old parameters). It
// replaces only the hash that was checked: if the password changed in the
// meantime, writing a hash of the old one would undo the change. A failure
// only delays the upgrade to the next login, so it is logged, not returned.
// The cache holds no hashes, so there is nothing to invalidate.
func (s *core) upgradeHash(ctx context.Context, u *User, password string) {
	hash, err := s.hasher.Hash(ctx, password)
	if err == nil {
		err = s.store.UpgradePasswordHash(ctx, u.ID, u.PasswordHash, hash)
	}
	switch ErrorCode(err) {
	case "":
		u.PasswordHash = hash
	case EConflict:
		s.log.InfoContext(ctx, "password rehash skipped: the password changed meanwhile", "user_id", u.ID)
	default:
		s.log.WarnContext(ctx, "password rehash failed", "user_id", u.ID, "err", err)
	}
}

// startSession creates a session with its first refresh token and signs an
// access token for it. u is the account as the sign-in checked it: EConflict
// if its password changed since.
func (s *core) startSession(ctx context.Context, u *User, c Origin) (*TokenPair, error) {
	sid, err := uuid.NewV7()
	if err != nil {
		return nil, fmt.Errorf("new session id: %w", err)
	}
	raw, hash, err := newRefreshToken(u.ID)
	if err != nil {
		return nil, err
	}
	now := s.now()
	sess := &Session{
		ID:                sid.String(),
		UserID:            u.ID,
		CreatedAt:         now,
		LastSeenAt:        now,
		ExpiresAt:         now.Add(s.cfg.RefreshTokenTTL),
		IP:                truncate(c.IP, 64),
		UserAgent:         truncate(c.UserAgent, 512),
		RefreshGeneration: 1,
	}
	rt := &RefreshToken{
		Hash:       hash,
		UserID:     u.ID,
		SessionID:  sess.ID,
		Generation: 1,
		CreatedAt:  now,
		ExpiresAt:  sess.ExpiresAt,
	}
	ev := newEvent(EventLoginSucceeded, now, c).byUser(u.ID)
	ev.Resource = sess.ID
	if err := s.inUser(ctx, u.ID, ev, func(tx UserTx) error { return tx.CreateSession(ctx, sess, rt, u.PasswordVersion) }); err != nil {
		return nil, err
	}
	s.observe.TokenIssued("refresh")
	// No cache invalidation: the write changed only the user's LastLoginAt
	// (both stores' CreateSession) and added a session, which the cache
	// holds under a key of its own, loaded fresh on first use. Dropping
	// the user's group would reload every other session's entry on every
	// login; their profiles may instead show the previous LastLoginAt until
	// their entries expire (the cache's MaxTTL).
	u.LastLoginAt = now
	return s.pair(ctx, u, sess.ID, raw)
}

func (s *core) pair(ctx context.Context, u *User, sessionID, refresh string) (*TokenPair, error) {
	access, claims, err := s.tokens.Issue(ctx, AccessClaims{
		UserID:        u.ID,
		SessionID:     sessionID,
		Roles:         u.Roles,
		EmailVerified: u.EmailVerified,
	})
	if err != nil {
		return nil, err
	}
	s.observe.TokenIssued("access")
	return &TokenPair{
		AccessToken:  access,
		RefreshToken: refresh,
		TokenType:    "Bearer",
		ExpiresIn:    claims.ExpiresAt.Sub(claims.IssuedAt),
		SessionID:    sessionID,
	}, nil
}

// Refresh exchanges a refresh token for a new token pair and retires it.
// The new token, and with it the session, expires after RefreshTokenTTL but
// never past the session's maximum lifetime; a session past that, or idle
// for longer than SessionIdleTimeout, is not refreshed.
//
// Presenting a retired token again is reuse: the whole session is revoked.
// The one exception is a burst of concurrent refreshes by the same client:
// within RefreshReuseGrace of its rotation, the most recently retired token
// gets the successor it was rotated to (recovered from the sealed copy only
// its holder can open), so no two live successors ever exist. The interval
// is measured on the database's clock, from the rotation to the read (see
// Store.RefreshState), never by comparing this replica's clock with a time
// another replica wrote; the grace setting of the replica that rotated the
// token applies.
// Returns EInvalidRefreshToken for an unknown, expired, revoked or reused token.
func (s *Accounts) Refresh(ctx context.Context, raw string, c Origin) (pair *TokenPair, err error) {
	defer func() { s.observe.Refresh(refreshOutcome(err)) }()
	return s.refresh(ctx, raw, c)
}

func (s *Accounts) refresh(ctx context.Context, raw string, c Origin) (*TokenPair, error) {
	if err := s.takeIP(ctx, s.limits.RefreshIP, c.IP); err != nil {
		return nil, err
	}
	userID, hash, err := parseRefreshToken(raw)
	if err != nil {
		return nil, err
	}
	// A concurrent refresh can win the rotation race between our read and
	// our rotation; another pass then sees the token as just retired and
	// takes the grace path.
	for range 3 {
		rt, sess, u, err := s.store.RefreshState(ctx, userID, hash)
		if err != nil {
			return nil, notFoundAs(err, errInvalidRefresh)
		}
		now := s.now()
		if !s.sessionActive(sess, now) || !now.Before(rt.ExpiresAt) || u.Status != StatusActive {
			return nil, errInvalidRefresh
		}

		if rt.RotatedAt.IsZero() {
			if rt.Generation != sess.RefreshGeneration {
				// One consistent read never shows an unrotated token behind
				// its session; if a store's read does, the rotation would
				// lose anyway: read again.
				continue
			}
			pair, err := s.rotate(ctx, u, sess, rt, raw, now)
			if ErrorCode(err) == EConflict {
				continue
			}
			return pair, err
		}

		// The store hands out the successor only while the grace interval
		// is open on the database's clock.
		if rt.Generation == sess.RefreshGeneration-1 && rt.Successor != nil {
			next, err := openSuccessor(raw, rt.Successor)
			if err != nil {
				return nil, fmt.Errorf("refresh grace: %w", err)
			}
			return s.pair(ctx, u, sess.ID, next)
		}

		ev := newEvent(EventRefreshTokenReused, now, c).about(userID, sess.ID)
		ev.Outcome, ev.Reason = OutcomeFailure, "session_revoked"
		if err := s.inUser(ctx, userID, ev, func(tx UserTx) error { return tx.RevokeSession(ctx, sess.ID, now) }); err != nil && ErrorCode(err) != ENotFound {
			return nil, err
		}
		s.invalidate(ctx, userID)
		s.log.WarnContext(ctx, "refresh token reuse detected; session revoked",
			"user_id", userID, "session_id", sess.ID, "generation", rt.Generation)
		return nil, errRefreshReused
	}
	// The family moved on during every pass, which only a client replaying
	// tokens at a high rate can cause.
	return nil, errInvalidRefresh
}

func (s *core) rotate(ctx context.Context, u *User, sess *Session, old *RefreshToken, raw string, now time.Time) (*TokenPair, error) {
	next, hash, err := newRefreshToken(u.ID)
	if err != nil {
		return nil, err
	}
	// Without a grace interval no successor is kept: nothing would ever
	// open it.
	var sealed []byte
	if s.cfg.RefreshReuseGrace > 0 {
		if sealed, err = sealSuccessor(raw, next); err != nil {
			return nil, err
		}
	}
	rec := &RefreshToken{
		Hash:       hash,
		UserID:     u.ID,
		SessionID:  old.SessionID,
		Generation: old.Generation + 1,
		CreatedAt:  now,
		ExpiresAt:  s.refreshExpiry(sess, now),
	}
	if err := s.store.RotateRefreshToken(ctx, old, sealed, s.cfg.RefreshReuseGrace, rec, now); err != nil {
		return nil, err
	}
	s.observe.TokenIssued("refresh")
	return s.pair(ctx, u, old.SessionID, next)
}

// Authenticate verifies an access token and checks that its session is still
// active and its user still enabled, so that logout, revocation and
// disabling take effect on the next request. On a warm cache it reads no
// database. Returns EUnauthorized.
func (s *Accounts) Authenticate(ctx context.Context, accessToken string) (*Principal, error) {
	claims, err := s.tokens.Verify(ctx, accessToken)
	if err != nil {
		return nil, err
	}
	if claims.ClientID != "" {
		// A service client's token is for resource servers (they introspect
		// it); authd's own endpoints act for users only.
		return nil, Errorf(EUnauthorized, "A service client's token can't be used here.")
	}
	st, err := s.sessionState(ctx, claims.UserID, claims.SessionID)
	if err != nil {
		return nil, err
	}
	if !st.active(s.now()) {
		return nil, errSessionEnded
	}
	p := &Principal{AccessClaims: *claims, user: st.User}
	p.Roles = st.User.Roles
	p.EmailVerified = st.User.EmailVerified
	return p, nil
}

var errSessionEnded = Errorf(EUnauthorized, "The session has ended.")

// Logout ends the caller's session. When refreshToken is given and belongs to
// another session of the same user, that session ends too; any other value is
// ignored so that logout always succeeds for the caller's own session.
func (s *Accounts) Logout(ctx context.Context, p *Principal, refreshToken string) error {
	now := s.now()
	ev := newEvent(EventLogout, now, Origin{}).byPrincipal(p)
	ev.Resource = p.SessionID
	if err := s.inUser(ctx, p.UserID, ev, func(tx UserTx) error { return tx.RevokeSession(ctx, p.SessionID, now) }); err != nil && ErrorCode(err) != ENotFound {
		return err
	}
	s.invalidate(ctx, p.UserID)
	if refreshToken == "" {
		return nil
	}
	userID, hash, err := parseRefreshToken(refreshToken)
	if err != nil || userID != p.UserID {
		return nil
	}
	rt, err := s.store.RefreshToken(ctx, userID, hash)
	if err != nil || rt.SessionID == p.SessionID {
		return nil
	}
	ev = newEvent(EventLogout, now, Origin{}).byPrincipal(p)
	ev.Resource = rt.SessionID
	if err := s.inUser(ctx, userID, ev, func(tx UserTx) error { return tx.RevokeSession(ctx, rt.SessionID, now) }); err != nil && ErrorCode(err) != ENotFound {
		return err
	}
	s.invalidate(ctx, userID)
	return nil
}

// LogoutAll ends every session of the caller, the current one included.
func (s *Accounts) LogoutAll(ctx context.Context, p *Principal) error {
	now := s.now()
	ev := newEvent(EventLogout, now, Origin{}).byPrincipal(p)
	ev.Reason = "all_sessions"
	if err := s.inUser(ctx, p.UserID, ev, func(tx UserTx) error { return tx.RevokeSessions(ctx, "", now) }); err != nil {
		return err
	}
	s.invalidate(ctx, p.UserID)
	return nil
}

// LogoutOthers ends every session of the caller but the current one: "sign
// out everywhere else" after noticing a device they don't know.
func (s *Accounts) LogoutOthers(ctx context.Context, p *Principal) error {
	now := s.now()
	ev := newEvent(EventLogout, now, Origin{}).byPrincipal(p)
	ev.Reason = "other_sessions"
	if err := s.inUser(ctx, p.UserID, ev, func(tx UserTx) error { return tx.RevokeSessions(ctx, p.SessionID, now) }); err != nil {
		return err
	}
	s.invalidate(ctx, p.UserID)
	return nil
}

// Sessions returns one page of the caller's active sessions, newest first,
// and the cursor of the next page ("" on the last). Returns EInvalid for a
// malformed cursor or limit.
func (s *Accounts) Sessions(ctx context.Context, p *Principal, q SessionQuery) ([]*Session, string, error) {
	return s.listSessions(ctx, p.UserID, q)
}

// RevokeSession ends one of the caller's sessions. Returns ENotFound for an
// unknown session, one that already ended, or another user's session: the
// three are indistinguishable to the caller.
func (s *Accounts) RevokeSession(ctx context.Context, p *Principal, sessionID string) error {
	if _, err := uuid.Parse(sessionID); err != nil {
		return Errorf(ENotFound, "session not found")
	}
	now := s.now()
	ev := newEvent(EventSessionRevoked, now, Origin{}).byPrincipal(p)
	ev.Resource = sessionID
	if err := s.inUser(ctx, p.UserID, ev, func(tx UserTx) error { return tx.RevokeSession(ctx, sessionID, now) }); err != nil {
		return notFoundAs(err, Errorf(ENotFound, "session not found"))
	}
	s.invalidate(ctx, p.UserID)
	return nil
}

// ChangePassword replaces the caller's password after checking the current
// one, and ends every other session of the caller. Returns
// EInvalidCredentials for a wrong current password, EWeakPassword/EInvalid
// for a rejected new one, and EUnavailable.
func (s *Accounts) ChangePassword(ctx context.Context, p *Principal, current, next string) error {
	u, err := s.account(ctx, p)
	if err != nil {
		return err
	}
	if err := s.confirmPassword(ctx, p, u, "current_password", current); err != nil {
		return err
	}
	if err := s.hasher.Check(next); err != nil {
		return err
	}
	hash, err := s.hasher.Hash(ctx, next)
	if err != nil {
		return err
	}
	now := s.now()
	ev := newEvent(EventPasswordChanged, now, Origin{}).byPrincipal(p)
	err = s.inUser(ctx, u.ID, ev, func(tx UserTx) error {
		if err := tx.ChangePassword(ctx, hash, p.SessionID, u.PasswordVersion, now); err != nil {
			return err
		}
		// A link mailed before (a reset someone else asked for, an email
		// change) must not outlive the password it was asked under.
		return tx.DeleteOneTimeTokens(ctx)
	})
	if ErrorCode(err) == EConflict {
		return errChangedMeanwhile
	}
	if err != nil {
		return notFoundAs(err, errSessionEnded)
	}
	s.invalidate(ctx, u.ID)
	s.log.InfoContext(ctx, "password changed; other sessions revoked", "user_id", u.ID)
	return nil
}

// Me returns the caller's account, without its password hash. It is the
// copy Authenticate loaded (from the cache when warm).
func (s *Accounts) Me(ctx context.Context, p *Principal) (*User, error) {
	if p.user != nil {
		return p.user.Redacted(), nil
	}
	u, err := s.store.User(ctx, p.UserID)
	if err != nil {
		return nil, notFoundAs(err, errSessionEnded)
	}
	return u.Redacted(), nil
}

// account reads the caller's account from the database, for changes that
// must start from the current row (never a cached copy).
func (s *core) account(ctx context.Context, p *Principal) (*User, error) {
	u, err := s.store.User(ctx, p.UserID)
	return u, notFoundAs(err, errSessionEnded)
}

// ProfilePatch lists the profile fields a user may change; nil leaves a field
// unchanged.
type ProfilePatch struct {
	Name *string
}

// UpdateMe applies patch to the caller's profile, writing only the fields
// it sets. Returns EInvalid for a malformed name and EConflict when the
// account changed between our read and our write (the request may be
// retried).
func (s *Accounts) UpdateMe(ctx context.Context, p *Principal, patch ProfilePatch) (*User, error) {
	u, err := s.account(ctx, p)
	if err != nil {
		return nil, err
	}
	u = u.Redacted()
	if patch.Name == nil {
		return u, nil
	}
	name, err := NormalizeName(*patch.Name)
	if err != nil {
		return nil, err
	}
	up := &UserUpdate{Name: &name, Version: u.Version, At: s.now()}
	ev := newEvent(EventUserUpdated, up.At, Origin{}).byPrincipal(p)
	ev.Reason = "name"
	switch err := s.inUser(ctx, u.ID, ev, func(tx UserTx) error { return tx.UpdateUser(ctx, up) }); ErrorCode(err) {
	case "":
	case EConflict:
		return nil, errChangedMeanwhile
	default:
		return nil, notFoundAs(err, errSessionEnded)
	}
	s.invalidate(ctx, u.ID)
	u.Name, u.Version, u.UpdatedAt = name, u.Version+1, up.At
	return u, nil
}

// errChangedMeanwhile answers a change decided on a copy that another write
// made stale: applying it could undo that write.
var errChangedMeanwhile = Errorf(EConflict, "The resource was changed by another request. Reload it and try again.")

// DeleteMe deletes the caller's account with every session. Users with a
// password must confirm it: EInvalidCredentials otherwise.
func (s *Accounts) DeleteMe(ctx context.Context, p *Principal, password string) error {
	u, err := s.account(ctx, p)
	if err != nil {
		return err
	}
	if err := s.confirmPassword(ctx, p, u, "password", password); err != nil {
		return err
	}
	ev := newEvent(EventUserDeleted, s.now(), Origin{}).byPrincipal(p)
	// Deleting only the account as it was when the password was confirmed:
	// a password changed meanwhile was not the one confirmed.
	switch err := s.inUser(ctx, u.ID, ev, func(tx UserTx) error { return tx.DeleteUser(ctx, u.Version) }); ErrorCode(err) {
	case "":
	case EConflict:
		return errChangedMeanwhile
	default:
		return notFoundAs(err, errSessionEnded)
	}
	s.invalidate(ctx, u.ID)
	s.log.InfoContext(ctx, "user deleted their account", "user_id", u.ID)
	return nil
}

// confirmPassword checks the password of a signed-in user, given in the
// request field field, before a sensitive change; an account without a
// password has nothing to confirm. A missing or overlong password is EInvalid
// and costs no attempt; a wrong one is EInvalidCredentials. Failures are
// counted like failed logins, per (account, session), so a stolen access
// token can't be used to guess the password either (past the limit it
// returns ETooManyAttempts), while strangers' failed logins don't stop the
// owner's session.
func (s *core) confirmPassword(ctx context.Context, p *Principal, u *User, field, password string) error {
	switch {
	case u.PasswordHash == "":
		return nil
	case password == "":
		return Errorf(EInvalid, "%s is required", field)
	case utf8.RuneCountInString(password) > maxPasswordInput:
		return Errorf(EInvalid, "%s is too long", field)
	}
	done, err := s.loginAttempt(ctx, u.Email, attempter{session: p.SessionID})
	if err != nil {
		return err
	}
	ok, _, err := s.hasher.Verify(ctx, password, u.PasswordHash)
	switch {
	case err != nil:
		done(loginNotJudged)
		return err
	case !ok:
		done(loginFailed)
		return Errorf(EInvalidCredentials, "The password is incorrect.")
	}
	done(loginSucceeded)
	return nil
}

// notFoundAs replaces an ENotFound error with replacement and passes any
// other error (or nil) through.
func notFoundAs(err error, replacement *Error) error {
	if ErrorCode(err) == ENotFound {
		return replacement
	}
	return err
}

func truncate(s string, n int) string {
	s = strings.ToValidUTF8(s, "")
	if len(s) <= n {
		return s
	}
	// Cut on a rune boundary so the stored value stays valid UTF-8.
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// CheckPassword reports whether password would be accepted as a new
// password (the policy's length bounds and the common-password list),
// without setting anything: the live guidance of a sign-up form. It says
// nothing about any account.
func (s *Accounts) CheckPassword(password string) error {
	return s.hasher.Check(password)
}
