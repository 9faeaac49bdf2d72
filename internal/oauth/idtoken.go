package oauth

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/coreos/go-oidc/v3/oidc"
)

// claims are the claims of an ID token (or UserInfo answer) that make a
// profile, and azp.
type claims struct {
	Email         string   `json:"email"`
	EmailVerified flexBool `json:"email_verified"`
	Name          string   `json:"name"`
	GivenName     string   `json:"given_name"`
	FamilyName    string   `json:"family_name"`
	AZP           string   `json:"azp"`
}

func (c claims) name() string {
	if c.Name != "" {
		return c.Name
	}
	return strings.TrimSpace(c.GivenName + " " + c.FamilyName)
}

// flexBool is email_verified as providers send it: true only for the JSON
// true or the string "true" (in any case); anything else, including a
// value of another type, is false rather than an error.
type flexBool bool

func (b *flexBool) UnmarshalJSON(data []byte) error {
	var v any
	if err := json.Unmarshal(data, &v); err != nil {
		return err
	}
	switch v := v.(type) {
	case bool:
		*b = flexBool(v)
	case string:
		*b = flexBool(strings.EqualFold(v, "true"))
	default:
		*b = false
	}
	return nil
}

// verifyIDToken verifies raw, the ID token of a token response whose
// access token is accessToken, as OpenID Connect Core 3.1.3.7 says, and
// returns it with its claims. go-oidc checks the signature against the
// provider's key set with an algorithm the provider lists (never "none",
// never HMAC), iss, that aud contains the client ID, exp and nbf; this
// adds:
//
//   - sub is not empty;
//   - iat is present and not more than IssuedAtSkew in the future;
//   - nonce is the caller's (compared in constant time);
//   - azp, when present, is the client ID, and is present when aud names
//     more than one audience;
//   - at_hash, when present, matches the access token.
//
// A failure is ErrInvalidToken, but for a key set that cannot be fetched
// (ErrUnavailable) and the end of ctx.
func (o *OIDC) verifyIDToken(ctx context.Context, d *discovered, raw, nonce, accessToken string) (*oidc.IDToken, *claims, error) {
	invalid := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s: "+format, append([]any{ErrInvalidToken, o.cfg.Name}, args...)...)
	}
	var ko keyOutcome
	idt, err := d.verifier.Verify(context.WithValue(ctx, keyOutcomeKey{}, &ko), raw)
	if err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			return nil, nil, fmt.Errorf("oauth: %s: verifying the ID token: %w", o.cfg.Name, ctxErr)
		}
		if ko.fetchErr != nil {
			return nil, nil, fmt.Errorf("%w: %s: the key set cannot be fetched: %w", ErrUnavailable, o.cfg.Name, ko.fetchErr)
		}
		return nil, nil, invalid("%w", err)
	}
	if idt.Subject == "" {
		return nil, nil, invalid("no sub")
	}
	if idt.IssuedAt.IsZero() {
		return nil, nil, invalid("no iat")
	}
	if now := o.now(); idt.IssuedAt.After(now.Add(IssuedAtSkew)) {
		return nil, nil, invalid("iat %v is in the future (now %v)", idt.IssuedAt, now)
	}
	if subtle.ConstantTimeCompare([]byte(idt.Nonce), []byte(nonce)) != 1 {
		return nil, nil, invalid("nonce mismatch")
	}
	var c claims
	if err := idt.Claims(&c); err != nil {
		return nil, nil, invalid("claims: %w", err)
	}
	if c.AZP != "" && c.AZP != o.cfg.ClientID {
		return nil, nil, invalid("azp %q is not the client ID", c.AZP)
	}
	if len(idt.Audience) > 1 && c.AZP == "" {
		return nil, nil, invalid("several audiences %q and no azp", idt.Audience)
	}
	if idt.AccessTokenHash != "" {
		if err := idt.VerifyAccessToken(accessToken); err != nil {
			return nil, nil, invalid("at_hash: %w", err)
		}
	}
	return idt, &c, nil
}

// keySet is the provider's remote key set, which notes in the context of a
// verification that the keys could not be fetched: go-oidc's Verify
// reports that as text only.
type keySet struct {
	remote *oidc.RemoteKeySet
}

type keyOutcomeKey struct{}

// keyOutcome is filled by keySet.VerifySignature, which Verify calls in
// the caller's goroutine.
type keyOutcome struct {
	fetchErr error
}

func (k keySet) VerifySignature(ctx context.Context, jwt string) ([]byte, error) {
	payload, err := k.remote.VerifySignature(ctx, jwt)
	if err != nil && transportError(err) {
		if ko, ok := ctx.Value(keyOutcomeKey{}).(*keyOutcome); ok {
			ko.fetchErr = err
		}
	}
	return payload, err
}
