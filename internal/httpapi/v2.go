package httpapi

import (
	"encoding/base64"
	"errors"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/talentforge/authd/internal/auth"
)

// API v2: the OAuth 2.0 endpoints (RFC 6749 token, RFC 7662 introspection,
// RFC 7009 revocation) and service-client management. v2 errors are RFC
// 9457 problem details, except on the OAuth endpoints, whose RFCs define
// their own error body.

type clientRequest struct {
	Name   string   `json:"name" jsonschema:"required"`
	Scopes []string `json:"scopes,omitempty" doc:"RFC 6749 scope tokens the client may request."`
}

type clientJSON struct {
	ClientID  string    `json:"client_id"`
	Name      string    `json:"name"`
	Scopes    []string  `json:"scopes"`
	CreatedBy string    `json:"created_by"`
	CreatedAt time.Time `json:"created_at"`
}

type createdClientJSON struct {
	clientJSON
	ClientSecret string `json:"client_secret" doc:"Shown only in this response; store it now."`
}

type clientsJSON struct {
	Clients []clientJSON `json:"clients"`
}

func toClientJSON(c *auth.ServiceClient) clientJSON {
	scopes := c.Scopes
	if scopes == nil {
		scopes = []string{}
	}
	return clientJSON{ClientID: c.ID, Name: c.Name, Scopes: scopes, CreatedBy: c.CreatedBy, CreatedAt: c.CreatedAt}
}

func (s *server) createClient(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	var in clientRequest
	if err := decode(w, r, &in, false); err != nil {
		return err
	}
	c, secret, err := s.clients.CreateClient(r.Context(), p, auth.ClientInput{Name: in.Name, Scopes: in.Scopes})
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusCreated, createdClientJSON{clientJSON: toClientJSON(c), ClientSecret: secret})
	return nil
}

func (s *server) listClients(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	list, err := s.clients.Clients(r.Context(), p)
	if err != nil {
		return err
	}
	out := clientsJSON{Clients: make([]clientJSON, 0, len(list))}
	for _, c := range list {
		out.Clients = append(out.Clients, toClientJSON(c))
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *server) deleteClient(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	if err := s.clients.DeleteClient(r.Context(), p, r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// tokenRequest holds the parameters of every OAuth endpoint; each reads the
// ones it needs. Form-encoded and JSON bodies give the same values.
type tokenRequest struct {
	GrantType    string `json:"grant_type" form:"grant_type" jsonschema:"required" doc:"authorization_code, password, refresh_token or client_credentials"`
	Code         string `json:"code,omitempty" form:"code" doc:"authorization_code grant: the one-time code a social sign-in's callback sent to redirect_to"`
	CodeVerifier string `json:"code_verifier,omitempty" form:"code_verifier" doc:"authorization_code grant: the PKCE verifier of the code_challenge given at the sign-in's start (absent when it had none)"`
	Username     string `json:"username,omitempty" form:"username" doc:"password grant: the email address"`
	Password     string `json:"password,omitempty" form:"password" doc:"password grant"`
	RefreshToken string `json:"refresh_token,omitempty" form:"refresh_token" doc:"refresh_token grant"`
	Scope        string `json:"scope,omitempty" form:"scope" doc:"client_credentials grant: space-separated scopes (default: all of the client's)"`
	ClientID     string `json:"client_id,omitempty" form:"client_id" doc:"client_secret_post (or identifying a public client)"`
	ClientSecret string `json:"client_secret,omitempty" form:"client_secret" doc:"client_secret_post"`
	DeviceToken  string `json:"device_token,omitempty" form:"device_token" doc:"password grant: the device_token of an earlier sign-in to this account (browsers send the cookie instead)"`
}

type introspectRequest struct {
	Token         string `json:"token" form:"token" jsonschema:"required"`
	TokenTypeHint string `json:"token_type_hint,omitempty" form:"token_type_hint" doc:"access_token or refresh_token"`
	ClientID      string `json:"client_id,omitempty" form:"client_id" doc:"client_secret_post"`
	ClientSecret  string `json:"client_secret,omitempty" form:"client_secret" doc:"client_secret_post"`
}

type revokeRequest = introspectRequest

type oauthTokenJSON struct {
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int64  `json:"expires_in"`
	RefreshToken string `json:"refresh_token,omitempty"`
	Scope        string `json:"scope,omitempty"`
	DeviceToken  string `json:"device_token,omitempty" doc:"password grant: the remembered-device token (also set as a cookie); send it back with the next password grant to keep this device from being locked out by other people's failed logins"`
}

type introspectionJSON struct {
	Active        bool     `json:"active"`
	Scope         string   `json:"scope,omitempty"`
	ClientID      string   `json:"client_id,omitempty"`
	TokenType     string   `json:"token_type,omitempty" doc:"Bearer for access tokens, refresh_token for refresh tokens"`
	Exp           int64    `json:"exp,omitempty"`
	Iat           int64    `json:"iat,omitempty"`
	Sub           string   `json:"sub,omitempty"`
	Iss           string   `json:"iss,omitempty"`
	Jti           string   `json:"jti,omitempty"`
	SessionID     string   `json:"sid,omitempty"`
	Roles         []string `json:"roles,omitempty" doc:"The user's current roles"`
	EmailVerified *bool    `json:"email_verified,omitempty"`
}

// oauthParams reads an OAuth endpoint's parameters from a form-encoded (RFC
// 6749) or JSON body into dst, a struct with `form` tags. A parameter given
// twice is invalid_request (RFC 6749 §3.2); empty ones count as omitted.
func oauthParams(w http.ResponseWriter, r *http.Request, dst any) error {
	mt, _, mtErr := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if mt == "application/json" {
		return decode(w, r, dst, false)
	}
	if mt != "application/x-www-form-urlencoded" {
		return auth.Errorf(codeUnsupportedMediaType, "Content-Type must be application/x-www-form-urlencoded or application/json")
	}
	if mtErr != nil {
		return auth.Errorf(auth.EInvalid, "Content-Type has malformed parameters")
	}
	// The body only: r.ParseForm would parse the URL's query too, and refuse
	// a sound body for a malformed query whose values are never used.
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBodyBytes))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return auth.Errorf(codePayloadTooLarge, "request body is larger than %d bytes", maxBodyBytes)
		}
		return auth.Errorf(auth.EInvalid, "request body could not be read")
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return auth.Errorf(auth.EInvalid, "request body is not a valid form")
	}
	return setFormFields(dst, form)
}

