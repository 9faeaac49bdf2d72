package httpapi

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/talentforge/authd/internal/auth"
)

// Wire types of API v1. Times are RFC 3339 in UTC; absent times are null.

type userJSON struct {
	ID            string     `json:"id"`
	Email         string     `json:"email"`
	EmailVerified bool       `json:"email_verified"`
	Name          string     `json:"name"`
	Status        string     `json:"status"`
	Roles         []string   `json:"roles"`
	HasPassword   bool       `json:"has_password"`
	CreatedAt     time.Time  `json:"created_at"`
	UpdatedAt     time.Time  `json:"updated_at"`
	LastLoginAt   *time.Time `json:"last_login_at"`
}

func toUserJSON(u *auth.User) userJSON {
	roles := u.Roles
	if roles == nil {
		roles = []string{}
	}
	return userJSON{
		ID:            u.ID,
		Email:         u.Email,
		EmailVerified: u.EmailVerified,
		Name:          u.Name,
		Status:        string(u.Status),
		Roles:         roles,
		HasPassword:   u.HasPassword,
		CreatedAt:     u.CreatedAt,
		UpdatedAt:     u.UpdatedAt,
		LastLoginAt:   optionalTime(u.LastLoginAt),
	}
}

func optionalTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

type tokensJSON struct {
	User         *userJSON `json:"user,omitempty"`
	AccessToken  string    `json:"access_token"`
	RefreshToken string    `json:"refresh_token,omitempty" doc:"Absent in cookie mode (the token is in the refresh cookie)."`
	TokenType    string    `json:"token_type"`
	ExpiresIn    int64     `json:"expires_in"`
	SessionID    string    `json:"session_id"`
	DeviceToken  string    `json:"device_token,omitempty" doc:"Login only: the remembered-device token (also set as a cookie). Send it back as device_token when signing in again: for 90 days it keeps this device from being locked out by other people's failed logins. It grants no access by itself."`
}

func toTokensJSON(u *auth.User, p *auth.TokenPair) tokensJSON {
	t := tokensJSON{
		AccessToken:  p.AccessToken,
		RefreshToken: p.RefreshToken,
		TokenType:    p.TokenType,
		ExpiresIn:    int64(p.ExpiresIn / time.Second),
		SessionID:    p.SessionID,
		DeviceToken:  p.DeviceToken,
	}
	if u != nil {
		uj := toUserJSON(u)
		t.User = &uj
	}
	return t
}

type sessionJSON struct {
	ID         string    `json:"id"`
	CreatedAt  time.Time `json:"created_at"`
	LastSeenAt time.Time `json:"last_seen_at"`
	ExpiresAt  time.Time `json:"expires_at"`
	IP         string    `json:"ip"`
	UserAgent  string    `json:"user_agent"`
	Current    bool      `json:"current"`
}

func (s *server) register(w http.ResponseWriter, r *http.Request) error {
	cookie, err := s.cookieMode(r)
	if err != nil {
		return err
	}
	var in registerRequest
	if err := decode(w, r, &in, false); err != nil {
		return err
	}
	if in.Password == "" {
		return auth.Errorf(auth.EInvalid, "password is required")
	}
	u, pair, err := s.accounts.Register(r.Context(), auth.RegisterInput{
		Email: in.Email, Password: in.Password, Name: in.Name, Origin: s.origin(r),
	})
	if err != nil {
		return err
	}
	setUserID(r.Context(), u.ID)
	s.writeTokens(w, http.StatusCreated, cookie, u, pair)
	return nil
}

func (s *server) login(w http.ResponseWriter, r *http.Request) error {
	cookie, err := s.cookieMode(r)
	if err != nil {
		return err
	}
	var in loginRequest
	if err := decode(w, r, &in, false); err != nil {
		return err
	}
	u, pair, err := s.accounts.Login(r.Context(), auth.LoginInput{
		Email: in.Email, Password: in.Password, DeviceToken: s.deviceToken(r, in.DeviceToken), Origin: s.origin(r),
	})
	if err != nil {
		return err
	}
	setUserID(r.Context(), u.ID)
	s.setDeviceCookie(w, pair)
	s.writeTokens(w, http.StatusOK, cookie, u, pair)
	return nil
}

