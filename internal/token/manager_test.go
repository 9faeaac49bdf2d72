package token

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/go-cmp/cmp"

	"github.com/talentforge/authd/internal/auth"
)

func TestIssueVerifyRoundTrip(t *testing.T) {
	for _, alg := range algorithms {
		t.Run(alg, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			clk := newClock()
			m := newTestManager(t, newMemKeyStore(), testConfig(clk, alg))

			in := testClaims()
			in.ID = "ignored"
			tok, got, err := m.Issue(ctx, in)
			if err != nil {
				t.Fatalf("Issue: %v", err)
			}
			iat := clk.Now().Truncate(time.Second)
			want := testClaims()
			want.IssuedAt, want.ExpiresAt, want.ID = iat, iat.Add(15*time.Minute), got.ID
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("Issue claims (-want +got):\n%s", diff)
			}
			if !looksLikeID(got.ID) || got.ID == "ignored" {
				t.Errorf("jti = %q, want 128 random bits in base64url", got.ID)
			}

			v, err := m.Verify(ctx, tok)
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if diff := cmp.Diff(got, *v); diff != "" {
				t.Errorf("Verify claims (-issued +verified):\n%s", diff)
			}

			// The wire form: header fields and claim shapes other services read.
			parts := strings.Split(tok, ".")
			var header map[string]any
			decodeSegment(t, parts[0], &header)
			wantHeader := map[string]any{"alg": alg, "kid": currentKey(t, m).id, "typ": "at+jwt"}
			if diff := cmp.Diff(wantHeader, header); diff != "" {
				t.Errorf("header (-want +got):\n%s", diff)
			}
			var payload map[string]any
			decodeSegment(t, parts[1], &payload)
			wantPayload := map[string]any{
				"iss": testIssuer, "sub": want.UserID, "aud": testAudience,
				"exp": float64(iat.Unix() + 900), "nbf": float64(iat.Unix()), "iat": float64(iat.Unix()),
				"jti": got.ID, "sid": want.SessionID, "roles": []any{"admin", "user"}, "email_verified": true,
			}
			if diff := cmp.Diff(wantPayload, payload); diff != "" {
				t.Errorf("payload (-want +got):\n%s", diff)
			}
		})
	}
}

