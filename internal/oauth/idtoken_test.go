package oauth_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/talentforge/authd/internal/oauth"
)

// sentinels are the error classes; an error wraps at most one.
var sentinels = []error{oauth.ErrUnavailable, oauth.ErrDenied, oauth.ErrInvalidToken, oauth.ErrNoEmail}

// checkClass fails unless err is of class want (nil: a provider error,
// of no class) and of no other.
func checkClass(t *testing.T, err, want error) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want %v", className(want))
	}
	for _, s := range sentinels {
		if errors.Is(err, s) != (s == want) {
			t.Fatalf("error %q: errors.Is(%v) = %v, want class %v", err, s, errors.Is(err, s), className(want))
		}
	}
}

func className(err error) string {
	if err == nil {
		return "provider error (no class)"
	}
	return err.Error()
}

func anotherKey(t *testing.T) *rsa.PrivateKey {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func atHash(accessToken string) string {
	sum := sha256.Sum256([]byte(accessToken))
	return base64.RawURLEncoding.EncodeToString(sum[:16])
}

// TestIDTokenChecks gives Exchange, through the emulated provider's token
// endpoint, ID tokens a real provider would not sign: each must fail with
// ErrInvalidToken; the good ones, which prove the harness, pass.
func TestIDTokenChecks(t *testing.T) {
	op := newFakeOP(t)
	p := op.provider()
	now := op.clock.Now()
	const nonce = "n-0S6_WzA2Mj"
	other := anotherKey(t)
	pubDER, err := x509.MarshalPKIXPublicKey(&op.key.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	pubPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER})

	type edit func(c map[string]any)
	signed := func(edits ...edit) func() string {
		return func() string {
			c := op.claims(nonce)
			for _, e := range edits {
				e(c)
			}
			return op.sign(c)
		}
	}
	set := func(k string, v any) edit { return func(c map[string]any) { c[k] = v } }
	del := func(k string) edit { return func(c map[string]any) { delete(c, k) } }

	for _, tc := range []struct {
		name string
		mint func() string
		want error // nil: passes
	}{
		{"good", signed(), nil},
		{"good, at_hash of the access token", signed(set("at_hash", atHash(fakeAccessToken))), nil},
		{"good, several audiences with azp the client", signed(set("aud", []string{fakeClientID, "other"}), set("azp", fakeClientID)), nil},
		{"good, iat within the skew", signed(set("iat", now.Add(oauth.IssuedAtSkew-time.Second).Unix())), nil},
		{"another nonce", signed(set("nonce", "n-attacker")), oauth.ErrInvalidToken},
		{"no nonce", signed(del("nonce")), oauth.ErrInvalidToken},
		{"another audience", signed(set("aud", "another-client")), oauth.ErrInvalidToken},
		{"another issuer", signed(set("iss", "https://evil.example")), oauth.ErrInvalidToken},
		{"expired", signed(set("exp", now.Add(-time.Second).Unix())), oauth.ErrInvalidToken},
		{"iat far in the future", signed(set("iat", now.Add(time.Hour).Unix())), oauth.ErrInvalidToken},
		{"no iat", signed(del("iat")), oauth.ErrInvalidToken},
		{"nbf in the future", signed(set("nbf", now.Add(time.Hour).Unix())), oauth.ErrInvalidToken},
		{"no sub", signed(del("sub")), oauth.ErrInvalidToken},
		{"empty sub", signed(set("sub", "")), oauth.ErrInvalidToken},
		{"azp another client", signed(set("azp", "another-client")), oauth.ErrInvalidToken},
		{"several audiences without azp", signed(set("aud", []string{fakeClientID, "other"})), oauth.ErrInvalidToken},
		{"several audiences, azp another", signed(set("aud", []string{fakeClientID, "other"}), set("azp", "other")), oauth.ErrInvalidToken},
		{"at_hash of another access token", signed(set("at_hash", atHash("another"))), oauth.ErrInvalidToken},
		{"alg none", func() string { return unsignedJWT(t, op.claims(nonce)) }, oauth.ErrInvalidToken},
		{"signed by another key with the provider's kid", func() string {
			return signJWT(t, jose.RS256, jose.JSONWebKey{Key: other, KeyID: op.kid}, op.claims(nonce))
		}, oauth.ErrInvalidToken},
		{"signed by another key with an unknown kid", func() string {
			return signJWT(t, jose.RS256, jose.JSONWebKey{Key: other, KeyID: "k2"}, op.claims(nonce))
		}, oauth.ErrInvalidToken},
		{"HS256 with the provider's public key as the secret", func() string {
			return signJWT(t, jose.HS256, pubPEM, op.claims(nonce))
		}, oauth.ErrInvalidToken},
		{"not a JWT", func() string { return "not.a.jwt" }, oauth.ErrInvalidToken},
		{"no email and no UserInfo", signed(del("email")), oauth.ErrNoEmail},
	} {
		t.Run(tc.name, func(t *testing.T) {
			op.set(func(op *fakeOP) { op.mint = tc.mint })
			prof, err := p.Exchange(context.Background(), "code-1", oauth.GenerateVerifier(), nonce)
			if tc.want == nil {
				if err != nil {
					t.Fatal(err)
				}
				want := oauth.Profile{Provider: "fake", Subject: fakeSubject, Email: "ada@example.com", EmailVerified: true, Name: "Ada Lovelace"}
				if *prof != want {
					t.Fatalf("profile %+v, want %+v", *prof, want)
				}
				return
			}
			if prof != nil {
				t.Errorf("a profile with an error: %+v", prof)
			}
			t.Log(err)
			checkClass(t, err, tc.want)
		})
	}
}

