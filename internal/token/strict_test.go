package token

import (
	"bytes"
	"context"
	"crypto/elliptic"
	"encoding/base64"
	"errors"
	"math/big"
	"strconv"
	"strings"
	"testing"
)

// TestVerifyRejectsCrit: a JOSE header with "crit" names extensions the
// verifier must understand (RFC 7515 §4.1.11); authd understands none, so
// any crit, whatever its value, makes the token invalid.
func TestVerifyRejectsCrit(t *testing.T) {
	ctx := context.Background()
	clk := newClock()
	m := newTestManager(t, newMemKeyStore(), testConfig(clk, ES256))
	now := clk.Now()
	valid := signRaw(t, m, validClaims(now), nil)
	if _, err := m.Verify(ctx, valid); err != nil {
		t.Fatalf("the token without crit is rejected: %v", err)
	}
	withHeader := func(json string) string {
		return tamper(t, valid, 0, func(b []byte) []byte {
			return bytes.Replace(b, []byte(`{`), []byte(`{`+json+`,`), 1)
		})
	}
	tests := []struct{ name, token string }{
		{"unknown name", signRaw(t, m, validClaims(now), map[string]any{"crit": []string{"urn:example:ext"}, "urn:example:ext": 1})},
		{"registered claim name", signRaw(t, m, validClaims(now), map[string]any{"crit": []string{"exp"}})},
		{"b64 (RFC 7797)", signRaw(t, m, validClaims(now), map[string]any{"crit": []string{"b64"}, "b64": true})},
		{"empty list", signRaw(t, m, validClaims(now), map[string]any{"crit": []string{}})},
		{"a string", signRaw(t, m, validClaims(now), map[string]any{"crit": "exp"})},
		{"an object", signRaw(t, m, validClaims(now), map[string]any{"crit": map[string]any{}})},
		// Altering the header breaks the signature, so these must be
		// refused for crit before the signature check is reached; the
		// reason proves which check refused them.
		{"null, unsigned", withHeader(`"crit":null`)},
		{"false, unsigned", withHeader(`"crit":false`)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := m.Verify(ctx, tt.token)
			wantUnauthorized(t, err)
			if !errors.Is(err, errCritHeader) {
				t.Errorf("cause = %v, want errCritHeader", err)
			}
		})
	}
}

// TestVerifyRejectsStringDates: exp, nbf and iat are NumericDates (RFC 7519
// §2), JSON numbers. A date written as a string of digits is refused, not
// read as the number it spells.
func TestVerifyRejectsStringDates(t *testing.T) {
	ctx := context.Background()
	clk := newClock()
	m := newTestManager(t, newMemKeyStore(), testConfig(clk, ES256))
	for _, claim := range []string{"exp", "nbf", "iat"} {
		for _, form := range []string{"%d", "%d.0", " %d", "%de0"} {
			t.Run(claim+"/"+form, func(t *testing.T) {
				c := validClaims(clk.Now())
				n := c[claim].(int64)
				c[claim] = strings.Replace(form, "%d", strconv.FormatInt(n, 10), 1)
				_, err := m.Verify(ctx, signRaw(t, m, c, nil))
				wantUnauthorized(t, err)
				if !errors.Is(err, errDateNotNumber) {
					t.Errorf("cause = %v, want errDateNotNumber", err)
				}
			})
		}
	}
	// The same values as numbers, in the other forms JSON allows, verify.
	c := validClaims(clk.Now())
	exp := c["exp"].(int64)
	for _, v := range []any{float64(exp), float64(exp) + 0.5} {
		c["exp"] = v
		if _, err := m.Verify(ctx, signRaw(t, m, c, nil)); err != nil {
			t.Errorf("exp %v rejected: %v", v, err)
		}
	}
}

// TestES256LowS: an ECDSA signature (r, s) has a twin (r, n-s) that is just
// as valid, so without a rule every token would have two spellings, and a
// check keyed on the token string (the verified cache, a denylist of token
// strings, a replay log) could be sidestepped. Issue writes the low s only,
// and Verify refuses the high twin.
func TestES256LowS(t *testing.T) {
	ctx := context.Background()
	clk := newClock()
	m := newTestManager(t, newMemKeyStore(), testConfig(clk, ES256))
	// One signature in two has a high s by chance; 64 tokens would all be
	// low by chance once in 2^64 runs.
	for i := range 64 {
		tok := issue(t, m)
		if isHighS(t, tok) {
			t.Fatalf("token %d: Issue wrote a high s", i)
		}
		if _, err := m.Verify(ctx, tok); err != nil {
			t.Fatalf("token %d: %v", i, err)
		}
		twin := flipS(t, tok)
		if !isHighS(t, twin) {
			t.Fatal("the twin has a low s; the test harness is wrong")
		}
		_, err := m.Verify(ctx, twin)
		wantUnauthorized(t, err)
		if !errors.Is(err, errHighS) {
			t.Fatalf("token %d: cause = %v, want errHighS", i, err)
		}
	}
	// Hand-made tokens are signed by the same method, low s too.
	if tok := signRaw(t, m, validClaims(clk.Now()), nil); isHighS(t, tok) {
		t.Error("signRaw wrote a high s")
	}
}

// TestVerifiedCacheRefusesTwin: the verified cache holds only strings that
// passed the full check, so a token's malleated twin is refused whether the
// original is cached or not, and never takes a place in the cache.
func TestVerifiedCacheRefusesTwin(t *testing.T) {
	ctx := context.Background()
	clk := newClock()

	m := newTestManager(t, newMemKeyStore(), testConfig(clk, ES256))
	tok := issue(t, m)
	if _, err := m.Verify(ctx, tok); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		_, err := m.Verify(ctx, flipS(t, tok))
		wantUnauthorized(t, err)
	}
	if n := m.verified.len(); n != 1 {
		t.Errorf("cache holds %d tokens, want the original only", n)
	}

	// The twin first, on a cold cache.
	m = newTestManager(t, newMemKeyStore(), testConfig(clk, ES256))
	tok = issue(t, m)
	_, err := m.Verify(ctx, flipS(t, tok))
	wantUnauthorized(t, err)
	if n := m.verified.len(); n != 0 {
		t.Errorf("cache holds %d tokens after a refused twin, want 0", n)
	}
	if _, err := m.Verify(ctx, tok); err != nil {
		t.Errorf("the original is refused after its twin: %v", err)
	}
}

// flipS returns tok with its ES256 signature (r, s) replaced by (r, n-s).
func flipS(tb testing.TB, tok string) string {
	tb.Helper()
	return tamper(tb, tok, 2, func(sig []byte) []byte {
		if len(sig) != 64 {
			tb.Fatalf("signature is %d bytes, want 64", len(sig))
		}
		n := elliptic.P256().Params().N
		s := new(big.Int).SetBytes(sig[32:])
		s.Sub(n, s).FillBytes(sig[32:])
		return sig
	})
}

func isHighS(tb testing.TB, tok string) bool {
	tb.Helper()
	sig, err := base64.RawURLEncoding.DecodeString(tok[strings.LastIndexByte(tok, '.')+1:])
	if err != nil || len(sig) != 64 {
		tb.Fatalf("signature %v, %d bytes", err, len(sig))
	}
	half := new(big.Int).Rsh(elliptic.P256().Params().N, 1)
	return new(big.Int).SetBytes(sig[32:]).Cmp(half) > 0
}