func TestIssueRolesNeverNull(t *testing.T) {
	m := newTestManager(t, newMemKeyStore(), testConfig(newClock(), ES256))
	c := testClaims()
	c.Roles = nil
	tok, got, err := m.Issue(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	if got.Roles == nil || len(got.Roles) != 0 {
		t.Errorf("returned Roles = %#v, want empty non-nil", got.Roles)
	}
	var payload map[string]json.RawMessage
	decodeSegment(t, strings.Split(tok, ".")[1], &payload)
	if string(payload["roles"]) != "[]" {
		t.Errorf(`roles claim = %s, want []`, payload["roles"])
	}
	v, err := m.Verify(context.Background(), tok)
	if err != nil {
		t.Fatal(err)
	}
	if v.Roles == nil {
		t.Error("verified Roles is nil, want empty")
	}
}

func TestIssueRequiresUserAndSession(t *testing.T) {
	m := newTestManager(t, newMemKeyStore(), testConfig(newClock(), ES256))
	for _, c := range []auth.AccessClaims{{UserID: "u"}, {SessionID: "s"}} {
		if _, _, err := m.Issue(context.Background(), c); auth.ErrorCode(err) != auth.EInternal {
			t.Errorf("Issue(%+v) err = %v, want EInternal", c, err)
		}
	}
}

func TestVerifyRejects(t *testing.T) {
	ctx := context.Background()
	clk := newClock()
	m := newTestManager(t, newMemKeyStore(), testConfig(clk, ES256))
	other := newTestManager(t, newMemKeyStore(), testConfig(clk, ES256))
	now := clk.Now()
	_, edKey, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}

	with := func(k string, v any) jwt.MapClaims {
		c := validClaims(now)
		if v == nil {
			delete(c, k)
		} else {
			c[k] = v
		}
		return c
	}
	valid := signRaw(t, m, validClaims(now), nil)
	// The harness must make tokens that pass, or every rejection below
	// would pass for the wrong reason.
	if _, err := m.Verify(ctx, valid); err != nil {
		t.Fatalf("a well-formed hand-made token is rejected: %v", err)
	}

	tests := []struct {
		name  string
		token string
	}{
		{"tampered payload", tamper(t, valid, 1, func(b []byte) []byte {
			return bytes.Replace(b, []byte(`"sub":"user-1"`), []byte(`"sub":"user-2"`), 1)
		})},
		{"tampered signature", tamper(t, valid, 2, func(b []byte) []byte { b[10] ^= 1; return b })},
		{"signature dropped", strings.Join(strings.Split(valid, ".")[:2], ".") + "."},
		{"signature of another token", strings.Join(strings.Split(valid, ".")[:2], ".") + "." + strings.Split(issue(t, m), ".")[2]},
		{"alg none", signWith(t, m, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, validClaims(now), nil)},
		{"alg none, signature kept", tamper(t, valid, 0, func(b []byte) []byte {
			return bytes.Replace(b, []byte(`"ES256"`), []byte(`"none"`), 1)
		})},
		{"alg NONE", tamper(t, valid, 0, func(b []byte) []byte {
			return bytes.Replace(b, []byte(`"ES256"`), []byte(`"NONE"`), 1)
		})},
		{"alg missing", signRaw(t, m, validClaims(now), map[string]any{"alg": nil})},
		{"alg swapped to EdDSA", signWith(t, m, jwt.SigningMethodEdDSA, edKey, validClaims(now), nil)},
		{"wrong issuer", signRaw(t, m, with("iss", "https://evil.example.test"), nil)},
		{"missing issuer", signRaw(t, m, with("iss", nil), nil)},
		{"wrong audience", signRaw(t, m, with("aud", "https://other.example.test"), nil)},
		{"audience list without ours", signRaw(t, m, with("aud", []string{"a", "b"}), nil)},
		{"missing audience", signRaw(t, m, with("aud", nil), nil)},
		{"expired beyond leeway", signRaw(t, m, with("exp", now.Add(-31*time.Second).Unix()), nil)},
		{"missing exp", signRaw(t, m, with("exp", nil), nil)},
		{"nbf in the future", signRaw(t, m, with("nbf", now.Add(5*time.Minute).Unix()), nil)},
		{"iat in the future", signRaw(t, m, with("iat", now.Add(5*time.Minute).Unix()), nil)},
		{"missing iat", signRaw(t, m, with("iat", nil), nil)},
		{"missing sub", signRaw(t, m, with("sub", nil), nil)},
		{"empty sub", signRaw(t, m, with("sub", ""), nil)},
		{"missing sid", signRaw(t, m, with("sid", nil), nil)},
		{"missing jti", signRaw(t, m, with("jti", nil), nil)},
		{"roles not an array", signRaw(t, m, with("roles", "admin"), nil)},
		{"exp not a number", signRaw(t, m, with("exp", "tomorrow"), nil)},
		{"typ JWT", signRaw(t, m, validClaims(now), map[string]any{"typ": "JWT"})},
		{"typ missing", signRaw(t, m, validClaims(now), map[string]any{"typ": nil})},
		{"unknown kid", signRaw(t, m, validClaims(now), map[string]any{"kid": randomID()})},
		{"missing kid", signRaw(t, m, validClaims(now), map[string]any{"kid": nil})},
		{"empty kid", signRaw(t, m, validClaims(now), map[string]any{"kid": ""})},
		{"kid not a string", signRaw(t, m, validClaims(now), map[string]any{"kid": 42})},
		{"token of another Manager", issue(t, other)},
		{"other Manager's token with our kid", tamper(t, issue(t, other), 0, func(b []byte) []byte {
			return bytes.Replace(b, []byte(currentKey(t, other).id), []byte(currentKey(t, m).id), 1)
		})},
		{"padded base64", strings.Replace(valid, ".", "=.", 1)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := m.Verify(ctx, tt.token)
			wantUnauthorized(t, err)
		})
	}

	// A token with "typ" spelled as a full media type (RFC 9068 §4) is fine.
	if _, err := m.Verify(ctx, signRaw(t, m, validClaims(now), map[string]any{"typ": "application/AT+JWT"})); err != nil {
		t.Errorf("typ application/AT+JWT rejected: %v", err)
	}
}

// TestVerifyHMACConfusion signs tokens with HS256 keyed by every public form
// of our key that an attacker can get, the classic algorithm confusion.
func TestVerifyHMACConfusion(t *testing.T) {
	for _, alg := range algorithms {
		t.Run(alg, func(t *testing.T) {
			clk := newClock()
			m := newTestManager(t, newMemKeyStore(), testConfig(clk, alg))
			k := currentKey(t, m)
			jwkJSON, err := json.Marshal(k.jwk)
			if err != nil {
				t.Fatal(err)
			}
			forms := map[string][]byte{
				"DER":  k.publicDER,
				"PEM":  pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: k.publicDER}),
				"JWK":  jwkJSON,
				"JWKS": m.JWKS(),
			}
			for name, secret := range forms {
				for _, method := range []jwt.SigningMethod{jwt.SigningMethodHS256, jwt.SigningMethodHS512} {
					tok := signWith(t, m, method, secret, validClaims(clk.Now()), nil)
					_, err := m.Verify(context.Background(), tok)
					t.Run(name+"/"+method.Alg(), func(t *testing.T) { wantUnauthorized(t, err) })
				}
			}
		})
	}
}

