package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
)

// ServiceClient is a registered service client (machine to machine). Its secret is
// shown once at creation; only its SHA-256 hash is stored, which is enough
// for 256 random bits.
type ServiceClient struct {
	ID         string // the client_id: a UUIDv7
	Name       string
	SecretHash []byte // SHA-256 of the secret
	Scopes     []string
	CreatedBy  string // the user id of the admin who created it
	CreatedAt  time.Time
}

// Service clients authenticate with a client id and a secret (RFC 6749
// client_secret_basic or client_secret_post). They get access tokens through
// the client_credentials grant and use introspection and revocation.

const (
	clientSecretPrefix = "cs_"
	maxScopes          = 32
	maxScopeLength     = 128
	clientTTL          = 10 * time.Minute // cache lifetime of a client record

	// clientsGroup is the cache group of every client record (user groups
	// are UUIDs, so the names can't meet). One group rather than one per
	// client id: a group's version is made on its first lookup, and the ids
	// looked up are the caller's choice, so per-id groups would let anyone
	// fill the cache with versions of ids that name nothing. Clients change
	// rarely; reloading all of them after a change is cheap.
	clientsGroup = "clients"
)

// ClientInput is the body of a client creation.
type ClientInput struct {
	Name   string
	Scopes []string
}

// CreateClient registers a service client and returns it with its secret,
// which is shown this once: only its hash is stored. Needs clients:manage.
// Returns EInvalid for a malformed name or scope.
func (s *ServiceClients) CreateClient(ctx context.Context, p *Principal, in ClientInput) (*ServiceClient, string, error) {
	if err := s.require(ctx, p, PermClientsManage); err != nil {
		return nil, "", err
	}
	name, err := NormalizeName(in.Name)
	if err != nil {
		return nil, "", err
	}
	if name == "" {
		return nil, "", Errorf(EInvalid, "name is required")
	}
	scopes, err := checkScopes(in.Scopes)
	if err != nil {
		return nil, "", err
	}
	id, err := uuid.NewV7()
	if err != nil {
		return nil, "", fmt.Errorf("new client id: %w", err)
	}
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return nil, "", fmt.Errorf("new client secret: %w", err)
	}
	secret := clientSecretPrefix + base64.RawURLEncoding.EncodeToString(raw)
	hash := sha256.Sum256([]byte(secret))
	now := s.now()
	c := &ServiceClient{
		ID: id.String(), Name: name, SecretHash: hash[:], Scopes: scopes,
		CreatedBy: p.UserID, CreatedAt: now,
	}
	ev := newEvent(EventClientCreated, now, Origin{}).byPrincipal(p).about("", c.ID)
	if err := s.inGlobal(ctx, ev, func(tx GlobalTx) error { return tx.CreateClient(ctx, c) }); err != nil {
		return nil, "", err
	}
	return c, secret, nil
}

// checkScopes returns scopes sorted without duplicates, or EInvalid for a
// scope that is not an RFC 6749 scope-token.
func checkScopes(scopes []string) ([]string, error) {
	if len(scopes) > maxScopes {
		return nil, Errorf(EInvalid, "at most %d scopes", maxScopes)
	}
	for _, sc := range scopes {
		if !validScope(sc) {
			return nil, Errorf(EInvalid, "scope %q is not a scope token (1 to %d printable ASCII characters, no space, quote or backslash)",
				truncate(sc, maxScopeLength), maxScopeLength)
		}
	}
	return SortedSet(scopes), nil
}

// validScope reports whether sc is a scope-token (RFC 6749 §3.3).
func validScope(sc string) bool {
	if sc == "" || len(sc) > maxScopeLength {
		return false
	}
	for i := 0; i < len(sc); i++ {
		c := sc[i]
		if c < 0x21 || c > 0x7e || c == '"' || c == '\\' {
			return false
		}
	}
	return true
}

