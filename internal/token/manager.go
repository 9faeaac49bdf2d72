package token

import (
	"context"
	"crypto/cipher"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"

	"github.com/talentforge/authd/internal/auth"
)

// Defaults applied by New to the zero values of Config's fields.
const (
	DefaultAlgorithm      = ES256
	DefaultAccessTTL      = 15 * time.Minute
	DefaultLeeway         = 30 * time.Second
	DefaultRotationPeriod = 30 * 24 * time.Hour
	DefaultPublishDelay   = 10 * time.Minute
	DefaultReloadInterval = time.Minute
)

// MinSecretLen is the minimum length of Config.Secret in bytes.
const MinSecretLen = 32

const (
	// headerType is the "typ" of authd's access tokens (RFC 9068 §2.1).
	headerType = "at+jwt"
	// maxTokenLen bounds the tokens Verify parses and Issue produces: far more
	// than a token with dozens of roles needs, small enough that garbage is
	// rejected before any decoding.
	maxTokenLen = 16 << 10
	// kidReloadGap is the least time between two reloads triggered by tokens
	// whose kid is unknown, so garbage tokens can't hammer the database.
	kidReloadGap = 5 * time.Second
)

// Causes of a refused token that the checks authd adds to the jwt
// package's tell apart, in Err of the error Verify returns.
var (
	errCritHeader    = errors.New(`header has "crit"`)
	errDateNotNumber = errors.New("date claim is not a JSON number")
	errHighS         = errors.New("ES256 signature has a high s")
	errAlgMismatch   = errors.New("alg is not the algorithm of the key named by kid")
	errUnknownKid    = errors.New("kid names no published key")
)

// Config configures a Manager. Zero durations take the defaults above.
type Config struct {
	// Issuer is the iss claim (AUTH_ISSUER). Required.
	Issuer string
	// Audience is the aud claim that Issue writes and Verify requires.
	// Empty means Issuer: the tokens are for authd's own API.
	Audience string
	// Algorithm signs new keys: ES256 (default), EdDSA or RS256. Keys of
	// another algorithm made before a change keep verifying until they are
	// unpublished; the next rotation makes a key of the new algorithm.
	Algorithm string
	// AccessTTL is the lifetime of access tokens (AUTH_ACCESS_TOKEN_TTL).
	AccessTTL time.Duration
	// Leeway is the clock skew tolerated on exp, nbf and iat.
	Leeway time.Duration
	// RotationPeriod is the age (since creation) at which Run replaces the
	// current key. A negative value disables automatic rotation.
	RotationPeriod time.Duration
	// PublishDelay is how long a rotated key is published before it signs.
	// It should exceed ReloadInterval plus the time verifiers cache the JWKS
	// (see JWKSMaxAge), so that every replica and verifier knows a key before
	// it signs.
	PublishDelay time.Duration
	// ReloadInterval is how often Run re-reads the keys from the store.
	ReloadInterval time.Duration
	// Secret is the service secret (AUTH_SECRET_KEY) that seals private keys,
	// at least MinSecretLen bytes. New derives the sealing key and keeps no
	// reference to Secret.
	Secret []byte
	// Now is the clock; nil means time.Now. Tests inject a fake one.
	Now func() time.Time
	// Logger receives rotations and reload failures; nil discards them.
	Logger *slog.Logger
	// VerifiedCacheSize is how many verified tokens Verify remembers, so
	// that a token presented again skips the signature check (0: 16384,
	// about 4 MB; negative: off).
	VerifiedCacheSize int
}