func TestVerifyLeeway(t *testing.T) {
	ctx := context.Background()
	clk := newClock()
	m := newTestManager(t, newMemKeyStore(), testConfig(clk, ES256))
	tok, c, err := m.Issue(ctx, testClaims())
	if err != nil {
		t.Fatal(err)
	}
	nbfSoon := signRaw(t, m, withClaim(validClaims(clk.Now()), "nbf", clk.Now().Add(29*time.Second).Unix()), nil)
	if _, err := m.Verify(ctx, nbfSoon); err != nil {
		t.Errorf("nbf within leeway rejected: %v", err)
	}

	clk.Advance(c.ExpiresAt.Sub(clk.Now()) + 29*time.Second) // exp + 29s
	if _, err := m.Verify(ctx, tok); err != nil {
		t.Errorf("expired within leeway rejected: %v", err)
	}
	clk.Advance(time.Second) // exp + leeway
	_, err = m.Verify(ctx, tok)
	wantUnauthorized(t, err)
	if !errors.Is(err, jwt.ErrTokenExpired) {
		t.Errorf("cause = %v, want ErrTokenExpired", err)
	}
}

func withClaim(c jwt.MapClaims, k string, v any) jwt.MapClaims {
	c[k] = v
	return c
}

func TestVerifyGarbage(t *testing.T) {
	store := newMemKeyStore()
	m := newTestManager(t, store, testConfig(newClock(), ES256))
	valid := issue(t, m)
	b64 := func(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
	tests := []struct{ name, token string }{
		{"empty", ""},
		{"dot", "."},
		{"two dots", ".."},
		{"three dots", "..."},
		{"a.b.c", "a.b.c"},
		{"a.b", "a.b"},
		{"spaces", "   "},
		{"bearer prefix", "Bearer " + valid},
		{"trailing newline", valid + "\n"},
		{"four segments", valid + ".x"},
		{"header not JSON", b64("nope") + "." + b64("{}") + ".c2ln"},
		{"header JSON array", b64(`[1,2]`) + "." + b64("{}") + ".c2ln"},
		{"header null", b64(`null`) + "." + b64(`null`) + ".c2ln"},
		{"alg not a string", b64(`{"alg":7,"kid":"x","typ":"at+jwt"}`) + "." + b64("{}") + ".c2ln"},
		{"payload null", b64(`{"alg":"ES256","kid":"`+currentKey(t, m).id+`","typ":"at+jwt"}`) + "." + b64("null") + ".c2ln"},
		{"payload huge numbers", b64(`{"alg":"ES256","typ":"at+jwt"}`) + "." + b64(`{"exp":1e308,"iat":-1e308,"nbf":1e999}`) + ".c2ln"},
		{"huge", strings.Repeat("a", 1<<20)},
		{"huge with dots", strings.Repeat("a.", 1<<19)},
		{"just over the limit", valid[:strings.LastIndex(valid, ".")] + "." + strings.Repeat("A", maxTokenLen)},
		{"invalid UTF-8", "\xff\xfe.\xfd.\xfc"},
	}
	loads := store.loads.Load()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := m.Verify(context.Background(), tt.token)
			if c != nil {
				t.Errorf("claims = %+v, want nil", c)
			}
			wantUnauthorized(t, err)
		})
	}
	if n := store.loads.Load() - loads; n != 0 {
		t.Errorf("garbage made %d store reads, want 0", n)
	}
}

func TestKeysPersist(t *testing.T) {
	ctx := context.Background()
	clk := newClock()
	store := newMemKeyStore()
	m1 := newTestManager(t, store, testConfig(clk, ES256))
	tok := issue(t, m1)

	m2 := newTestManager(t, store, testConfig(clk, ES256))
	if _, err := m2.Verify(ctx, tok); err != nil {
		t.Fatalf("second Manager rejects the first one's token: %v", err)
	}
	if n := store.count(); n != 1 {
		t.Errorf("store holds %d keys, want 1 (the second Manager must reuse the first key)", n)
	}
	if a, b := currentKey(t, m1).id, currentKey(t, m2).id; a != b {
		t.Errorf("managers sign with %s and %s, want the same key", a, b)
	}
	if _, err := m1.Verify(ctx, issue(t, m2)); err != nil {
		t.Errorf("first Manager rejects the second one's token: %v", err)
	}
}

func TestNewWrongSecret(t *testing.T) {
	clk := newClock()
	store := newMemKeyStore()
	newTestManager(t, store, testConfig(clk, ES256))

	cfg := testConfig(clk, ES256)
	cfg.Secret = otherSecret
	_, err := New(context.Background(), store, cfg)
	if !errors.Is(err, ErrSecretMismatch) {
		t.Fatalf("New with another secret: err = %v, want ErrSecretMismatch", err)
	}
	if !strings.Contains(err.Error(), "AUTH_SECRET_KEY does not decrypt the stored signing keys") {
		t.Errorf("error %q does not say what is wrong", err)
	}
	if n := store.count(); n != 1 {
		t.Errorf("store holds %d keys after the failed start, want 1", n)
	}
}