// Clients returns every service client. Needs clients:manage.
func (s *ServiceClients) Clients(ctx context.Context, p *Principal) ([]*ServiceClient, error) {
	if err := s.require(ctx, p, PermClientsManage); err != nil {
		return nil, err
	}
	return s.store.ListClients(ctx)
}

var errClientNotFound = Errorf(ENotFound, "client not found")

// DeleteClient deletes a service client: its secret stops working and its
// tokens stop introspecting as active at once. Needs clients:manage.
// Returns ENotFound.
func (s *ServiceClients) DeleteClient(ctx context.Context, p *Principal, id string) error {
	if err := s.require(ctx, p, PermClientsManage); err != nil {
		return err
	}
	if !ValidID(id) {
		return errClientNotFound
	}
	ev := newEvent(EventClientDeleted, s.now(), Origin{}).byPrincipal(p).about("", id)
	if err := s.inGlobal(ctx, ev, func(tx GlobalTx) error { return tx.DeleteClient(ctx, id) }); err != nil {
		return notFoundAs(err, errClientNotFound)
	}
	s.invalidate(ctx, clientsGroup)
	return nil
}

var errInvalidClient = Errorf(EInvalidClient, "Client authentication failed.")

// dummyClientHash is compared against when the client id is unknown, so an
// unknown id and a wrong secret take the same time.
var dummyClientHash = sha256.Sum256([]byte("authd: no such client"))

// AuthenticateClient checks a client id and secret presented from the
// client address from. Returns EInvalidClient for an unknown id and a wrong
// secret alike, and ETooManyAttempts once from's IP has failed too often
// (Limits.ClientIP), before the id is looked up.
func (s *ServiceClients) AuthenticateClient(ctx context.Context, id, secret string, from Origin) (*ServiceClient, error) {
	ip := s.ipKey(from.IP)
	if err := s.peek(ctx, s.limits.ClientIP, ip); err != nil {
		return nil, err
	}
	var c *ServiceClient
	if ValidID(id) {
		var err error
		if c, err = s.client(ctx, id); err != nil {
			return nil, err
		}
	}
	want := dummyClientHash[:]
	if c != nil {
		want = c.SecretHash
	}
	got := sha256.Sum256([]byte(secret))
	if subtle.ConstantTimeCompare(got[:], want) != 1 || c == nil {
		// The failure is counted; past the limit the next attempt is
		// refused by the check above.
		if err := s.take(ctx, s.limits.ClientIP, ip); err != nil && ErrorCode(err) != ETooManyAttempts {
			return nil, err
		}
		return nil, errInvalidClient
	}
	return c, nil
}

// clientEntry is a client record as the cache holds it. Found is false for
// an id that names no client, an entry that is loaded but never cached.
type clientEntry struct {
	Found  bool           `json:"f"`
	Client *ServiceClient `json:"c,omitempty"`
}

// client returns the client with the given id through the cache, or nil if
// there is none. An id that names no client is not cached: ids are the
// caller's choice, and each cached miss would be an entry anyone can make.
// A miss costs one primary-key read, and Limits.ClientIP bounds how many a
// client that fails to authenticate can cause.
func (s *core) client(ctx context.Context, id string) (*ServiceClient, error) {
	e, err := cached(ctx, s, clientsGroup, "c:"+id, func(ctx context.Context) (clientEntry, time.Duration, error) {
		c, err := s.store.Client(ctx, id)
		switch ErrorCode(err) {
		case "":
			return clientEntry{Found: true, Client: c}, clientTTL, nil
		case ENotFound:
			return clientEntry{}, 0, nil
		}
		return clientEntry{}, 0, err
	})
	return e.Client, err
}