func (s *server) refresh(w http.ResponseWriter, r *http.Request) error {
	cookie, err := s.cookieMode(r)
	if err != nil {
		return err
	}
	fromCookie, err := s.refreshFromCookie(r, cookie)
	if err != nil {
		return err
	}
	var in refreshRequest
	if err := decode(w, r, &in, cookie); err != nil {
		return err
	}
	token := in.RefreshToken
	switch {
	case cookie && token != "":
		return auth.Errorf(auth.EInvalid, "In cookie mode the refresh token comes from the cookie: leave refresh_token out.")
	case cookie:
		token = fromCookie
	case token == "":
		return auth.Errorf(auth.EInvalid, "refresh_token is required")
	}
	pair, err := s.accounts.Refresh(r.Context(), token, s.origin(r))
	if err != nil {
		if cookie && auth.ErrorCode(err) == auth.EInvalidRefreshToken {
			s.setRefreshCookie(w, "") // the session is over: forget it
		}
		return err
	}
	s.writeTokens(w, http.StatusOK, cookie, nil, pair)
	return nil
}

func (s *server) logout(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	cookie, err := s.cookieMode(r)
	if err != nil {
		return err
	}
	var in logoutRequest
	if err := decode(w, r, &in, true); err != nil {
		return err
	}
	if err := s.accounts.Logout(r.Context(), p, in.RefreshToken); err != nil {
		return err
	}
	if cookie {
		s.setRefreshCookie(w, "")
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *server) logoutAll(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	cookie, err := s.cookieMode(r)
	if err != nil {
		return err
	}
	if err := s.accounts.LogoutAll(r.Context(), p); err != nil {
		return err
	}
	if cookie {
		s.setRefreshCookie(w, "")
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *server) logoutOthers(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	if err := s.accounts.LogoutOthers(r.Context(), p); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *server) listSessions(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	q, err := sessionQuery(r)
	if err != nil {
		return err
	}
	list, next, err := s.accounts.Sessions(r.Context(), p, q)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, toSessionsJSON(list, p.SessionID, next))
	return nil
}

func (s *server) revokeSession(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	if err := s.accounts.RevokeSession(r.Context(), p, r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *server) changePassword(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	var in changePasswordRequest
	if err := decode(w, r, &in, false); err != nil {
		return err
	}
	if in.NewPassword == "" {
		return auth.Errorf(auth.EInvalid, "new_password is required")
	}
	if err := s.accounts.ChangePassword(r.Context(), p, in.CurrentPassword, in.NewPassword); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// verify is the forward-auth endpoint for gateways (Traefik forwardAuth,
// nginx auth_request): 200 with identity headers, or 401.
func (s *server) verify(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	h := w.Header()
	h.Set("X-Auth-User-Id", p.UserID)
	h.Set("X-Auth-Session-Id", p.SessionID)
	h.Set("X-Auth-Roles", strings.Join(p.Roles, ","))
	if p.EmailVerified {
		h.Set("X-Auth-Email-Verified", "true")
	} else {
		h.Set("X-Auth-Email-Verified", "false")
	}
	roles := p.Roles
	if roles == nil {
		roles = []string{}
	}
	writeJSON(w, http.StatusOK, verifyJSON{
		UserID: p.UserID, SessionID: p.SessionID, Roles: roles, EmailVerified: p.EmailVerified,
	})
	return nil
}

func (s *server) me(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	u, err := s.accounts.Me(r.Context(), p)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, toUserJSON(u))
	return nil
}

// updateMe edits the profile. A new email is not applied but mailed a link
// (auth.ChangeEmail), answered 202 with the profile as it stands; it is
// checked first, so a refused email change (wrong password, taken address)
// changes no other field either.
func (s *server) updateMe(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	var in updateMeRequest
	if err := decode(w, r, &in, false); err != nil {
		return err
	}
	status := http.StatusOK
	if in.Email != nil {
		mailed, err := s.accounts.ChangeEmail(r.Context(), p, *in.Email, in.CurrentPassword)
		if err != nil {
			return err
		}
		if mailed {
			status = http.StatusAccepted
		}
	}
	u, err := s.accounts.UpdateMe(r.Context(), p, auth.ProfilePatch{Name: in.Name})
	if err != nil {
		return err
	}
	writeJSON(w, status, toUserJSON(u))
	return nil
}

// mailAccepted is the one answer of the endpoints that may send mail.
var mailAccepted = acceptedJSON{Message: "If the address belongs to an account that can use it, a link is on its way."}

func (s *server) forgotPassword(w http.ResponseWriter, r *http.Request) error {
	var in forgotPasswordRequest
	if err := decode(w, r, &in, false); err != nil {
		return err
	}
	if err := s.accounts.ForgotPassword(r.Context(), in.Email, s.origin(r)); err != nil {
		return err
	}
	writeJSON(w, http.StatusAccepted, mailAccepted)
	return nil
}

func (s *server) resetPassword(w http.ResponseWriter, r *http.Request) error {
	var in resetPasswordRequest
	if err := decode(w, r, &in, false); err != nil {
		return err
	}
	if in.NewPassword == "" {
		return auth.Errorf(auth.EInvalid, "new_password is required")
	}
	if err := s.accounts.ResetPassword(r.Context(), in.Token, in.NewPassword, s.origin(r)); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *server) verifyEmail(w http.ResponseWriter, r *http.Request) error {
	var in verifyEmailRequest
	if err := decode(w, r, &in, false); err != nil {
		return err
	}
	if err := s.accounts.VerifyEmail(r.Context(), in.Token, s.origin(r)); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *server) resendVerification(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	if err := s.accounts.ResendVerification(r.Context(), p); err != nil {
		return err
	}
	writeJSON(w, http.StatusAccepted, mailAccepted)
	return nil
}

func (s *server) deleteMe(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	cookie, err := s.cookieMode(r)
	if err != nil {
		return err
	}
	var in deleteMeRequest
	if err := decode(w, r, &in, true); err != nil {
		return err
	}
	if err := s.accounts.DeleteMe(r.Context(), p, in.Password); err != nil {
		return err
	}
	if cookie {
		s.setRefreshCookie(w, "")
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *server) jwks(w http.ResponseWriter, r *http.Request) error {
	w.Header().Set("Content-Type", "application/jwk-set+json")
	w.Header().Set("Cache-Control", cacheFor(s.keys.JWKSMaxAge()))
	w.Write(s.keys.JWKS())
	return nil
}

func (s *server) openIDConfiguration(w http.ResponseWriter, r *http.Request) error {
	w.Header().Set("Cache-Control", cacheFor(s.keys.JWKSMaxAge()))
	writeJSON(w, http.StatusOK, discoveryJSON{
		Issuer:                            s.issuer,
		JWKSURI:                           s.issuer + "/.well-known/jwks.json",
		TokenEndpoint:                     s.issuer + "/api/v2/oauth/token",
		IntrospectionEndpoint:             s.issuer + "/api/v2/oauth/introspect",
		RevocationEndpoint:                s.issuer + "/api/v2/oauth/revoke",
		GrantTypesSupported:               grantTypes,
		TokenEndpointAuthMethodsSupported: []string{"client_secret_basic", "client_secret_post"},
		SubjectTypesSupported:             []string{"public"},
		IDTokenSigningAlgValuesSupported:  s.keys.Algorithms(),
		ClaimsSupported:                   []string{"iss", "sub", "aud", "exp", "iat", "nbf", "jti", "sid", "roles", "email_verified", "client_id", "scope"},
	})
	return nil
}

func cacheFor(d time.Duration) string {
	return "public, max-age=" + strconv.FormatInt(int64(d/time.Second), 10)
}

func (s *server) healthz(w http.ResponseWriter, r *http.Request) error {
	writeJSON(w, http.StatusOK, healthJSON{Status: "ok"})
	return nil
}

// readyz reports each dependency. Only an unreachable database makes the
// replica unready: a Redis outage degrades service ("redis": "degraded") but
// must not take every replica out of the load balancer at once. Once
// shutdown has begun it answers 503 "shutting_down" whatever the checks say.
func (s *server) readyz(w http.ResponseWriter, r *http.Request) error {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	status, db := http.StatusOK, "ok"
	if err := s.db.Ping(ctx); err != nil {
		s.log.WarnContext(ctx, "readiness: database unreachable", "err", err)
		status, db = http.StatusServiceUnavailable, "unreachable"
	}
	overall := "ok"
	if status != http.StatusOK {
		overall = "unavailable"
	}
	if s.shuttingDown != nil && s.shuttingDown() {
		status, overall = http.StatusServiceUnavailable, "shutting_down"
	}
	var version int64
	if s.schemaVersion != nil && db == "ok" {
		v, err := s.schemaVersion(ctx)
		if err != nil {
			s.log.WarnContext(ctx, "readiness: schema version unreadable", "err", err)
		} else {
			version = v
		}
	}
	writeJSON(w, status, readyJSON{
		Status:        overall,
		SchemaVersion: version,
		Checks:        readyChecksJSON{Database: db, Redis: s.redisState()},
	})
	return nil
}

func (s *server) serveMetrics(w http.ResponseWriter, r *http.Request) error {
	if s.metrics == nil {
		return auth.Errorf(auth.ENotFound, "no such endpoint")
	}
	s.metrics.ServeHTTP(w, r)
	return nil
}