// TestStoredKeyIntegrity checks that a stored key whose columns were tampered
// with is refused at load instead of being used or published.
func TestStoredKeyIntegrity(t *testing.T) {
	clk := newClock()
	src := newMemKeyStore()
	newTestManager(t, src, testConfig(clk, ES256))
	if _, err := newTestManager(t, src, testConfig(clk, ES256)).Rotate(context.Background()); err != nil {
		t.Fatal(err)
	}
	recs := src.stored(t)
	a, b := recs[0], recs[1]

	tests := []struct {
		name    string
		change  func(k *auth.SigningKey)
		wantErr error
		wantMsg string
	}{
		{"sealed blob moved to another kid", func(k *auth.SigningKey) { k.ID = randomID() }, ErrSecretMismatch, ""},
		{"sealed blob flipped", func(k *auth.SigningKey) { k.PrivateKey[len(k.PrivateKey)-1] ^= 1 }, ErrSecretMismatch, ""},
		{"sealed blob truncated", func(k *auth.SigningKey) { k.PrivateKey = k.PrivateKey[:10] }, ErrSecretMismatch, ""},
		{"public key of another key", func(k *auth.SigningKey) { k.PublicKey = b.PublicKey }, nil, "does not match"},
		{"algorithm changed", func(k *auth.SigningKey) { k.Algorithm = RS256 }, nil, "does not fit"},
		{"algorithm unknown", func(k *auth.SigningKey) { k.Algorithm = "HS256" }, nil, "unsupported"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k := cloneKey(a)
			tt.change(k)
			store := newMemKeyStore()
			store.keys[k.ID] = k
			_, err := New(context.Background(), store, testConfig(clk, ES256))
			if err == nil {
				t.Fatal("New accepted the tampered key")
			}
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Errorf("err = %v, want %v", err, tt.wantErr)
			}
			if !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("err = %v, want it to mention %q", err, tt.wantMsg)
			}
		})
	}
}

func TestNewConfig(t *testing.T) {
	clk := newClock()
	base := testConfig(clk, ES256)
	tests := []struct {
		name   string
		change func(c *Config)
	}{
		{"no issuer", func(c *Config) { c.Issuer = "" }},
		{"short secret", func(c *Config) { c.Secret = c.Secret[:31] }},
		{"no secret", func(c *Config) { c.Secret = nil }},
		{"HS256", func(c *Config) { c.Algorithm = "HS256" }},
		{"none", func(c *Config) { c.Algorithm = "none" }},
		{"lower-case es256", func(c *Config) { c.Algorithm = "es256" }},
		{"negative TTL", func(c *Config) { c.AccessTTL = -time.Minute }},
		{"negative leeway", func(c *Config) { c.Leeway = -time.Second }},
		{"negative publish delay", func(c *Config) { c.PublishDelay = -time.Second }},
		{"negative reload interval", func(c *Config) { c.ReloadInterval = -time.Second }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := base
			tt.change(&cfg)
			if _, err := New(context.Background(), newMemKeyStore(), cfg); err == nil {
				t.Error("New accepted the config")
			}
		})
	}
	if _, err := New(context.Background(), nil, base); err == nil {
		t.Error("New accepted a nil store")
	}
	if _, err := New(context.Background(), failingKeyStore{}, base); !errors.Is(err, errStoreDown) {
		t.Errorf("New with a failing store: err = %v, want the store's error", err)
	}

	// Zero values take the documented defaults.
	m := newTestManager(t, newMemKeyStore(), Config{Issuer: testIssuer, Secret: testSecret, Now: clk.Now})
	want := Config{
		Issuer: testIssuer, Audience: testIssuer, Algorithm: ES256,
		AccessTTL: DefaultAccessTTL, Leeway: DefaultLeeway, RotationPeriod: DefaultRotationPeriod,
		PublishDelay: DefaultPublishDelay, ReloadInterval: DefaultReloadInterval,
	}
	got := m.cfg
	got.Now, got.Logger = nil, nil
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("defaults (-want +got):\n%s", diff)
	}
	if m.log == nil {
		t.Error("no logger")
	}
	if _, err := m.Verify(context.Background(), issue(t, m)); err != nil {
		t.Errorf("Manager with defaults rejects its token: %v", err)
	}
}

func TestNewCreatesKeyThatSignsAtOnce(t *testing.T) {
	clk := newClock()
	store := newMemKeyStore()
	m := newTestManager(t, store, testConfig(clk, ES256))
	recs := store.stored(t)
	if len(recs) != 1 {
		t.Fatalf("store holds %d keys, want 1", len(recs))
	}
	now := clk.Now().Truncate(time.Second)
	if !recs[0].CreatedAt.Equal(now) || !recs[0].ActivatesAt.Equal(now) {
		t.Errorf("first key created %v, activates %v; want both %v", recs[0].CreatedAt, recs[0].ActivatesAt, now)
	}
	if _, err := m.Verify(context.Background(), issue(t, m)); err != nil {
		t.Fatal(err)
	}
}