// ClientToken issues an access token to an authenticated client
// (client_credentials grant) for the requested space-separated scopes, all
// of the client's scopes when scope is empty. No refresh token: the client
// asks again. Returns EInvalidScope for a scope the client doesn't have.
func (s *ServiceClients) ClientToken(ctx context.Context, c *ServiceClient, scope string) (*TokenPair, string, error) {
	granted := c.Scopes
	if scope = strings.TrimSpace(scope); scope != "" {
		granted = nil
		for sc := range strings.FieldsSeq(scope) {
			if !slices.Contains(c.Scopes, sc) {
				return nil, "", Errorf(EInvalidScope, "The client may not request the scope %q.", truncate(sc, maxScopeLength))
			}
			granted = append(granted, sc)
		}
		granted = SortedSet(granted)
	}
	scope = strings.Join(granted, " ")
	access, claims, err := s.tokens.Issue(ctx, AccessClaims{ClientID: c.ID, Scope: scope})
	if err != nil {
		return nil, "", err
	}
	s.observe.TokenIssued("client")
	return &TokenPair{
		AccessToken: access,
		TokenType:   "Bearer",
		ExpiresIn:   claims.ExpiresAt.Sub(claims.IssuedAt),
	}, scope, nil
}

// Token types of introspection and revocation (RFC 7662, RFC 7009 hints).
const (
	TokenTypeAccess  = "access_token"
	TokenTypeRefresh = "refresh_token"
)

// Introspection is what RFC 7662 reports about a token. Only Active is set
// for a token that is not active.
type Introspection struct {
	Active        bool
	TokenType     string // TokenTypeAccess or TokenTypeRefresh
	Subject       string // the user, or the client of a client token
	ClientID      string // client tokens only
	Scope         string // client tokens only
	SessionID     string // user tokens only
	Roles         []string
	EmailVerified bool
	TokenID       string // jti of an access token
	IssuedAt      time.Time
	ExpiresAt     time.Time
}

// Introspect reports whether token is active right now for the
// authenticated client c: an access token whose signature, lifetime and
// session (or, for a client token, client and revocation state) are good,
// or an unexpired current refresh token of an active session. The roles
// reported are the user's current ones. hint ("access_token",
// "refresh_token" or "") only orders the checks.
func (s *ServiceClients) Introspect(ctx context.Context, c *ServiceClient, token, hint string) (*Introspection, error) {
	if hint == TokenTypeRefresh {
		if in, err := s.introspectRefresh(ctx, token); in != nil || err != nil {
			return in, err
		}
		return s.introspectAccess(ctx, token)
	}
	in, err := s.introspectAccess(ctx, token)
	if err != nil || in.Active {
		return in, err
	}
	if rin, err := s.introspectRefresh(ctx, token); rin != nil || err != nil {
		return rin, err
	}
	return in, nil
}

// inactive is the answer for a token that is not active: nothing but that.
func inactive() *Introspection { return &Introspection{} }

func (s *core) introspectAccess(ctx context.Context, token string) (*Introspection, error) {
	claims, err := s.tokens.Verify(ctx, token)
	if ErrorCode(err) == EUnauthorized {
		return inactive(), nil
	}
	if err != nil {
		return nil, err
	}
	in := &Introspection{
		Active: true, TokenType: TokenTypeAccess, Subject: claims.UserID,
		TokenID: claims.ID, IssuedAt: claims.IssuedAt, ExpiresAt: claims.ExpiresAt,
	}
	if claims.ClientID != "" {
		ok, err := s.clientTokenActive(ctx, claims)
		if err != nil || !ok {
			return inactive(), err
		}
		in.ClientID, in.Scope = claims.ClientID, claims.Scope
		return in, nil
	}
	st, err := s.sessionState(ctx, claims.UserID, claims.SessionID)
	if err != nil {
		return nil, err
	}
	if !st.active(s.now()) {
		return inactive(), nil
	}
	in.SessionID, in.Roles, in.EmailVerified = claims.SessionID, st.User.Roles, st.User.EmailVerified
	return in, nil
}