// withDefaults returns c completed with defaults, or an error naming the
// first invalid field.
func (c Config) withDefaults() (Config, error) {
	if c.Issuer == "" {
		return c, errors.New("token: Issuer is required")
	}
	if c.Audience == "" {
		c.Audience = c.Issuer
	}
	if c.Algorithm == "" {
		c.Algorithm = DefaultAlgorithm
	}
	if _, err := signingMethod(c.Algorithm); err != nil {
		return c, fmt.Errorf("token: %w", err)
	}
	if len(c.Secret) < MinSecretLen {
		return c, fmt.Errorf("token: the secret key must be at least %d bytes, got %d", MinSecretLen, len(c.Secret))
	}
	for _, d := range []struct {
		name string
		v    *time.Duration
		def  time.Duration
	}{
		{"AccessTTL", &c.AccessTTL, DefaultAccessTTL},
		{"Leeway", &c.Leeway, DefaultLeeway},
		{"PublishDelay", &c.PublishDelay, DefaultPublishDelay},
		{"ReloadInterval", &c.ReloadInterval, DefaultReloadInterval},
		{"RotationPeriod", &c.RotationPeriod, DefaultRotationPeriod},
	} {
		switch {
		case *d.v == 0:
			*d.v = d.def
		case *d.v < 0 && d.name != "RotationPeriod":
			return c, fmt.Errorf("token: %s must not be negative, got %v", d.name, *d.v)
		}
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c, nil
}

// Manager issues and verifies access tokens and keeps the signing keys: it
// implements auth.TokenIssuer and serves the JWKS. It is safe for concurrent
// use. Call Run in a goroutine so that it follows rotations made by other
// replicas and rotates on schedule.
type Manager struct {
	cfg    Config
	store  KeyStore
	sealer cipher.AEAD
	log    *slog.Logger

	// mu serialises replacements of the key set (reload, rotation), so that
	// a slow reload can't drop a key that a concurrent Rotate just added.
	// Readers never take it.
	mu   sync.Mutex
	keys atomic.Pointer[keySet]

	// nextKidReload is the earliest time (Unix nanoseconds, by cfg.Now) at
	// which a token with an unknown kid may trigger a reload.
	nextKidReload atomic.Int64

	jwks jwksCache

	verified *verifiedCache
}

var _ auth.TokenIssuer = (*Manager)(nil)

// New loads and unseals every key in store and returns a Manager that signs
// with them. When no key can sign now (a fresh install), it creates one that
// signs at once. It fails when cfg is invalid, when the store fails, and with
// an error wrapping ErrSecretMismatch when cfg.Secret does not open a stored
// key.
func New(ctx context.Context, store KeyStore, cfg Config) (*Manager, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	if store == nil {
		return nil, errors.New("token: store is nil")
	}
	sealer, err := newSealer(cfg.Secret)
	if err != nil {
		return nil, fmt.Errorf("token: sealing key: %w", err)
	}
	cfg.Secret = nil
	size := cfg.VerifiedCacheSize
	if size == 0 {
		size = 16384
	}
	m := &Manager{cfg: cfg, store: store, sealer: sealer, log: cfg.Logger, verified: newVerifiedCache(size)}
	m.keys.Store(m.newKeySet(nil))
	if err := m.reload(ctx); err != nil {
		return nil, err
	}
	if m.keys.Load().current(m.now()) == nil {
		if _, err := m.Rotate(ctx); err != nil {
			return nil, err
		}
	}
	return m, nil
}

func (m *Manager) now() time.Time { return m.cfg.Now() }

// Issue signs an access token for c with the current key. It fills in c.ID
// (128 random bits, base64url), c.IssuedAt (now, to the second) and
// c.ExpiresAt (IssuedAt + AccessTTL) and returns the claims as the token
// carries them (Roles never nil). c.UserID and c.SessionID are required for
// a user's token; a service client's token has ClientID (and Scope) instead,
// with UserID equal to ClientID. A missing one, or a failure to sign, is an
// EInternal error.
func (m *Manager) Issue(ctx context.Context, c auth.AccessClaims) (string, auth.AccessClaims, error) {
	if c.ClientID != "" {
		c.UserID = c.ClientID
	} else if c.UserID == "" || c.SessionID == "" {
		return "", auth.AccessClaims{}, &auth.Error{Code: auth.EInternal, Message: "cannot issue an access token",
			Err: errors.New("token: access claims need a user id and a session id")}
	}
	now := m.now()
	k := m.keys.Load().current(now)
	if k == nil {
		// Only a clock set back before the first key's activation gets here.
		return "", auth.AccessClaims{}, &auth.Error{Code: auth.EInternal, Message: "cannot issue an access token",
			Err: fmt.Errorf("token: no signing key is active at %v", now)}
	}
	iat := now.Truncate(time.Second).UTC()
	c.ID = randomID()
	c.IssuedAt = iat
	c.ExpiresAt = iat.Add(m.cfg.AccessTTL).Truncate(time.Second)
	if c.Roles == nil {
		c.Roles = []string{}
	}
	reg := registeredClaims{
		Issuer:    m.cfg.Issuer,
		Subject:   c.UserID,
		Audience:  audience{m.cfg.Audience},
		ExpiresAt: newNumericDate(c.ExpiresAt),
		NotBefore: newNumericDate(iat),
		IssuedAt:  newNumericDate(iat),
		ID:        c.ID,
	}
	var payload jwt.Claims = &accessClaims{
		registeredClaims: reg,
		SessionID:        c.SessionID,
		Roles:            c.Roles,
		EmailVerified:    c.EmailVerified,
	}
	if c.ClientID != "" {
		c.Roles, c.SessionID, c.EmailVerified = []string{}, "", false
		payload = &clientClaims{registeredClaims: reg, ClientID: c.ClientID, Scope: c.Scope}
	}
	t := jwt.NewWithClaims(k.method, payload)
	t.Header["kid"] = k.id
	t.Header["typ"] = headerType
	s, err := t.SignedString(k.private)
	if err == nil && len(s) > maxTokenLen {
		err = fmt.Errorf("token is %d bytes, over the %d that Verify accepts (%d roles)", len(s), maxTokenLen, len(c.Roles))
	}
	if err != nil {
		return "", auth.AccessClaims{}, &auth.Error{Code: auth.EInternal, Message: "cannot issue an access token",
			Err: fmt.Errorf("token: sign with key %s: %w", k.id, err)}
	}
	return s, c, nil
}

// Verify checks token's signature against the published key named by its
// kid, pinning the algorithm to that key's, and its typ, iss, aud, exp, nbf
// and iat (with Leeway), and returns its claims. Every failure is an
// EUnauthorized *auth.Error with the message "invalid access token"; the
// cause, for logs, is its Err. Verify does not consult revocation state.
func (m *Manager) Verify(ctx context.Context, token string) (*auth.AccessClaims, error) {
	if len(token) > maxTokenLen {
		return nil, invalidToken(fmt.Errorf("token is %d bytes long", len(token)))
	}
	// Go's base64 decoders skip '\r' and '\n'; checking the alphabet first
	// gives every token a single spelling and rejects most garbage without
	// decoding anything.
	if !wellFormed(token) {
		return nil, invalidToken(errors.New("token is not three base64url segments"))
	}
	set := m.keys.Load()
	now := m.now()
	claims, key, ok := m.verified.get(token, now, set)
	if ok {
		return claims, nil
	}
	var (
		c   accessClaims
		kid string
	)
	_, err := set.parser.ParseWithClaims(token, &c, func(t *jwt.Token) (any, error) {
		kid, _ = t.Header["kid"].(string)
		return m.verificationKey(ctx, set, t)
	})
	if err != nil {
		return nil, invalidToken(err)
	}
	roles := c.Roles
	if roles == nil {
		roles = []string{}
	}
	claims = &auth.AccessClaims{
		ID:            c.ID,
		UserID:        c.Subject,
		SessionID:     c.SessionID,
		Roles:         roles,
		EmailVerified: c.EmailVerified,
		ClientID:      c.ClientID,
		Scope:         c.Scope,
		IssuedAt:      c.IssuedAt.UTC(),
		ExpiresAt:     c.ExpiresAt.UTC(),
	}
	m.verified.put(key, kid, claims, now)
	return claims, nil
}

// wellFormed reports whether token is three base64url segments. It runs on
// every request, so it is a byte loop over a table rather than a rune
// function per character.
func wellFormed(token string) bool {
	dots := 0
	for i := 0; i < len(token); i++ {
		c := token[i]
		if c == '.' {
			dots++
		} else if !base64URLByte[c] {
			return false
		}
	}
	return dots == 2
}

var base64URLByte = func() (t [256]bool) {
	for c := range 256 {
		t[c] = !notBase64URL(rune(c))
	}
	return t
}()

func invalidToken(cause error) error {
	return &auth.Error{Code: auth.EUnauthorized, Message: "invalid access token", Err: fmt.Errorf("token: %w", cause)}
}

// verificationKey is the jwt key function. The parser has already checked
// that the alg is one of the set's algorithms; this pins it to the key's own.
func (m *Manager) verificationKey(ctx context.Context, set *keySet, t *jwt.Token) (any, error) {
	// RFC 7515 §4.1.11: a verifier must refuse a token whose crit names an
	// extension it does not understand, and authd understands none. The jwt
	// package ignores crit; a crit of any value (even [] or null, which the
	// RFC forbids) is refused, as there is no reason for our tokens to have one.
	if _, ok := t.Header["crit"]; ok {
		return nil, errCritHeader
	}
	typ, _ := t.Header["typ"].(string)
	// RFC 9068 §4 lets the media type be written in full, in any case.
	if lt := strings.ToLower(typ); lt != headerType && lt != "application/"+headerType {
		return nil, fmt.Errorf("header typ %.40q is not %q", typ, headerType)
	}
	kid, _ := t.Header["kid"].(string)
	if kid == "" {
		return nil, errors.New("header has no kid")
	}
	e := set.byID[kid]
	if e == nil {
		if e = m.reloadForKid(ctx, kid); e == nil {
			return nil, fmt.Errorf("%w: %.40q", errUnknownKid, kid)
		}
	}
	if alg := t.Method.Alg(); alg != e.alg {
		return nil, fmt.Errorf("%w: %s for key %s (%s)", errAlgMismatch, alg, e.id, e.alg)
	}
	if e.alg == ES256 && highS(t.Signature) {
		return nil, errHighS
	}
	if !e.publishedAt(m.now()) {
		return nil, fmt.Errorf("key %s was unpublished at %v", e.id, e.unpublishAt)
	}
	return e.public, nil
}

// reloadForKid reloads the keys, at most once per kidReloadGap, and returns
// the key named kid if the reload found it. A replica's new key normally
// arrives with the periodic reload long before it signs; this path covers
// replicas that created keys at the same time (a fresh install) or a missed
// reload. Tokens that arrive while another token's reload is in flight are
// rejected rather than queued, so a slow database can't pile them up.
func (m *Manager) reloadForKid(ctx context.Context, kid string) *entry {
	if !looksLikeID(kid) {
		return nil
	}
	now := m.now().UnixNano()
	next := m.nextKidReload.Load()
	// A next more than one gap ahead means the clock was set back; don't let
	// that silence reloads for as long as it moved.
	wait := now < next && next-now <= int64(kidReloadGap)
	if wait || !m.nextKidReload.CompareAndSwap(next, now+int64(kidReloadGap)) {
		return nil
	}
	if err := m.reload(ctx); err != nil {
		m.log.WarnContext(ctx, "reloading signing keys for an unknown kid failed", "err", err)
		return nil
	}
	return m.keys.Load().byID[kid]
}

// Rotate creates and stores a new key of the configured algorithm. It is
// published at once and signs from PublishDelay later on, or at once when no
// key signs now. It returns the stored record (private key sealed), and the
// store's error (EConflict for a duplicate id, practically impossible) when
// the key could not be stored.
func (m *Manager) Rotate(ctx context.Context) (*auth.SigningKey, error) {
	return m.rotate(ctx, m.cfg.PublishDelay)
}

// RotateNow is Rotate for an emergency (a leaked key, see Revoke): the new
// key signs at once. Replicas that have not reloaded yet still accept its
// tokens, since a token with an unknown kid makes them reload, but a
// verifier that cached the JWKS refuses them until it fetches it again.
func (m *Manager) RotateNow(ctx context.Context) (*auth.SigningKey, error) {
	return m.rotate(ctx, 0)
}

func (m *Manager) rotate(ctx context.Context, delay time.Duration) (*auth.SigningKey, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	set := m.keys.Load()
	// Key times are kept to the second so every backend stores them exactly
	// and all replicas order the keys alike.
	now := m.now().Truncate(time.Second).UTC()
	activates := now.Add(delay)
	if set.current(now) == nil {
		activates = now
	}
	if delay == 0 {
		// It must sign at once, so it must come after the key that signs
		// now, and keys of the same second would be ordered by id: the
		// microsecond, which every backend keeps, orders them.
		activates = m.now().Truncate(time.Microsecond).UTC()
		if cur := set.current(activates); cur != nil && !activates.After(cur.activatesAt) {
			activates = cur.activatesAt.Add(time.Microsecond)
		}
	}
	k, rec, err := generateKey(m.sealer, m.cfg.Algorithm, now, activates)
	if err != nil {
		return nil, fmt.Errorf("token: %w", err)
	}
	// The audit event is ours to word; storage appends it with the key, in
	// one transaction.
	ev := &auth.Event{
		ID:        uuid.Must(uuid.NewV7()).String(),
		At:        rec.CreatedAt,
		Type:      auth.EventKeyRotated,
		ActorType: auth.ActorSystem,
		Resource:  rec.ID,
		Outcome:   auth.OutcomeSuccess,
	}
	err = m.store.InGlobalTx(ctx, func(tx auth.GlobalTx) error {
		if err := tx.CreateSigningKey(ctx, rec); err != nil {
			return err
		}
		return tx.AppendEvent(ctx, ev)
	})
	if err != nil {
		return nil, fmt.Errorf("token: store signing key: %w", err)
	}
	entries := append(set.entries[:len(set.entries):len(set.entries)],
		&entry{key: k, createdAt: rec.CreatedAt, activatesAt: rec.ActivatesAt})
	m.keys.Store(m.newKeySet(entries))
	m.log.InfoContext(ctx, "signing key created", "kid", k.id, "alg", k.alg, "activates_at", activates)
	return rec, nil
}

// ErrRevokeCurrent is returned by Revoke for the key that signs now.
var ErrRevokeCurrent = auth.Errorf(auth.EConflict, "the key signs new tokens now: add one that signs at once first (authd keys rotate --now)")

// Revoke withdraws the key kid before its time, for a key that leaked: it
// leaves the store, so every replica stops publishing it and refuses the
// tokens it signed at its next reload (ReloadInterval), the verified-token
// cache included. The key that signs now can't be revoked (ErrRevokeCurrent):
// RotateNow first. Returns auth.ErrSigningKeyNotFound for an unknown kid.
func (m *Manager) Revoke(ctx context.Context, kid string) error {
	// The latest keys: the current one may have changed since the last
	// reload (another replica, or RotateNow just before).
	if err := m.reload(ctx); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	set := m.keys.Load()
	if set.byID[kid] == nil {
		return auth.ErrSigningKeyNotFound
	}
	now := m.now()
	if cur := set.current(now); cur != nil && cur.id == kid {
		return ErrRevokeCurrent
	}
	ev := &auth.Event{
		ID:        uuid.Must(uuid.NewV7()).String(),
		At:        now.Truncate(time.Microsecond).UTC(),
		Type:      auth.EventKeyRevoked,
		ActorType: auth.ActorSystem,
		Resource:  kid,
		Outcome:   auth.OutcomeSuccess,
	}
	err := m.store.InGlobalTx(ctx, func(tx auth.GlobalTx) error {
		if err := tx.DeleteSigningKey(ctx, kid); err != nil {
			return err
		}
		return tx.AppendEvent(ctx, ev)
	})
	if err != nil {
		return fmt.Errorf("token: revoke signing key: %w", err)
	}
	rest := make([]*entry, 0, len(set.entries)-1)
	for _, e := range set.entries {
		if e.id != kid {
			rest = append(rest, e)
		}
	}
	m.keys.Store(m.newKeySet(rest))
	m.log.WarnContext(ctx, "signing key revoked", "kid", kid)
	return nil
}

// Run reloads the keys every ReloadInterval and rotates when the current key
// is older than RotationPeriod and no newer key is pending, until ctx is
// done. Failures are logged and retried on the next tick.
func (m *Manager) Run(ctx context.Context) {
	t := time.NewTicker(m.cfg.ReloadInterval)
	defer t.Stop()
	for {
		m.tick(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// tick is one round of Run; tests call it directly with a fake clock.
func (m *Manager) tick(ctx context.Context) {
	if err := m.reload(ctx); err != nil {
		if ctx.Err() == nil {
			m.log.ErrorContext(ctx, "reloading signing keys failed", "err", err)
		}
		return
	}
	if m.cfg.RotationPeriod <= 0 {
		return
	}
	now := m.now()
	set := m.keys.Load()
	cur := set.current(now)
	// Another replica may have rotated already: the reload above shows its
	// pending key, and one pending key is enough.
	if cur == nil || set.pending(now) || now.Sub(cur.createdAt) < m.cfg.RotationPeriod {
		return
	}
	if _, err := m.Rotate(ctx); err != nil {
		m.log.ErrorContext(ctx, "automatic signing key rotation failed", "err", err)
	}
}

// reload replaces the key set with the store's keys. It keeps the current set
// when the store fails or any key does not open (ErrSecretMismatch), so that a
// replica never ends up with fewer keys than it had.
func (m *Manager) reload(ctx context.Context) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	recs, err := m.store.SigningKeys(ctx)
	if err != nil {
		return fmt.Errorf("token: load signing keys: %w", err)
	}
	old := m.keys.Load()
	entries := make([]*entry, 0, len(recs))
	added := 0
	for _, rec := range recs {
		var k *key
		if e := old.byID[rec.ID]; e != nil && e.sameStored(rec) {
			k = e.key
		} else if k, err = openKey(m.sealer, rec); err != nil {
			return fmt.Errorf("token: %w", err)
		} else {
			added++
		}
		entries = append(entries, &entry{key: k, createdAt: rec.CreatedAt, activatesAt: rec.ActivatesAt})
	}
	m.keys.Store(m.newKeySet(entries))
	if added > 0 {
		m.log.InfoContext(ctx, "signing keys loaded", "new", added, "total", len(entries))
	}
	return nil
}