// TestRotationTimeline follows a key from creation to unpublication: publish
// before use, sign, retire, stay published until its tokens have expired.
func TestRotationTimeline(t *testing.T) {
	ctx := context.Background()
	clk := newClock()
	store := newMemKeyStore()
	cfg := testConfig(clk, ES256)
	m := newTestManager(t, store, cfg)
	old := currentKey(t, m).id
	clk.Advance(time.Hour)

	rec, err := m.Rotate(ctx)
	if err != nil {
		t.Fatal(err)
	}
	rotatedAt := clk.Now().Truncate(time.Second)
	if !rec.CreatedAt.Equal(rotatedAt) || !rec.ActivatesAt.Equal(rotatedAt.Add(cfg.PublishDelay)) {
		t.Errorf("rotated key created %v, activates %v; want %v and PublishDelay later", rec.CreatedAt, rec.ActivatesAt, rotatedAt)
	}
	if store.count() != 2 {
		t.Errorf("store holds %d keys, want 2", store.count())
	}
	if got := jwksKids(t, m); !cmp.Equal(got, []string{old, rec.ID}) {
		t.Errorf("JWKS after Rotate = %v, want old and new", got)
	}
	if kid := tokenKid(t, issue(t, m)); kid != old {
		t.Errorf("right after Rotate tokens are signed by %s, want the old key %s", kid, old)
	}

	clk.Advance(rec.ActivatesAt.Sub(clk.Now()) - time.Nanosecond)
	lastOld := issue(t, m)
	if kid := tokenKid(t, lastOld); kid != old {
		t.Errorf("just before activation tokens are signed by %s, want the old key", kid)
	}
	clk.Advance(time.Nanosecond)
	if kid := tokenKid(t, issue(t, m)); kid != rec.ID {
		t.Errorf("at activation tokens are signed by %s, want the new key %s", kid, rec.ID)
	}

	// The old key retired at rec.ActivatesAt; lastOld expires AccessTTL
	// later, and the key leaves the JWKS only after the leeway on top.
	unpublish := rec.ActivatesAt.Add(cfg.AccessTTL + cfg.Leeway)
	clk.Advance(unpublish.Sub(clk.Now()) - 2*time.Second)
	if _, err := m.Verify(ctx, lastOld); err != nil {
		t.Errorf("the old key's last token is rejected within its lifetime: %v", err)
	}
	if got := jwksKids(t, m); !cmp.Equal(got, []string{old, rec.ID}) {
		t.Errorf("JWKS before unpublication = %v, want old and new", got)
	}
	clk.Advance(time.Second)
	if got := jwksKids(t, m); !cmp.Equal(got, []string{old, rec.ID}) {
		t.Errorf("JWKS one second before unpublication = %v, want old and new", got)
	}
	clk.Advance(time.Second)
	if got := jwksKids(t, m); !cmp.Equal(got, []string{rec.ID}) {
		t.Errorf("JWKS at unpublication = %v, want only the new key", got)
	}
	if got := m.Algorithms(); !cmp.Equal(got, []string{ES256}) {
		t.Errorf("Algorithms = %v", got)
	}
	_, err = m.Verify(ctx, lastOld)
	wantUnauthorized(t, err)
}