func TestIDTokenEmailVerified(t *testing.T) {
	op := newFakeOP(t)
	p := op.provider()
	const nonce = "n-1"
	for _, tc := range []struct {
		name  string
		value any // nil: no claim
		want  bool
	}{
		{"true", true, true},
		{"false", false, false},
		{`"true"`, "true", true},
		{`"True"`, "True", true},
		{`"false"`, "false", false},
		{"absent", nil, false},
		{"a number", 1, false},
		{`"yes"`, "yes", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			op.set(func(op *fakeOP) {
				op.mint = func() string {
					c := op.claims(nonce)
					delete(c, "email_verified")
					if tc.value != nil {
						c["email_verified"] = tc.value
					}
					return op.sign(c)
				}
			})
			prof, err := p.Exchange(context.Background(), "code-1", oauth.GenerateVerifier(), nonce)
			if err != nil {
				t.Fatal(err)
			}
			if prof.EmailVerified != tc.want {
				t.Errorf("EmailVerified = %v, want %v", prof.EmailVerified, tc.want)
			}
		})
	}
}

func TestIDTokenNameFromGivenAndFamilyNames(t *testing.T) {
	op := newFakeOP(t)
	p := op.provider()
	op.set(func(op *fakeOP) {
		op.mint = func() string {
			c := op.claims("n")
			delete(c, "name")
			c["given_name"], c["family_name"] = "Ada", "King"
			return op.sign(c)
		}
	})
	prof, err := p.Exchange(context.Background(), "code-1", oauth.GenerateVerifier(), "n")
	if err != nil {
		t.Fatal(err)
	}
	if prof.Name != "Ada King" {
		t.Errorf("Name = %q, want %q", prof.Name, "Ada King")
	}
}

// A key set that cannot be fetched is the provider being unavailable, not
// a token that fails to verify; once it can, the same token passes.
func TestIDTokenKeySetUnavailable(t *testing.T) {
	op := newFakeOP(t)
	p := op.provider() // discovery does not fetch the keys
	op.set(func(op *fakeOP) {
		op.jwksStatus = 503
		op.mint = func() string { return op.sign(op.claims("n")) }
	})
	_, err := p.Exchange(context.Background(), "code-1", oauth.GenerateVerifier(), "n")
	checkClass(t, err, oauth.ErrUnavailable)

	op.set(func(op *fakeOP) { op.jwksStatus = 0 })
	if _, err := p.Exchange(context.Background(), "code-1", oauth.GenerateVerifier(), "n"); err != nil {
		t.Fatal(err)
	}
}

// The keys are fetched once, and again for a kid the provider did not
// have (a rotation); a token signed by an unknown key does not make the
// keys be fetched more than once per attempt.
func TestIDTokenKeyRotation(t *testing.T) {
	op := newFakeOP(t)
	p := op.provider()
	op.set(func(op *fakeOP) { op.mint = func() string { return op.sign(op.claims("n")) } })
	for range 2 {
		if _, err := p.Exchange(context.Background(), "code-1", oauth.GenerateVerifier(), "n"); err != nil {
			t.Fatal(err)
		}
	}
	rotated := anotherKey(t)
	op.set(func(op *fakeOP) { op.key, op.kid = rotated, "k2" })
	if _, err := p.Exchange(context.Background(), "code-1", oauth.GenerateVerifier(), "n"); err != nil {
		t.Fatalf("after a key rotation: %v", err)
	}
	op.mu.Lock()
	fetches := op.jwksFetches
	op.mu.Unlock()
	if fetches != 2 {
		t.Errorf("%d key set fetches, want 2 (the first token, the rotation)", fetches)
	}
}