// clientTokenActive reports whether a verified client token's client still
// exists and the token was not revoked.
func (s *core) clientTokenActive(ctx context.Context, claims *AccessClaims) (bool, error) {
	c, err := s.client(ctx, claims.ClientID)
	if err != nil || c == nil {
		return false, err
	}
	revoked, err := cached(ctx, s, claims.ClientID, "r:"+claims.ID, func(ctx context.Context) (bool, time.Duration, error) {
		revoked, err := s.store.TokenRevoked(ctx, claims.ID)
		return revoked, claims.ExpiresAt.Sub(s.now()), err
	})
	return err == nil && !revoked, err
}

// introspectRefresh returns nil when token is not shaped like a refresh
// token at all.
func (s *core) introspectRefresh(ctx context.Context, token string) (*Introspection, error) {
	userID, hash, err := parseRefreshToken(token)
	if err != nil {
		return nil, nil
	}
	rt, sess, u, err := s.store.RefreshState(ctx, userID, hash)
	if ErrorCode(err) == ENotFound {
		return inactive(), nil
	}
	if err != nil {
		return nil, err
	}
	now := s.now()
	if !s.sessionActive(sess, now) || !now.Before(rt.ExpiresAt) || !rt.RotatedAt.IsZero() || u.Status != StatusActive {
		return inactive(), nil
	}
	return &Introspection{
		Active: true, TokenType: TokenTypeRefresh, Subject: u.ID, SessionID: sess.ID,
		Roles: u.Roles, EmailVerified: u.EmailVerified, IssuedAt: rt.CreatedAt, ExpiresAt: rt.ExpiresAt,
	}, nil
}

// RevokeToken revokes token for the authenticated client c (RFC 7009). A
// user's access or refresh token ends the session it belongs to, with every
// token of it; a client token is revoked by its jti, and only by the client
// it was issued to (EForbidden otherwise). A token that is invalid, expired
// or already revoked is no error: the caller's goal is reached.
func (s *ServiceClients) RevokeToken(ctx context.Context, c *ServiceClient, token, hint string) error {
	if claims, err := s.tokens.Verify(ctx, token); err == nil {
		if claims.ClientID != "" {
			return s.revokeClientToken(ctx, c, claims)
		}
		return s.revokeSessionFor(ctx, c, claims.UserID, claims.SessionID)
	} else if ErrorCode(err) != EUnauthorized {
		return err
	}
	userID, hash, err := parseRefreshToken(token)
	if err != nil {
		return nil
	}
	rt, err := s.store.RefreshToken(ctx, userID, hash)
	if ErrorCode(err) == ENotFound {
		return nil
	}
	if err != nil {
		return err
	}
	return s.revokeSessionFor(ctx, c, userID, rt.SessionID)
}

func (s *core) revokeSessionFor(ctx context.Context, c *ServiceClient, userID, sessionID string) error {
	now := s.now()
	ev := newEvent(EventTokenRevoked, now, Origin{}).about(userID, sessionID)
	ev.ActorType, ev.ActorID = ActorClient, c.ID
	err := s.inUser(ctx, userID, ev, func(tx UserTx) error { return tx.RevokeSession(ctx, sessionID, now) })
	if err != nil && ErrorCode(err) != ENotFound {
		return err
	}
	s.invalidate(ctx, userID)
	return nil
}

func (s *core) revokeClientToken(ctx context.Context, c *ServiceClient, claims *AccessClaims) error {
	if claims.ClientID != c.ID {
		return Errorf(EForbidden, "A client may revoke only its own client tokens.")
	}
	ev := newEvent(EventTokenRevoked, s.now(), Origin{}).about("", claims.ID)
	ev.ActorType, ev.ActorID = ActorClient, c.ID
	err := s.inGlobal(ctx, ev, func(tx GlobalTx) error {
		// Revoking it again is no change, and no event.
		revoked, err := tx.RevokeToken(ctx, claims.ID, claims.ExpiresAt)
		if err == nil && !revoked {
			return errUnchanged
		}
		return err
	})
	if err != nil {
		return err
	}
	s.invalidate(ctx, c.ID)
	return nil
}