func TestRotateWithoutCurrentKeyActivatesAtOnce(t *testing.T) {
	clk := newClock()
	m := newTestManager(t, newMemKeyStore(), testConfig(clk, ES256))
	// Seen from a clock set back before the first key, nothing signs.
	clk.Advance(-time.Hour)
	if _, _, err := m.Issue(context.Background(), testClaims()); auth.ErrorCode(err) != auth.EInternal {
		t.Errorf("Issue without an active key: err = %v, want EInternal", err)
	}
	rec, err := m.Rotate(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if !rec.ActivatesAt.Equal(rec.CreatedAt) {
		t.Errorf("key activates %v after creation, want at once", rec.ActivatesAt.Sub(rec.CreatedAt))
	}
	if kid := tokenKid(t, issue(t, m)); kid != rec.ID {
		t.Errorf("token signed by %s, want %s", kid, rec.ID)
	}
}

func TestRotateStoreError(t *testing.T) {
	m := newTestManager(t, newMemKeyStore(), testConfig(newClock(), ES256))
	before := m.keys.Load()
	m.store = failingKeyStore{}
	if _, err := m.Rotate(context.Background()); !errors.Is(err, errStoreDown) {
		t.Errorf("Rotate err = %v, want the store's error", err)
	}
	if m.keys.Load() != before {
		t.Error("a failed Rotate changed the key set")
	}
	m.tick(context.Background()) // a failed reload keeps the keys
	if m.keys.Load() != before {
		t.Error("a failed reload changed the key set")
	}
}

func TestAutoRotation(t *testing.T) {
	ctx := context.Background()
	clk := newClock()
	store := newMemKeyStore()
	cfg := testConfig(clk, ES256)
	a := newTestManager(t, store, cfg)
	b := newTestManager(t, store, cfg) // a second replica
	first := currentKey(t, a).id

	clk.Advance(cfg.RotationPeriod - time.Second)
	a.tick(ctx)
	b.tick(ctx)
	if n := store.count(); n != 1 {
		t.Fatalf("rotated before RotationPeriod: %d keys", n)
	}

	clk.Advance(time.Second)
	a.tick(ctx)
	if n := store.count(); n != 2 {
		t.Fatalf("no rotation at RotationPeriod: %d keys", n)
	}
	// b reloads in its tick, sees a's pending key and does not rotate too.
	clk.Advance(time.Minute)
	b.tick(ctx)
	a.tick(ctx)
	if n := store.count(); n != 2 {
		t.Fatalf("rotated again while a key is pending: %d keys", n)
	}
	if got := jwksKids(t, b); len(got) != 2 {
		t.Errorf("replica b publishes %v, want both keys", got)
	}

	clk.Advance(cfg.PublishDelay)
	a.tick(ctx)
	b.tick(ctx)
	if n := store.count(); n != 2 {
		t.Fatalf("rotated a fresh key: %d keys", n)
	}
	ka, kb := currentKey(t, a).id, currentKey(t, b).id
	if ka == first || ka != kb {
		t.Errorf("after activation a signs with %s, b with %s; want the same new key", ka, kb)
	}

	clk.Advance(cfg.RotationPeriod)
	b.tick(ctx)
	if n := store.count(); n != 3 {
		t.Errorf("no second rotation: %d keys", n)
	}
}

func TestAutoRotationDisabled(t *testing.T) {
	clk := newClock()
	store := newMemKeyStore()
	cfg := testConfig(clk, ES256)
	cfg.RotationPeriod = -1
	m := newTestManager(t, store, cfg)
	clk.Advance(365 * 24 * time.Hour)
	m.tick(context.Background())
	if n := store.count(); n != 1 {
		t.Errorf("rotated with RotationPeriod < 0: %d keys", n)
	}
}

func TestUnknownKidReload(t *testing.T) {
	ctx := context.Background()
	clk := newClock()
	store := newMemKeyStore()
	cfg := testConfig(clk, ES256)
	a := newTestManager(t, store, cfg)
	b := newTestManager(t, store, cfg)

	// b rotates and its key activates before a's periodic reload has run.
	if _, err := b.Rotate(ctx); err != nil {
		t.Fatal(err)
	}
	clk.Advance(cfg.PublishDelay)
	tok := issue(t, b)
	if a.keys.Load().byID[tokenKid(t, tok)] != nil {
		t.Fatal("a already knows b's new key")
	}
	loads := store.loads.Load()
	if _, err := a.Verify(ctx, tok); err != nil {
		t.Fatalf("a rejects b's token with a new kid: %v", err)
	}
	if n := store.loads.Load() - loads; n != 1 {
		t.Errorf("the unknown kid caused %d reloads, want 1", n)
	}
	if got := jwksKids(t, a); len(got) != 2 {
		t.Errorf("a publishes %v after the reload, want both keys", got)
	}

	// Further unknown kids within kidReloadGap don't reach the store.
	unknown := func() string { return signRaw(t, a, validClaims(clk.Now()), map[string]any{"kid": randomID()}) }
	loads = store.loads.Load()
	for range 100 {
		_, err := a.Verify(ctx, unknown())
		wantUnauthorized(t, err)
	}
	clk.Advance(kidReloadGap - time.Second)
	_, err := a.Verify(ctx, unknown())
	wantUnauthorized(t, err)
	if n := store.loads.Load() - loads; n != 0 {
		t.Errorf("%d reloads within the rate limit, want 0", n)
	}
	clk.Advance(time.Second)
	a.Verify(ctx, unknown())
	a.Verify(ctx, unknown())
	if n := store.loads.Load() - loads; n != 1 {
		t.Errorf("%d reloads after the rate limit passed, want 1", n)
	}
	// A kid that can't be one of ours never costs a reload.
	clk.Advance(time.Hour)
	loads = store.loads.Load()
	if _, err := a.Verify(ctx, signRaw(t, a, validClaims(clk.Now()), map[string]any{"kid": "not-a-kid"})); err == nil {
		t.Error("a token with a malformed kid verified")
	}
	if n := store.loads.Load() - loads; n != 0 {
		t.Errorf("a malformed kid caused %d reloads", n)
	}
}

// TestAlgorithmChange switches the configured algorithm on a store that holds
// keys of another: the old key keeps signing until the next rotation, and its
// tokens verify until they expire.
func TestAlgorithmChange(t *testing.T) {
	ctx := context.Background()
	clk := newClock()
	store := newMemKeyStore()
	es := newTestManager(t, store, testConfig(clk, ES256))
	esToken := issue(t, es)

	cfg := testConfig(clk, EdDSA)
	ed := newTestManager(t, store, cfg)
	if got := ed.Algorithms(); !cmp.Equal(got, []string{EdDSA, ES256}) {
		t.Errorf("Algorithms = %v, want [EdDSA ES256]", got)
	}
	if _, err := ed.Rotate(ctx); err != nil {
		t.Fatal(err)
	}
	clk.Advance(cfg.PublishDelay)
	edToken := issue(t, ed)
	if alg := tokenHeader(t, edToken)["alg"]; alg != EdDSA {
		t.Errorf("after rotation tokens use %v, want EdDSA", alg)
	}
	for _, tok := range []string{esToken, edToken} {
		if _, err := ed.Verify(ctx, tok); err != nil {
			t.Errorf("Verify: %v", err)
		}
	}
	clk.Advance(cfg.AccessTTL + cfg.Leeway)
	if got := ed.Algorithms(); !cmp.Equal(got, []string{EdDSA}) {
		t.Errorf("Algorithms after the ES256 key left = %v, want [EdDSA]", got)
	}
}

// TestRun starts Run and waits, on the store's signal, for its second
// reload: Run reloads at once, then each ReloadInterval, one reload after the
// other, so by the start of the second the first has installed the key
// another replica had stored. No sleep, no polling.
func TestRun(t *testing.T) {
	clk := newClock()
	store := newMemKeyStore()
	cfg := testConfig(clk, ES256)
	cfg.ReloadInterval = 5 * time.Millisecond
	a := newTestManager(t, store, cfg)
	b := newTestManager(t, store, cfg)
	rec, err := b.Rotate(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	store.loaded = make(chan struct{})

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan struct{})
	go func() { a.Run(ctx); close(done) }()
	for i := range 2 {
		wait(t, store.loaded, fmt.Sprintf("reload %d of Run", i+1))
	}
	if a.keys.Load().byID[rec.ID] == nil {
		t.Fatal("Run did not pick up the other replica's key")
	}
	cancel()
	wait(t, done, "Run to return after cancel")
}

// wait receives from ch. The bound only turns a hang into a failure that
// says what was awaited; nothing here takes more than milliseconds.
func wait(t *testing.T, ch <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(10 * time.Second):
		t.Fatalf("timed out waiting for %s", what)
	}
}