// clientCredentials returns the client id and secret a request presents,
// from HTTP Basic (client_secret_basic, RFC 6749 §2.3.1: both form-encoded
// before base64) or from the body (client_secret_post); ok is false when it
// presents none. Presenting both is invalid_request.
func clientCredentials(r *http.Request, bodyID, bodySecret string) (id, secret string, ok bool, err error) {
	h := r.Header.Get("Authorization")
	if h == "" {
		if bodyID == "" && bodySecret == "" {
			return "", "", false, nil
		}
		return bodyID, bodySecret, true, nil
	}
	if bodySecret != "" {
		return "", "", false, auth.Errorf(auth.EInvalid, "Use one client authentication method, not two.")
	}
	scheme, rest, _ := strings.Cut(h, " ")
	if !strings.EqualFold(scheme, "Basic") {
		return "", "", false, auth.Errorf(auth.EInvalidClient, "Client authentication must use HTTP Basic.")
	}
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(rest))
	if err != nil {
		return "", "", false, auth.Errorf(auth.EInvalidClient, "Malformed Basic credentials.")
	}
	user, pass, found := strings.Cut(string(raw), ":")
	if !found {
		return "", "", false, auth.Errorf(auth.EInvalidClient, "Malformed Basic credentials.")
	}
	if id, err = url.QueryUnescape(user); err == nil {
		secret, err = url.QueryUnescape(pass)
	}
	if err != nil {
		return "", "", false, auth.Errorf(auth.EInvalidClient, "Malformed Basic credentials.")
	}
	if bodyID != "" && bodyID != id {
		return "", "", false, auth.Errorf(auth.EInvalid, "client_id differs from the authenticated client.")
	}
	return id, secret, true, nil
}

// authenticateClient authenticates the service client a request presents;
// a request that presents none is invalid_client.
func (s *server) authenticateClient(r *http.Request, bodyID, bodySecret string) (*auth.ServiceClient, error) {
	id, secret, ok, err := clientCredentials(r, bodyID, bodySecret)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, auth.Errorf(auth.EInvalidClient, "Client authentication is required.")
	}
	return s.clients.AuthenticateClient(r.Context(), id, secret, s.origin(r))
}

// grantTypes are the grants the token endpoint serves; the discovery
// document lists exactly these.
var grantTypes = []string{"authorization_code", "password", "refresh_token", "client_credentials"}

// noStore marks a response that carries or describes credentials (RFC 6749
// §5.1).
func noStore(w http.ResponseWriter) {
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Pragma", "no-cache")
}

