package token

import (
	"encoding/json"
	"errors"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// registeredClaims are the registered claims every token authd signs
// carries. The payload types implement jwt.Claims themselves rather than
// embedding jwt.RegisteredClaims so that aud is written as a single string
// (the common form, which every JWT library reads) without touching the jwt
// package's global MarshalSingleStringAsArray.
type registeredClaims struct {
	Issuer    string       `json:"iss"`
	Subject   string       `json:"sub"`
	Audience  audience     `json:"aud"`
	ExpiresAt *numericDate `json:"exp"`
	NotBefore *numericDate `json:"nbf"`
	IssuedAt  *numericDate `json:"iat"`
	ID        string       `json:"jti"`
}

func (c *registeredClaims) GetExpirationTime() (*jwt.NumericDate, error) {
	return c.ExpiresAt.std(), nil
}
func (c *registeredClaims) GetIssuedAt() (*jwt.NumericDate, error)  { return c.IssuedAt.std(), nil }
func (c *registeredClaims) GetNotBefore() (*jwt.NumericDate, error) { return c.NotBefore.std(), nil }
func (c *registeredClaims) GetIssuer() (string, error)              { return c.Issuer, nil }
func (c *registeredClaims) GetSubject() (string, error)             { return c.Subject, nil }
func (c *registeredClaims) GetAudience() (jwt.ClaimStrings, error) {
	return jwt.ClaimStrings(c.Audience), nil
}

// accessClaims is the JSON payload of an access token, and what Verify
// decodes either kind of token into.
type accessClaims struct {
	registeredClaims
	SessionID     string   `json:"sid"`
	Roles         []string `json:"roles"`
	EmailVerified bool     `json:"email_verified"`
	ClientID      string   `json:"client_id,omitempty"` // only in service-client tokens
	Scope         string   `json:"scope,omitempty"`     // only in service-client tokens
}

// clientClaims is the payload of a service-client token (client_credentials
// grant): no session, roles or email, but the client and its scopes.
type clientClaims struct {
	registeredClaims
	ClientID string `json:"client_id"`
	Scope    string `json:"scope,omitempty"`
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

// numericDate is a date claim read strictly. jwt.NumericDate decodes through
// json.Number, which also takes a string spelling a number ("exp":"1790000000"):
// another spelling of the same claims that other verifiers may read otherwise
// (RFC 7519 §2 says a NumericDate is a JSON number).
type numericDate struct{ jwt.NumericDate }

func newNumericDate(t time.Time) *numericDate { return &numericDate{*jwt.NewNumericDate(t)} }

func (d *numericDate) UnmarshalJSON(b []byte) error {
	// encoding/json hands over the value without surrounding space, and
	// never calls this for null (a nil pointer is left nil); a JSON number
	// is the only value that starts with '-' or a digit.
	if len(b) == 0 || (b[0] != '-' && (b[0] < '0' || b[0] > '9')) {
		return errDateNotNumber
	}
	return d.NumericDate.UnmarshalJSON(b)
}

// std returns d as the jwt package's validator takes it (nil when absent).
func (d *numericDate) std() *jwt.NumericDate {
	if d == nil {
		return nil
	}
	return &d.NumericDate
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