// TestConcurrentUse exercises every method at once for the race detector.
func TestConcurrentUse(t *testing.T) {
	ctx := context.Background()
	clk := newClock()
	store := newMemKeyStore()
	cfg := testConfig(clk, ES256)
	cfg.RotationPeriod = time.Minute
	cfg.PublishDelay = time.Second
	m := newTestManager(t, store, cfg)
	replica := newTestManager(t, store, cfg)

	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 50 {
				// Not issue(t, m): t.Fatal may only be called from the
				// test's goroutine.
				tok, _, err := m.Issue(ctx, testClaims())
				if err != nil {
					t.Errorf("Issue: %v", err)
					return
				}
				if _, err := m.Verify(ctx, tok); err != nil {
					t.Errorf("Verify: %v", err)
					return
				}
				replica.Verify(ctx, tok) // may be rejected, must not race
				m.JWKS()
				m.Algorithms()
			}
		})
	}
	wg.Go(func() {
		for range 20 {
			clk.Advance(30 * time.Second)
			m.tick(ctx)
			replica.tick(ctx)
		}
	})
	wg.Go(func() {
		for range 5 {
			if _, err := replica.Rotate(ctx); err != nil {
				t.Errorf("Rotate: %v", err)
			}
		}
	})
	wg.Wait()
}

// tamper decodes segment i of tok, changes it and encodes it back.
func tamper(tb testing.TB, tok string, i int, change func([]byte) []byte) string {
	tb.Helper()
	parts := strings.Split(tok, ".")
	b, err := base64.RawURLEncoding.DecodeString(parts[i])
	if err != nil {
		tb.Fatal(err)
	}
	changed := change(bytes.Clone(b))
	if bytes.Equal(changed, b) {
		tb.Fatal("tamper changed nothing")
	}
	parts[i] = base64.RawURLEncoding.EncodeToString(changed)
	return strings.Join(parts, ".")
}

func decodeSegment(tb testing.TB, seg string, v any) {
	tb.Helper()
	b, err := base64.RawURLEncoding.DecodeString(seg)
	if err != nil {
		tb.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		tb.Fatal(err)
	}
}