func (s *server) token(w http.ResponseWriter, r *http.Request) error {
	noStore(w)
	var in tokenRequest
	if err := oauthParams(w, r, &in); err != nil {
		return err
	}
	// A client that authenticates must do so correctly, whatever the grant.
	id, secret, presented, err := clientCredentials(r, in.ClientID, in.ClientSecret)
	if err != nil {
		return err
	}
	var c *auth.ServiceClient
	if presented && (secret != "" || in.GrantType == "client_credentials") {
		if c, err = s.clients.AuthenticateClient(r.Context(), id, secret, s.origin(r)); err != nil {
			return err
		}
	}
	var (
		pair  *auth.TokenPair
		scope string
	)
	switch in.GrantType {
	case "authorization_code":
		// A social sign-in's one-time code (see social.go): the same
		// trade as POST /api/v1/oauth/exchange.
		if in.Code == "" {
			return auth.Errorf(auth.EInvalid, "code is required")
		}
		var u *auth.User
		u, pair, err = s.accounts.ExchangeSocialCode(r.Context(), in.Code, in.CodeVerifier, s.origin(r))
		if err == nil {
			setUserID(r.Context(), u.ID)
		}
	case "password":
		if in.Username == "" || in.Password == "" {
			return auth.Errorf(auth.EInvalid, "username and password are required")
		}
		var u *auth.User
		u, pair, err = s.accounts.Login(r.Context(), auth.LoginInput{
			Email: in.Username, Password: in.Password, DeviceToken: s.deviceToken(r, in.DeviceToken), Origin: s.origin(r),
		})
		if err == nil {
			setUserID(r.Context(), u.ID)
			s.setDeviceCookie(w, pair)
		}
	case "refresh_token":
		if in.RefreshToken == "" {
			return auth.Errorf(auth.EInvalid, "refresh_token is required")
		}
		pair, err = s.accounts.Refresh(r.Context(), in.RefreshToken, s.origin(r))
	case "client_credentials":
		if c == nil {
			return auth.Errorf(auth.EInvalidClient, "Client authentication is required.")
		}
		pair, scope, err = s.clients.ClientToken(r.Context(), c, in.Scope)
	case "":
		return auth.Errorf(auth.EInvalid, "grant_type is required")
	default:
		return auth.Errorf(codeUnsupportedGrantType, "grant_type must be one of %s", strings.Join(grantTypes, ", "))
	}
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, oauthTokenJSON{
		AccessToken:  pair.AccessToken,
		TokenType:    pair.TokenType,
		ExpiresIn:    int64(pair.ExpiresIn / time.Second),
		RefreshToken: pair.RefreshToken,
		Scope:        scope,
		DeviceToken:  pair.DeviceToken,
	})
	return nil
}

// clientTokenRequest reads an introspection or revocation request and
// authenticates its client.
func (s *server) clientTokenRequest(w http.ResponseWriter, r *http.Request) (*auth.ServiceClient, *introspectRequest, error) {
	noStore(w)
	var in introspectRequest
	if err := oauthParams(w, r, &in); err != nil {
		return nil, nil, err
	}
	c, err := s.authenticateClient(r, in.ClientID, in.ClientSecret)
	if err != nil {
		return nil, nil, err
	}
	if in.Token == "" {
		return nil, nil, auth.Errorf(auth.EInvalid, "token is required")
	}
	return c, &in, nil
}

func (s *server) introspect(w http.ResponseWriter, r *http.Request) error {
	c, in, err := s.clientTokenRequest(w, r)
	if err != nil {
		return err
	}
	res, err := s.clients.Introspect(r.Context(), c, in.Token, in.TokenTypeHint)
	if err != nil {
		return err
	}
	out := introspectionJSON{Active: res.Active}
	if res.Active {
		verified := res.EmailVerified
		out = introspectionJSON{
			Active: true, Scope: res.Scope, ClientID: res.ClientID,
			Exp: res.ExpiresAt.Unix(), Iat: res.IssuedAt.Unix(), Sub: res.Subject, Iss: s.issuer,
			Jti: res.TokenID, SessionID: res.SessionID, Roles: res.Roles,
		}
		if res.TokenType == auth.TokenTypeAccess {
			out.TokenType = "Bearer"
		} else {
			out.TokenType = auth.TokenTypeRefresh
		}
		if res.ClientID == "" {
			out.EmailVerified = &verified
			if out.Roles == nil {
				out.Roles = []string{}
			}
		}
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *server) revoke(w http.ResponseWriter, r *http.Request) error {
	c, in, err := s.clientTokenRequest(w, r)
	if err != nil {
		return err
	}
	if err := s.clients.RevokeToken(r.Context(), c, in.Token, in.TokenTypeHint); err != nil {
		return err
	}
	w.WriteHeader(http.StatusOK)
	return nil
}
