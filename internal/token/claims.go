package token

import (
	"encoding/json"
	"errors"

	"github.com/golang-jwt/jwt/v5"
)

// accessClaims is the JSON payload of an access token. It implements
// jwt.Claims itself rather than embedding jwt.RegisteredClaims so that aud is
// written as a single string (the common form, which every JWT library reads)
// without touching the jwt package's global MarshalSingleStringAsArray.
type accessClaims struct {
	Issuer        string           `json:"iss"`
	Subject       string           `json:"sub"`
	Audience      audience         `json:"aud"`
	ExpiresAt     *jwt.NumericDate `json:"exp"`
	NotBefore     *jwt.NumericDate `json:"nbf"`
	IssuedAt      *jwt.NumericDate `json:"iat"`
	ID            string           `json:"jti"`
	SessionID     string           `json:"sid"`
	Roles         []string         `json:"roles"`
	EmailVerified bool             `json:"email_verified"`
	ClientID      string           `json:"client_id,omitempty"` // only in service-client tokens
	Scope         string           `json:"scope,omitempty"`     // only in service-client tokens
}

// clientClaims is the payload of a service-client token (client_credentials
// grant): no session, roles or email, but the client and its scopes.
type clientClaims struct {
	Issuer    string           `json:"iss"`
	Subject   string           `json:"sub"`
	Audience  audience         `json:"aud"`
	ExpiresAt *jwt.NumericDate `json:"exp"`
	NotBefore *jwt.NumericDate `json:"nbf"`
	IssuedAt  *jwt.NumericDate `json:"iat"`
	ID        string           `json:"jti"`
	ClientID  string           `json:"client_id"`
	Scope     string           `json:"scope,omitempty"`
}

func (c *clientClaims) GetExpirationTime() (*jwt.NumericDate, error) { return c.ExpiresAt, nil }
func (c *clientClaims) GetIssuedAt() (*jwt.NumericDate, error)       { return c.IssuedAt, nil }
func (c *clientClaims) GetNotBefore() (*jwt.NumericDate, error)      { return c.NotBefore, nil }
func (c *clientClaims) GetIssuer() (string, error)                   { return c.Issuer, nil }
func (c *clientClaims) GetSubject() (string, error)                  { return c.Subject, nil }
func (c *clientClaims) GetAudience() (jwt.ClaimStrings, error) {
	return jwt.ClaimStrings(c.Audience), nil
}

func (c *accessClaims) GetExpirationTime() (*jwt.NumericDate, error) { return c.ExpiresAt, nil }
func (c *accessClaims) GetIssuedAt() (*jwt.NumericDate, error)       { return c.IssuedAt, nil }
func (c *accessClaims) GetNotBefore() (*jwt.NumericDate, error)      { return c.NotBefore, nil }
func (c *accessClaims) GetIssuer() (string, error)                   { return c.Issuer, nil }
func (c *accessClaims) GetSubject() (string, error)                  { return c.Subject, nil }
func (c *accessClaims) GetAudience() (jwt.ClaimStrings, error) {
	return jwt.ClaimStrings(c.Audience), nil
}

// Validate is called by the jwt parser after the registered claims passed.
// The claims checked here are those authd itself needs to act on a token:
// without a session id (or, for a service client, its client id), revocation
// could not be checked.
func (c *accessClaims) Validate() error {
	switch {
	case c.Subject == "":
		return errors.New("missing sub claim")
	case c.ClientID != "" && (c.Subject != c.ClientID || c.SessionID != ""):
		return errors.New("client token with a sid or a sub other than its client_id")
	case c.ClientID == "" && c.SessionID == "":
		return errors.New("missing sid claim")
	case c.ID == "":
		return errors.New("missing jti claim")
	case c.IssuedAt == nil:
		return errors.New("missing iat claim")
	}
	return nil
}

// audience is the aud claim: read as a string or an array of strings, written
// as a string when it has exactly one value.
type audience []string

func (a audience) MarshalJSON() ([]byte, error) {
	if len(a) == 1 {
		return json.Marshal(a[0])
	}
	return json.Marshal([]string(a))
}

func (a *audience) UnmarshalJSON(data []byte) error {
	return (*jwt.ClaimStrings)(a).UnmarshalJSON(data)
}