func tokenHeader(tb testing.TB, tok string) map[string]any {
	tb.Helper()
	var h map[string]any
	decodeSegment(tb, strings.Split(tok, ".")[0], &h)
	return h
}

func tokenKid(tb testing.TB, tok string) string {
	tb.Helper()
	kid, _ := tokenHeader(tb, tok)["kid"].(string)
	return kid
}

func jwksKids(tb testing.TB, m *Manager) []string {
	tb.Helper()
	var set struct {
		Keys []struct {
			Kid string `json:"kid"`
		} `json:"keys"`
	}
	if err := json.Unmarshal(m.JWKS(), &set); err != nil {
		tb.Fatal(err)
	}
	kids := []string{}
	for _, k := range set.Keys {
		kids = append(kids, k.Kid)
	}
	return kids
}

// withHeader returns tok with its JOSE header changed by edit, payload and
// signature untouched.
func withHeader(tb testing.TB, tok string, edit func(map[string]any)) string {
	tb.Helper()
	h := tokenHeader(tb, tok)
	edit(h)
	raw, err := json.Marshal(h)
	if err != nil {
		tb.Fatal(err)
	}
	rest := tok[strings.IndexByte(tok, '.'):]
	return base64.RawURLEncoding.EncodeToString(raw) + rest
}

// TestVerifyRefusesForReason: with an ES256 and an EdDSA key published at
// once, a token is refused for the right reason — an alg that is not the
// named key's, a kid that names no key, a bad signature — not merely
// because some later step happened to fail.
func TestVerifyRefusesForReason(t *testing.T) {
	ctx := context.Background()
	clk := newClock()
	store := newMemKeyStore()
	es := newTestManager(t, store, testConfig(clk, ES256))
	esToken := issue(t, es)
	cfg := testConfig(clk, EdDSA)
	ed := newTestManager(t, store, cfg)
	if _, err := ed.Rotate(ctx); err != nil {
		t.Fatal(err)
	}
	clk.Advance(cfg.PublishDelay)
	edToken := issue(t, ed)
	esKid, _ := tokenHeader(t, esToken)["kid"].(string)
	edKid, _ := tokenHeader(t, edToken)["kid"].(string)
	if esKid == "" || edKid == "" || esKid == edKid {
		t.Fatalf("kids %q and %q", esKid, edKid)
	}

	sig := strings.LastIndexByte(edToken, '.')
	flipped := []byte(edToken)
	// Another base64url letter inside the signature (not its last one,
	// whose low bits may be unused): the same token with other signature
	// bytes. XOR could leave the alphabet and fail the token's form first.
	if flipped[sig+5] == 'A' {
		flipped[sig+5] = 'B'
	} else {
		flipped[sig+5] = 'A'
	}
	for _, c := range []struct {
		name, token string
		want        error
	}{
		{"EdDSA token naming the ES256 key", withHeader(t, edToken, func(h map[string]any) { h["kid"] = esKid }), errAlgMismatch},
		{"ES256 token naming the EdDSA key", withHeader(t, esToken, func(h map[string]any) { h["kid"] = edKid }), errAlgMismatch},
		{"ES256 token relabelled EdDSA", withHeader(t, esToken, func(h map[string]any) { h["alg"] = EdDSA }), errAlgMismatch},
		{"unknown kid", withHeader(t, edToken, func(h map[string]any) { h["kid"] = "no-such-key" }), errUnknownKid},
		{"bad signature", string(flipped), jwt.ErrTokenSignatureInvalid},
	} {
		_, err := ed.Verify(ctx, c.token)
		if !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", c.name, err, c.want)
		}
	}
	for _, tok := range []string{esToken, edToken} {
		if _, err := ed.Verify(ctx, tok); err != nil {
			t.Errorf("the genuine tokens: %v", err)
		}
	}
}

// Every key the manager creates is audited as key.rotated by the system, in
// the key's own write; storage only appends the event it is given.
func TestNewKeysAreAudited(t *testing.T) {
	ctx := context.Background()
	clk := newClock()
	store := newMemKeyStore()
	m := newTestManager(t, store, testConfig(clk, ES256))
	rec, err := m.Rotate(ctx)
	if err != nil {
		t.Fatal(err)
	}
	store.mu.Lock()
	defer store.mu.Unlock()
	if len(store.events) != 2 { // the first key, then the rotation
		t.Fatalf("%d events for 2 keys: %+v", len(store.events), store.events)
	}
	ev := store.events[1]
	if ev.Type != auth.EventKeyRotated || ev.ActorType != auth.ActorSystem || ev.Resource != rec.ID ||
		!ev.At.Equal(rec.CreatedAt) || ev.Outcome != auth.OutcomeSuccess || !auth.ValidID(ev.ID) {
		t.Errorf("event %+v for key %s created at %v", ev, rec.ID, rec.CreatedAt)
	}
}
